"""kinds: each failure kind's status, counter and exception, and the modules that read it."""

import dataclasses
from typing import get_args

import pytest

import poolbars as pb
from poolbars import errors
from poolbars.protocol import events as ev, kinds
from poolbars.record import report
from poolbars.views import text
from poolbars.engine.book import Stats
from poolbars.panel.state import PanelState

pytestmark = pytest.mark.timeout(30)


def test_the_table_has_every_kind_and_only_those():
    assert tuple(kinds.KINDS) == get_args(kinds.Kind) == ("error", "timeout", "crashed")
    assert kinds.COUNTERS == ("failed", "timed_out", "crashed")


def test_each_kind_names_a_public_exception_class_of_that_kind():
    for kind, outcome in kinds.KINDS.items():
        cls = getattr(pb, outcome.exception)
        assert issubclass(cls, pb.TaskFailed) and cls.kind == kind


def test_every_counter_is_a_count_of_the_pool_and_of_the_panel():
    fields = {f.name for f in dataclasses.fields(Stats)}
    assert set(kinds.COUNTERS) <= fields
    assert set(kinds.COUNTERS) <= set(PanelState().counts())


def test_any_other_word_keeps_its_own_status_and_counts_as_an_error():
    assert [kinds.status(k) for k in ("error", "timeout", "crashed", "done")] == [
        "failed", "timeout", "crashed", "done"]
    assert kinds.outcome("setup") == kinds.outcome("teardown") == kinds.KINDS["error"]


@pytest.mark.parametrize("kind, cls", [("error", pb.TaskFailed), ("timeout", pb.TaskTimeout),
                                       ("crashed", pb.WorkerCrashed), ("setup", pb.TaskFailed)])
def test_a_failure_raises_the_class_of_its_kind(kind, cls):
    failure = errors.Failure(3, "'x'", kind, "Boom", "it broke", "", 1)
    exc = failure.to_exception()
    assert type(exc) is cls and exc.kind == kind and exc.index == 3


def test_the_panel_counts_and_marks_each_kind_as_the_table_says():
    state = PanelState()
    for number, kind in enumerate(("error", "timeout", "crashed", "crashed")):
        lane = f"w{number}"
        state.fold((ev.START, lane, number, 1, repr(number), 1.0))
        state.fold((ev.FAIL, lane, number, repr(number), kind, "E: x", "", 1, 2.0))
        assert state.timeline.lanes[lane][-1][2] == kinds.status(kind)
    counts = state.counts()
    assert (counts["failed"], counts["timed_out"], counts["crashed"]) == (1, 1, 2)
    assert text.finished(counts) == state.finished == 4


def test_the_run_record_gives_each_kind_its_status():
    failed = {0: ("error", "E: x", 1), 1: ("timeout", "TaskTimeout: 1 s", 1),
              2: ("crashed", "WorkerCrashed: SIGKILL", 2)}
    run = (1, 0, 0, 4, 0, 1.0, 2.0, 1, None, failed)
    record = report.build("t", "done", 0.0, 3.0, {}, [run], {}, 0, {})
    assert [task.status for task in record.tasks] == ["failed", "timeout", "crashed", "done"]
