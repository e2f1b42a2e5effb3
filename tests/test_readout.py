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
    assert not readout.lane_dict(lane, 12.0, 5.0, [])["stalled"]
    idle = Lane("1", "worker 1", "idle", updated=0.0)
    row = readout.lane_dict(idle, 20.0, 5.0, [])
    assert (row["stalled"], row["elapsed"], row["desc"], row["unit"]) == (False, 0.0, "", "it")


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
