"""Worker-side reporting: coalescing, exact counts, the Bar API."""

import itertools

import pytest

from poolbars.protocol import events as ev
from poolbars.progress.reporting import Bar, Reporter, Tracked


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def make_reporter(clock=None):
    sent = []
    reporter = Reporter(sent.append, source=3, clock=clock or FakeClock())
    reporter.task = 17
    return reporter, sent


def bar_events(sent):
    return [e for batch in sent for e in batch if e[0] == ev.BAR]


def test_many_updates_become_few_sends_and_the_last_value_is_exact():
    clock = FakeClock()
    reporter, sent = make_reporter(clock)
    bar = Bar(100_000, "work", reporter=reporter)
    for _ in range(100_000):  # 100k updates over 2 s of fake time
        clock.now += 0.00002
        bar.update(1)
    bar.close()
    reporter.flush()
    assert len(sent) <= 2 / reporter.interval + 3  # ~10 sends per second, at most
    last = bar_events(sent)[-1]
    assert last[5] == 100_000 and last[9] is True  # n, closed
    assert last[1:4] == (3, bar.id, 17)  # source, bar id, task


def test_the_first_update_is_sent_at_once_and_nothing_is_lost_at_the_end():
    clock = FakeClock()
    reporter, sent = make_reporter(clock)
    clock.now = 10.0
    bar = Bar(None, "open-ended", reporter=reporter)
    assert len(sent) == 1 and bar_events(sent)[0][5] == 0 and bar_events(sent)[0][6] is None
    bar.update(3)  # within the interval: held back
    assert len(sent) == 1
    reporter.flush()  # a task's end
    assert bar_events(sent)[-1][5] == 3


def test_postfix_description_and_messages_travel_as_plain_text():
    reporter, sent = make_reporter()
    with Bar(10, reporter=reporter) as bar:
        bar.set_description("step two")
        bar.set_postfix(loss=0.123456, name=object.__name__)
        reporter.message("writing")
    reporter.flush()
    events = [e for batch in sent for e in batch]
    last_bar = [e for e in events if e[0] == ev.BAR][-1]
    assert last_bar[4] == "step two" and last_bar[8] == (("loss", "0.1235"), ("name", "object"))
    assert (ev.MESSAGE, 3, 17, "writing") in events


def test_track_counts_exactly_even_when_the_loop_breaks_inside_a_slice():
    reporter, sent = make_reporter()
    import poolbars.progress.reporting as reporting

    reporting.install(reporter)
    try:
        seen = []
        for x in Tracked(itertools.count(), desc="endless"):
            seen.append(x)
            if x == 12_344:
                break
        items = list(Tracked(range(50_000)))
    finally:
        reporting.install(None)
    reporter.flush()
    finals = [e for e in bar_events(sent) if e[9]]
    assert [e[5] for e in finals] == [12_345, 50_000]
    assert finals[1][6] == 50_000  # total from len()
    assert seen == list(range(12_345)) and items == list(range(50_000))


def test_track_of_an_empty_iterable_closes_at_zero():
    reporter, sent = make_reporter()
    import poolbars.progress.reporting as reporting

    reporting.install(reporter)
    try:
        assert list(Tracked([])) == []
    finally:
        reporting.install(None)
    reporter.flush()
    assert bar_events(sent)[-1][5] == 0 and bar_events(sent)[-1][9] is True


def test_a_broken_channel_warns_once_and_the_task_goes_on():
    def broken(batch):
        raise ConnectionRefusedError("panel is gone")

    reporter = Reporter(broken, source=0, interval=0.0)
    with pytest.warns(RuntimeWarning, match="could not be reported"):
        bar = Bar(10, reporter=reporter)
    for _ in range(10):
        bar.update()  # no further warnings, no exceptions
    bar.close()


def test_bad_total_is_refused_with_a_clear_message():
    reporter, _ = make_reporter()
    with pytest.raises(TypeError, match="total must be a number"):
        Bar("ten", reporter=reporter)


def test_track_of_a_list_counts_exactly_when_the_loop_breaks_inside_a_slice():
    reporter, sent = make_reporter()
    import poolbars.progress.reporting as reporting

    reporting.install(reporter)
    try:
        for x in Tracked(list(range(100_000))):
            if x == 54_320:
                break
    finally:
        reporting.install(None)
    reporter.flush()
    final = [e for e in bar_events(sent) if e[9]][-1]
    assert final[5] == 54_321 and final[6] == 100_000


def test_a_held_update_is_sent_by_the_timer_without_further_calls():
    import time

    sent = []
    reporter = Reporter(sent.append, source=0, interval=0.05)
    reporter.start_timer()
    try:
        bar = Bar(10, reporter=reporter)  # sent at once
        bar.n = 7
        bar.refresh()  # within the interval: held
        reporter.message("writing")
        deadline = time.time() + 2
        while time.time() < deadline and not any(
                e[0] == ev.MESSAGE for batch in sent for e in batch):
            time.sleep(0.01)
    finally:
        reporter.stop_timer()
    events = [e for batch in sent for e in batch]
    assert (ev.MESSAGE, 0, None, "writing") in events
    assert [e for e in events if e[0] == ev.BAR][-1][5] == 7


@pytest.mark.parametrize("make", [lambda n: range(n), lambda n: list(range(n))])
def test_with_a_timer_track_is_read_while_it_runs_and_exact_when_it_breaks(make):
    import time

    sent = []
    reporter = Reporter(sent.append, source=0, interval=0.02)
    reporter.start_timer()
    try:
        for x in Tracked(make(1000), reporter=reporter):
            time.sleep(0.0005)  # ~0.5 s in all: the timer reads it many times
            if x == 699:
                break
    finally:
        reporter.stop_timer()
    reporter.flush()
    counts = [e[5] for e in bar_events(sent)]
    assert any(0 < n < 700 for n in counts)  # progress arrived while the loop ran
    assert counts == sorted(counts)  # never backwards
    final = bar_events(sent)[-1]
    assert final[5] == 700 and final[6] == 1000 and final[9] is True


def test_meta_is_checked_once_and_travels_as_the_last_field_of_every_state():
    reporter, sent = make_reporter()
    with Bar(3, "rows", reporter=reporter, meta={"shard": 7, "tags": ["a", None]}) as bar:
        bar.update(3)
    reporter.flush()
    assert bar.meta == (("shard", "7"), ("tags", '["a", null]'))
    assert bar_events(sent)[-1][-1] == bar.meta and bar_events(sent)[-1][9] is True
    plain = Bar(1, reporter=reporter)
    assert plain.meta == () and plain.event(3, 1.0).meta == ()


@pytest.mark.parametrize("meta, error, message", [
    ([("a", 1)], TypeError, r"meta=\[\('a', 1\)\]: give a dict of JSON-able values, or None"),
    ({1: "x"}, TypeError, r"meta key 1: give str keys"),
    ({"f": object()}, TypeError, r"meta\['f'\]=<object object at .*>: give a JSON-able value"),
    ({"nan": float("nan")}, TypeError, r"meta\['nan'\]=nan: give a JSON-able value"),
    ({str(i): i for i in range(21)}, ValueError, r"meta has 21 keys: give at most 20"),
])
def test_a_bad_meta_is_refused_at_the_call(meta, error, message):
    import poolbars as pb
    reporter, sent = make_reporter()
    with pytest.raises(error, match=message):
        Bar(3, reporter=reporter, meta=meta)
    with pytest.raises(error, match=message):
        Tracked(range(3), reporter=reporter, meta=meta)
    with pytest.raises(error, match=message):
        pb.bar(3, meta=meta)
    with pytest.raises(error, match=message):
        pb.track(range(3), meta=meta)
    assert sent == []
