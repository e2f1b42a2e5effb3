"""The panel's readout: the snapshot built from a PanelState -- the bounded, JSON-ready
dicts typed in snapshot.py and described in docs/snapshot.md (`snapshot`, `timeline`).

Read only: these functions never change the state. The caller holds the state's lock, or
is the collector thread, its only writer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional, cast

from . import snapshot as snap
from .lanes import SETUP_FAILED, BarState, Lane
from .limits import MAX_LANES, json_number

if TYPE_CHECKING:
    from .state import PanelState


def snapshot(state: PanelState, now: Optional[float] = None) -> snap.Snapshot:
    """The bounded, JSON-ready view of `state` at `now`."""
    now = time.time() if now is None else now
    end = state.ended if state.ended is not None else now
    lanes = list(state.lanes.values())
    throughput = state.lane_throughput
    return {
        "title": state.title,
        "status": state.status,
        "overall": overall(state, now, end, lanes),
        "lanes": [lane_dict(lane, now, state.stale_after,
                            throughput[lane.key].spark(end, state.started)
                            if lane.key in throughput else [], end)
                  for lane in listed_lanes(lanes)],
        "more_lanes": max(len(lanes) - MAX_LANES, 0),
        "failures": [f.to_dict() for f in state.failures],
        "more_failures": state.failure_count - len(state.failures),
        "failure_groups": state.groups.view(),
        "stoppable": state.stoppable and state.status == "running",
        "stopping": state.stopping,
    }


def overall(state: PanelState, now: float, end: float, lanes: list[Lane]) -> snap.Overall:
    """Counts and timing of the whole run: its items, or the outermost bar of a panel
    that shows bars only."""
    elapsed = max(end - state.started, 0.0) if state.started is not None else 0.0
    lead = lead_bar(state, lanes)
    counts = state.counts()
    if lead is None:
        done, total, unit = counts["done"], counts["total"], state.unit
        rate = state.rate(now)
        remaining = None if total is None else total - state.finished - state.cancelled
    else:  # no pool items: the overall bar follows the outermost bar
        done = lead.n or 0  # None: the bar's count is no number a view can show
        total, unit, counts["pending"] = lead.total, lead.unit, None
        rate = json_number(done / elapsed) if elapsed > 0 and done else None
        remaining = None if lead.total is None else lead.total - done
    # nothing left (all settled, the end not yet posted): no estimate rather than "0:00"
    running = state.status == "running" and remaining is not None and remaining > 0
    # running: remaining is a number
    eta = json_number(remaining / rate) if rate and running else None  # type: ignore[operator]
    return {"done": done, "failed": counts["failed"], "timed_out": counts["timed_out"],
            "crashed": counts["crashed"], "cancelled": counts["cancelled"],
            "running": counts["running"], "retrying": counts["retrying"],
            "pending": counts["pending"], "total": total,
            "elapsed": round(elapsed, 3), "rate": rate, "eta": eta, "unit": unit,
            "dropped": state.dropped, "spark": state.throughput.spark(end, state.started)}


def lead_bar(state: PanelState, lanes: list[Lane]) -> Optional[BarState]:
    """The first bar of a panel that shows bars only (no pool), else None."""
    if state.seen or not lanes or any(lane.is_worker for lane in lanes):
        return None
    return lanes[0].primary_bar()


def lane_dict(lane: Lane, now: float, stale_after: Optional[float],
              spark: list[float], end: Optional[float] = None) -> snap.Lane:
    """One row of the snapshot's `lanes` (`end`: the run's end, else now)."""
    bar = lane.primary_bar()
    active = lane.task is not None or (not lane.is_worker and lane.state == "running")
    stalled = bool(stale_after and active and lane.updated is not None
                   and now - lane.updated > stale_after)
    started = lane.started
    timing = started is not None and (lane.task is not None or not lane.is_worker)
    elapsed = round(now - started, 3) if timing else 0.0  # type: ignore[operator]  # timing: set
    row: snap.Lane = {
        "key": lane.key, "name": lane.name, "state": lane.state,
        "task": lane.label, "index": lane.task,
        "desc": bar.desc if bar else "", "n": bar.n if bar else 0,
        "total": bar.total if bar else None, "unit": bar.unit if bar else "it",
        "message": lane.message, "postfix": [list(p) for p in bar.postfix] if bar else [],
        "elapsed": elapsed,
        "done": lane.done,
    }
    optional = {"meta": [list(p) for p in bar.meta] if bar else [], "failed": lane.failed,
                "rate": lane_rate(lane, now if end is None else end),
                "eta": task_eta(bar, elapsed) if active else None,
                "stalled": stalled, "spark": spark}
    # sent only when they differ from their default (a smaller snapshot: see snap.Lane)
    return cast(snap.Lane, {**row, **{key: value for key, value in optional.items()
                                      if value != snap.LANE_DEFAULTS[key]}})


def lane_rate(lane: Lane, end: float) -> Optional[float]:
    """Items the lane settled per second since its first task started (None: none yet)."""
    settled = lane.done + lane.failed
    if lane.first is None or not settled or end <= lane.first:
        return None
    return json_number(round(settled / (end - lane.first), 3))


def task_eta(bar: Optional[BarState], elapsed: float) -> Optional[float]:
    """Seconds left on a task whose inner bar has a total, at its pace so far."""
    if bar is None or bar.closed or not bar.total or not bar.n or elapsed <= 0:
        return None
    left = bar.total - bar.n
    return json_number(round(left * elapsed / bar.n, 3)) if left > 0 else None


def listed_lanes(lanes: list[Lane]) -> list[Lane]:
    """At most MAX_LANES lanes, in their order: failing and busy ones first picked, so
    a panel of many workers never hides the ones at work or in trouble."""
    if len(lanes) <= MAX_LANES:
        return lanes
    ranked = sorted(range(len(lanes)), key=lambda i: (lane_rank(lanes[i]), i))
    return [lanes[i] for i in sorted(ranked[:MAX_LANES])]


def lane_rank(lane: Lane) -> int:
    """0: failing (a worker crashed, its setup failed, or an item failed there); 1: busy;
    2: the rest (idle, starting, exited, finished bars)."""
    if lane.state in ("crashed", SETUP_FAILED) or lane.failed:
        return 0
    return 1 if lane.state in ("busy", "running") else 2


def timeline(state: PanelState, now: Optional[float] = None) -> snap.Timeline:
    """The `timeline` trait: blocks per lane, times relative to the first start."""
    now = time.time() if now is None else now
    end = state.ended if state.ended is not None else now
    names = {key: lane.name for key, lane in state.lanes.items()}
    return state.timeline.view(state.started, end, names)
