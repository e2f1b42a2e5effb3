"""readout.py: the snapshot built from a PanelState, read only."""

from poolbars.protocol import events as ev

from poolbars.panel import readout
from poolbars.panel.lanes import BarState, Lane
from poolbars.panel.limits import MAX_LANES
from poolbars.panel.state import PanelState


def test_a_lane_row_shows_its_primary_bar_and_is_stalled_only_when_active_and_quiet():
    lane = Lane("0", "worker 0", "busy", task=4, label="'e'", started=10.0, updated=11.0)
    lane.bars = {1: BarState("rows", 3, 8, "rows", (("k", "v"),))}
    row = readout.lane_dict(lane, 20.0, 5.0, [1.0])
    assert (row["task"], row["index"], row["desc"], row["n"], row["total"]) == (
        "'e'", 4, "rows", 3, 8)
    assert row["postfix"] == [["k", "v"]] and row["elapsed"] == 10.0 and row["stalled"]
    assert "stalled" not in readout.lane_dict(lane, 12.0, 5.0, [])  # left out: false
    idle = Lane("1", "worker 1", "idle", updated=0.0)
    row = readout.lane_dict(idle, 20.0, 5.0, [])
    assert (row["elapsed"], row["desc"], row["unit"]) == (0.0, "", "it")
    # what holds its default is left out (snapshot.LANE_DEFAULTS)
    assert not {"stalled", "failed", "rate", "eta", "meta", "spark"} & set(row)


def test_a_panel_of_bars_only_follows_its_outermost_bar():
    state = PanelState(unit="items")
    state.fold(ev.BarUpdate("main", 1, None, "files", 4, 10, "files", (), False, 1.0))
    state.fold(ev.BarUpdate("main", 2, None, "rows", 50, 100, "rows", (), False, 1.0))
    lanes = list(state.lanes.values())
    assert readout.lead_bar(state, lanes) is state.lanes["main:1"].bars[1]
    overall = readout.overall(state, 3.0, 3.0, lanes)
    assert (overall["done"], overall["total"], overall["unit"], overall["pending"]) == (
        4, 10, "files", None)
    assert overall["rate"] == 2.0 and overall["eta"] == 3.0
    state.fold(ev.WorkerChange(0, "idle", 1))  # a pool's worker: the items lead again
    assert readout.lead_bar(state, list(state.lanes.values())) is None


def test_the_snapshot_is_bounded_and_reading_it_changes_nothing():
    state = PanelState("t")
    for worker in range(MAX_LANES + 3):
        state.fold(ev.WorkerChange(worker, "idle", worker))
    state.fold(ev.Start(0, 0, 2, "'a'", 1.0))
    version = state.version
    snapshot = readout.snapshot(state, now=2.0)
    assert len(snapshot["lanes"]) == MAX_LANES and snapshot["more_lanes"] == 3
    assert snapshot == state.snapshot(now=2.0) and state.version == version
    timeline = readout.timeline(state, now=2.0)
    assert timeline["t0"] == 1.0 and [lane["key"] for lane in timeline["lanes"]] == ["0"]


def test_a_lane_counts_its_failures_and_tells_its_rate_and_its_tasks_eta():
    state = PanelState()
    for event in [ev.WorkerChange(0, "idle", 1), ev.Seen(0, 9), ev.Start(0, 0, 1, "0", 10.0),
                  ev.Done(0, 1, 12.0), ev.Start(0, 1, 1, "1", 12.0),
                  ev.Fail(0, 1, "1", "error", "ValueError: x", "", 1, 13.0),
                  ev.Done(0, 0, 13.0), ev.Start(0, 2, 1, "2", 13.0),
                  ev.Fail(0, 2, "2", "timeout", "TaskTimeout", "", 1, 14.0),
                  ev.Done(0, 0, 14.0), ev.Start(0, 3, 1, "3", 14.0),
                  ev.BarUpdate(0, 7, 3, "rows", 25, 100, "rows", (), False, 14.5)]:
        state.fold(event)
    lane = state.snapshot(now=16.0)["lanes"][0]
    assert (lane["done"], lane["failed"], lane["elapsed"]) == (1, 2, 2.0)
    assert lane["rate"] == 0.5  # 3 items settled in the 6 s since its first task
    assert lane["eta"] == 6.0  # 75 rows left at 25 rows per 2 s
    state.fold(ev.End("failed", 18.0))
    lane = state.snapshot(now=30.0)["lanes"][0]
    assert "eta" not in lane and lane["rate"] == 0.375  # its clock stops at the end


def test_no_eta_without_a_total_or_before_the_first_step():
    assert readout.task_eta(BarState("rows", 5, None), 2.0) is None
    assert readout.task_eta(BarState("rows", 0, 10), 2.0) is None
    assert readout.task_eta(BarState("rows", 10, 10), 2.0) is None
    assert readout.task_eta(BarState("rows", 5, 10, closed=True), 2.0) is None


def test_with_more_lanes_than_listed_the_failing_and_busy_ones_are_listed_first():
    state = PanelState()
    workers = MAX_LANES * 4  # 256 workers
    for worker in range(workers):
        state.fold(ev.WorkerChange(worker, "idle", worker))
    busy = list(range(workers - 40, workers))  # the last 40 workers are busy
    for worker in busy:
        state.fold(ev.Start(worker, worker, 1, str(worker), 1.0))
    state.fold(ev.WorkerChange(200, "crashed", 200))
    state.fold(ev.Fail(150, 150, "150", "error", "E", "", 1, 2.0))
    snapshot = state.snapshot(now=3.0)
    keys = [int(lane["key"]) for lane in snapshot["lanes"]]
    assert len(keys) == MAX_LANES and snapshot["more_lanes"] == workers - MAX_LANES
    assert set(busy) | {150, 200} <= set(keys) and keys == sorted(keys)
