"""lanes.py: which lane an event lands on, worker lane states, early messages; and the
clipping helpers of limits.py."""

import math

from poolbars.panel.lanes import MAX_EARLY, SETUP_FAILED, BarState, Lane, Lanes
from poolbars.panel.limits import (MAX_POSTFIX, MAX_TEXT_CHARS, clip, clip_postfix, clip_tail,
                             json_number)


def busy(lanes, worker, first, label, t):
    lane = lanes.set_worker(worker, "busy", 100 + worker)
    lane.switch_task(first, label, t)
    return lane


def test_a_worker_lane_is_made_once_and_a_failed_setup_is_final():
    lanes = Lanes()
    lane = lanes.set_worker(0, "starting")
    assert lanes.set_worker(0, "idle", 42) is lane and (lane.state, lane.pid) == ("idle", 42)
    assert (lane.key, lane.name, lane.is_worker) == ("0", "worker 0", True)
    lanes.set_worker(0, SETUP_FAILED)
    lanes.set_worker(0, "idle")
    assert lane.state == SETUP_FAILED


def test_an_idle_worker_has_no_task_and_the_end_exits_live_workers():
    lanes = Lanes()
    lane = busy(lanes, 0, 5, "'e'", 1.0)
    assert (lane.task, lane.label) == (5, "'e'")
    lanes.set_worker(0, "idle")
    assert lane.task is None
    busy(lanes, 1, 7, "'g'", 1.0)
    lanes.set_worker(2, "crashed")
    lanes.for_task("main", 1, None, 1.0, {})
    lanes.workers_exited()
    assert [(lane.key, lane.state, lane.task) for lane in lanes.values()] == [
        ("0", "exited", None), ("1", "exited", None), ("2", "crashed", None),
        ("main:1", "running", None)]


def test_a_bar_lands_on_its_tasks_lane_a_later_item_of_the_chunk_moves_it_on():
    lanes = Lanes()
    lane = busy(lanes, 0, 10, "'k'", 1.0)
    chunk = {"0": [10, 5, "'k'", 0]}
    assert lanes.for_task(0, 1, 10, 1.1, chunk) is lane
    assert lanes.for_task(0, 1, None, 1.1, chunk) is lane  # outside a task: the worker's
    assert lanes.for_task(0, 1, 12, 1.2, chunk) is lane and (lane.task, lane.label) == (
        12, "#12")
    assert lanes.for_task(0, 1, 11, 1.3, chunk) is None  # an item already finished
    assert lanes.for_task(0, 1, 20, 1.3, chunk) is None  # not of this chunk
    assert list(lanes) == ["0"]


def test_bars_from_outside_a_pool_get_a_lane_each_and_messages_go_to_the_latest():
    lanes = Lanes()
    first = lanes.for_task("main", 1, None, 1.0, {})
    second = lanes.for_task("main", 2, None, 2.0, {})
    assert (first.key, second.key, second.name, second.is_worker) == (
        "main:1", "main:2", "main", False)
    assert lanes.for_task("main", 3, None, 2.0, {}, create=False) is None
    lanes.show_message("main", None, "hello", {})
    assert (first.message, second.message) == ("", "hello")
    lanes.show_message("host:9", None, "alone", {})  # a source with no bar: a lane for it
    assert lanes["host:9:None"].message == "alone"
    assert lanes.latest_of("main") is second and lanes.latest_of("other") is None


def test_a_message_that_overtakes_its_start_is_held_and_shown_when_it_starts():
    lanes = Lanes()
    lane = busy(lanes, 0, 0, "'a'", 1.0)
    for task in range(1, MAX_EARLY + 3):
        lanes.show_message(0, task, f"msg {task}", {"0": [0, 1, "'a'", 0]})
    assert len(lane.early) == MAX_EARLY and min(lane.early) == 3  # the oldest are dropped
    lanes.show_message(0, 0, "x" * (MAX_TEXT_CHARS + 5), {"0": [0, 1, "'a'", 0]})
    assert len(lane.message) == MAX_TEXT_CHARS
    lane.switch_task(3, "'d'", 5.0)
    assert lane.message == "msg 3" and min(lane.early) == 4


def test_the_primary_bar_is_the_outermost_open_one_else_the_last_closed():
    lane = Lane("0", "worker 0", "busy")
    assert lane.primary_bar() is None
    outer, inner = BarState("outer"), BarState("inner")
    lane.bars = {1: outer, 2: inner}
    assert lane.primary_bar() is outer
    outer.closed = inner.closed = True
    assert lane.primary_bar() is inner


def test_text_is_clipped_keeping_the_start_and_a_traceback_keeping_the_end():
    assert clip(None) is None and clip(12) == "12" and clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…" and clip_tail("abcdef", 4) == "…def"
    pairs = clip_postfix(((f"k{i}", "v" * 200) for i in range(MAX_POSTFIX + 5)))
    assert len(pairs) == MAX_POSTFIX and len(pairs[0][1]) == 100


def test_only_numbers_a_browser_can_hold_pass():
    assert json_number(3) == 3 and json_number(2.5) == 2.5 and json_number("4") == 4.0
    assert [json_number(v) for v in (10**400, math.nan, math.inf, None, "x")] == [None] * 5
