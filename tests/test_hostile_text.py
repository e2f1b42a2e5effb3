"""Task text is inert everywhere (issue 10, §6): control characters and rich markup in
anything a task provides are shown literally, capped in length, never break a lane's
line; wild numbers never raise in a task nor break the snapshot's JSON; a message from
the main process reaches the log."""

import io
import json
import re
import time

import pytest

import poolbars as pb
from poolbars.protocol import events as ev
from poolbars.views import text
from poolbars.panel.state import PanelState
from poolbars.views.terminal import LogView, TerminalView, render

pytestmark = pytest.mark.timeout(120)

# clears the screen, retitles the window (OSC), rings, moves the cursor, returns the
# carriage and forges a log line; C1 CSI, DEL, NEL and a Unicode line separator; markup
# that rich would interpret (a stray closing tag raises MarkupError), a hyperlink, an emoji
EVIL = ("\x1b[2J\x1b]0;PWNED\x07\x1b[5A\rFORGED\n✗ error: item 9 on worker 0: fake "
        "\x9b2J\x7f\x85NEL\u2028LS [/bold][red [link=https://evil.example]click[/link] :smile:")
# labels are reprs, at most 80 characters: one that fits
EVIL_LABEL = "\x1b]0;PWNED\x07[/bold]\rFORGED\n[link=https://evil.example]x[/link]"

RAW = ["\x1b[2J", "\x1b]", "\x1b[5A", "\x07", "\x9b", "\x7f", "\x85", "\u2028", "\rFORGED"]
SHOWN = [r"\x1b[2J\x1b]0;PWNED\x07\x1b[5A\rFORGED\n✗ error: item 9 on worker 0: fake",
         r"\x9b2J\x7f\x85NEL\u2028LS [/bold][red [link=https://evil.example]click[/link]"
         " :smile:"]
SHOWN_LABEL = r"\x1b]0;PWNED\x07[/bold]\rFORGED\n[link=https://evil.example]x[/link]"
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # rich's own colours and cursor moves
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # all but "\n"


class Evil:
    """An item whose repr (its label) is hostile."""

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return EVIL_LABEL


class TTY(io.StringIO):
    """A terminal that keeps what was written to it."""

    def isatty(self):
        return True


def hostile_task(item):
    with pb.bar(total=10, desc=EVIL, unit="it") as bar:
        bar.set_postfix({EVIL: EVIL})
        bar.update(3)
        pb.message(EVIL)
        time.sleep(1.5)  # long enough for the panel to draw the lane
    if item.n == 1:
        raise ValueError(EVIL)
    return item.n


def assert_inert_terminal(raw):
    for sequence in RAW:
        assert sequence not in raw, f"{sequence!r} reached the terminal"
    assert "😄" not in raw and "MarkupError" not in raw
    shown = CSI.sub("", raw)
    assert "[/bold]" in shown and "[link=https://evil.example]" in shown
    return shown


def assert_log_lines(out):
    assert not CONTROLS.search(out), f"a control character reached the log: {out!r}"
    for line in out.splitlines():
        assert not line.startswith(("FORGED", "✗ error: item 9")), f"forged line {line!r}"


def hostile_state():
    s = PanelState(EVIL)
    for event in [(ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 3),
                  (ev.START, 0, 0, 3, EVIL_LABEL, 1.0),
                  (ev.BAR, 0, 1, 0, EVIL, 3, 10, EVIL, ((EVIL, EVIL),), False, 1.5),
                  (ev.MESSAGE, 0, 0, EVIL),
                  (ev.BAR, EVIL, 2, None, EVIL, 1, 4, "it", (), False, 1.5),
                  (ev.FAIL, 0, 1, EVIL_LABEL, "error", "ValueError: " + EVIL,
                   "Traceback (most recent call last):\nValueError: " + EVIL + "\n", 1, 2.0)]:
        s.fold(event)
    running = s.snapshot(now=3.0)
    for event in [(ev.DONE, 0, 2, 4.0), (ev.END, "failed", 5.0)]:
        s.fold(event)
    return running, s.snapshot(now=5.0)


# -- the terminal and log views -----------------------------------------------------------

def test_terminal_view_shows_hostile_state_text_literally_on_one_line_per_lane():
    from rich.console import Console

    running, final = hostile_state()
    out = io.StringIO()
    view = TerminalView("t", console=Console(file=out, force_terminal=True, width=3000))
    view.update(running)
    view.close(final)
    shown = assert_inert_terminal(out.getvalue())
    for part in SHOWN + [SHOWN_LABEL]:
        assert part in shown
    lane_lines = [line for line in shown.splitlines() if "worker 0" in line and "3/10" in line]
    assert len(lane_lines) == 1 and SHOWN[0] in lane_lines[0] and SHOWN[1] in lane_lines[0]
    for line in shown.splitlines():
        assert not line.lstrip("\r").startswith(("FORGED", "✗ error: item 9"))


def test_log_view_and_text_fallback_show_hostile_state_text_as_plain_single_lines():
    running, final = hostile_state()
    out = io.StringIO()
    view = LogView("t", stream=out, interval=0.0)
    view.update(running)
    view.close(final)
    assert_log_lines(out.getvalue())
    assert SHOWN[0] in out.getvalue() and SHOWN_LABEL in out.getvalue()
    plain = text.plain(running)
    assert_log_lines(plain)
    assert len(plain.splitlines()) == 2 + len(running["lanes"]) + len(running["failures"])
    assert not CONTROLS.search(text.html(final).replace("\n", ""))


def test_a_real_pool_of_hostile_tasks_draws_literal_text_in_the_terminal(monkeypatch):
    screen = TTY()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.setenv("COLUMNS", "3000")
    monkeypatch.setenv("TERM", "xterm-256color")
    with pb.Pool(2, title=EVIL, display="terminal", on_error="return") as pool:
        results = pool.map(hostile_task, [Evil(0), Evil(1)])
    assert results[0] == 0 and isinstance(results[1], pb.Failure)
    shown = assert_inert_terminal(screen.getvalue())
    assert SHOWN[0] in shown and SHOWN_LABEL in shown  # the lane's text, the failure's label


def test_a_real_pool_of_hostile_tasks_writes_plain_single_lines_to_the_log(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with pb.Pool(2, title=EVIL, display="log", on_error="return") as pool:
        pool.map(hostile_task, [Evil(0), Evil(1)])
    out = log.getvalue()
    assert_log_lines(out)
    assert SHOWN[0] in out and SHOWN_LABEL in out
    assert "ValueError" in out and "Traceback" in out


# -- caps ---------------------------------------------------------------------------------

BIG = "x" * 1_000_000


def json_size(snapshot, state):
    return len(json.dumps(dict(snapshot, timeline=state.timeline_view()), allow_nan=False))


def test_megabyte_task_text_makes_a_small_snapshot():
    s = PanelState(BIG, unit=BIG)
    postfix = ((BIG, BIG),) + tuple((f"k{i}", "v" * 50) for i in range(10_000))
    for event in [(ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 2),
                  (ev.START, 0, 0, 2, BIG, 1.0),
                  (ev.BAR, 0, 1, 0, BIG, 1, 10, BIG, postfix, False, 1.5),
                  (ev.MESSAGE, 0, 0, BIG),
                  (ev.BAR, BIG, 2, None, BIG, 1, 4, BIG, postfix, False, 1.5),
                  (ev.MESSAGE, BIG, None, BIG),
                  (ev.FAIL, 0, 1, BIG, "error", BIG, BIG, 1, 2.0)]:
        s.fold(event)
    snap = s.snapshot(now=3.0)
    assert json_size(snap, s) < 64_000
    lane = snap["lanes"][0]
    assert lane["desc"].startswith("xxx") and lane["message"].startswith("xxx")
    assert snap["failures"][0]["error"].startswith("xxx")


def big_text_task(x):
    with pb.bar(total=10, desc=BIG) as bar:
        bar.set_postfix({BIG: BIG, **{f"k{i}": i for i in range(2000)}})
        pb.message(BIG)
        bar.update(1)
        time.sleep(1.5)
    raise ValueError(BIG)


def test_a_real_pool_with_megabyte_task_text_keeps_every_snapshot_small():
    with pb.Pool(1, title=BIG, display=None, on_error="return") as pool:
        handle = pool.map_async(big_text_task, [0])
        sizes, seen = [], False
        deadline = time.monotonic() + 30
        while not handle.done() and time.monotonic() < deadline:
            snap = pool.snapshot()
            with pool.state.lock:
                sizes.append(json_size(snap, pool.state))
            seen = seen or any(lane["desc"].startswith("xxx") for lane in snap["lanes"])
            time.sleep(0.05)
        [failure] = handle.result(timeout=30)
    sizes.append(json_size(pool.snapshot(), pool.state))
    assert seen, "the lane never showed the task's description"
    assert max(sizes) < 64_000
    assert isinstance(failure, pb.Failure) and len(failure.message) > 999_000  # kept in full


# -- a message from the main process ------------------------------------------------------

def test_a_message_from_the_main_process_is_printed_by_the_log_view(capsys):
    pb.message("loading the data")  # no panel open: auto picks the log (stderr is no TTY)
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "loading the data" in line] == [
        "main: loading the data"]


def square(x):
    return x * x


def test_a_message_from_the_main_process_during_a_pool_is_printed_by_the_log_view(
        monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with pb.Pool(1, display="log") as pool:
        pb.message("phase one\nFORGED")
        assert pool.map(square, range(3)) == [0, 1, 4]
    out = log.getvalue()
    assert_log_lines(out)
    assert [line for line in out.splitlines() if "phase one" in line] == [
        r"main: phase one\nFORGED"]


# -- wild numbers -------------------------------------------------------------------------

WILD = [10**400, 1e308, float("inf"), float("-inf"), float("nan")]


def wild_numbers_task(x):
    bars = [pb.bar(total=10), pb.bar(total=10**400), pb.bar(total=float("nan")),
            pb.bar(total=float("inf")), pb.bar(total=1e308)]
    for bar in bars:
        for value in WILD:
            bar.update(value)
            bar.update(1)
            repr(bar)
        bar.set_postfix(big=10**400, huge=10**5000, inf=float("inf"), nan=float("nan"))
    pb.message(f"n={bars[0].n}")
    time.sleep(1.5)  # long enough for the panel to draw the lanes
    return x


def test_bar_update_with_wild_numbers_never_raises_and_the_panel_renders():
    from rich.console import Console

    with pb.Pool(2, display=None) as pool:
        handle = pool.map_async(wild_numbers_task, range(2))
        snaps = []
        deadline = time.monotonic() + 30
        while not handle.done() and time.monotonic() < deadline:
            snaps.append(pool.snapshot())
            time.sleep(0.05)
        assert handle.result(timeout=30) == [0, 1]
    snaps.append(pool.snapshot())
    assert any(lane["message"] for snap in snaps for lane in snap["lanes"])
    for snap in snaps:
        json.dumps(snap, allow_nan=False)
        Console(file=io.StringIO(), force_terminal=True, width=200).print(render(snap))
        text.plain(snap)
    json.dumps(pool.report().to_dict(), allow_nan=False)


def test_wild_numbers_fold_into_a_json_safe_snapshot_that_every_view_renders():
    from rich.console import Console

    for value in WILD:
        s = PanelState("wild")
        s.fold((ev.BAR, "main", 1, None, "a", value, value, "it", (), False, 1.0))
        s.fold((ev.BAR, "main", 2, None, "b", 1, value, "it", (), False, 1.0))
        s.fold((ev.BAR, "main", 3, None, "c", value, 10, "it", (), True, 1.0))
        for now in (1.0, 2.0):
            snap = s.snapshot(now=now)
            json.dumps(dict(snap, timeline=s.timeline_view(now)), allow_nan=False)
            Console(file=io.StringIO(), force_terminal=True, width=200).print(render(snap))
            LogView("wild", stream=io.StringIO(), interval=0.0).close(snap)
            text.plain(snap)
            text.html(snap)
