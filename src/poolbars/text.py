"""Snapshots as text: the plain-text and static-HTML fallbacks of the panel, and the
lines of the log view. Pure functions of a snapshot (see docs/snapshot.md)."""

from __future__ import annotations

import html as _html
import math

SNAPSHOT_KEYS = ("title", "status", "overall", "lanes", "more_lanes", "failures",
                 "more_failures", "stoppable", "stopping")


def duration(seconds: float | None) -> str:
    """`0:05`, `1:02:03`; `?` when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate(per_second: float | None, unit: str = "it") -> str:
    if not per_second:
        return f"? {unit}/s"
    if per_second < 1:
        return f"{1 / per_second:.2f} s/{unit}"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if per_second >= limit:
            return f"{per_second / limit:.1f}{suffix} {unit}/s"
    return f"{per_second:.1f} {unit}/s"


def number(value) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def percent(done: int, total: int | None) -> str:
    if not total:
        return "100%" if total == 0 else "?%"
    return f"{100 * done // total}%"


def counts(overall: dict) -> str:
    """`done 12 · failed 1 · running 4 · pending 23` (rare kinds only when non-zero)."""
    parts = [f"done {overall.get('done', 0)}", f"failed {overall.get('failed', 0)}"]
    for key, name in (("timed_out", "timed out"), ("crashed", "crashed"),
                      ("cancelled", "cancelled"), ("retrying", "retrying")):
        if overall.get(key):
            parts.append(f"{name} {overall[key]}")
    parts.append(f"running {overall.get('running', 0)}")
    parts.append(f"pending {number(overall.get('pending'))}")
    return " · ".join(parts)


def finished(overall: dict) -> int:
    return sum(overall.get(k, 0) for k in ("done", "failed", "timed_out", "crashed"))


def overall_line(snapshot: dict) -> str:
    """`Convert [running] 12/40 30% · 3.2 it/s · 0:05 elapsed · ETA 0:09`."""
    o = snapshot.get("overall") or {}
    unit = o.get("unit", "it")
    done, total = finished(o), o.get("total")
    parts = [f"{done}/{number(total)} {percent(done, total)}", rate(o.get("rate"), unit),
             f"{duration(o.get('elapsed'))} elapsed"]
    if snapshot.get("status") == "running" and o.get("eta") is not None:
        parts.append(f"ETA {duration(math.ceil(o['eta']))}")  # rounds up, never "0:00" early
    title = snapshot.get("title") or "poolbars"
    return f"{title} [{snapshot.get('status', 'running')}] " + " · ".join(parts)


def lane_line(lane: dict) -> str:
    parts = [f"{lane['name']} ({lane['state']})"]
    if lane.get("task") is not None:
        parts.append(f"item {lane['task']}")
    if lane.get("desc"):
        parts.append(lane["desc"])
    if lane.get("total") is not None or lane.get("n"):
        count = f"{number(lane.get('n'))}/{number(lane.get('total'))}"
        parts.append(f"{count} {lane.get('unit', 'it')}")
    if lane.get("postfix"):
        parts.append(" ".join(f"{k}={v}" for k, v in lane["postfix"]))
    if lane.get("message"):
        parts.append(lane["message"])
    return "  " + " · ".join(parts)


def failure_where(failure: dict) -> str:
    """`item 3`, or `worker 1` for a failure of a worker itself (its setup, teardown)."""
    return failure["label"] if failure.get("index") is None else f"item {failure['label']}"


def failure_line(failure: dict) -> str:
    if failure.get("index") is None:  # the worker's own (setup, teardown), not an item's
        return f"  ✗ {failure['kind']} failed on {failure['label']}: {failure['error']}"
    where = f" on {failure['worker']}" if failure.get("worker") else ""
    return f"  ✗ {failure['kind']}: item {failure['label']}{where}: {failure['error']}"


def plain(snapshot: dict) -> str:
    """The whole panel as text: what a saved notebook shows where widgets cannot render."""
    lines = [overall_line(snapshot), "  " + counts(snapshot.get("overall") or {})]
    if snapshot.get("status") == "running":
        lines += [lane_line(lane) for lane in snapshot.get("lanes", [])]
        if snapshot.get("more_lanes"):
            lines.append(f"  … {snapshot['more_lanes']} more lanes")
    lines += [failure_line(f) for f in snapshot.get("failures", [])]
    if snapshot.get("more_failures"):
        lines.append(f"  … {snapshot['more_failures']} more failures")
    return "\n".join(lines)


def html(snapshot: dict) -> str:
    """A static HTML rendering (every user string escaped), for viewers without JS."""
    esc = _html.escape
    o = snapshot.get("overall") or {}
    done, total = finished(o), o.get("total")
    width = 100 if total == 0 else (100 * done / total if total else 0)
    colour = {"failed": "#d32f2f", "cancelled": "#9e9e9e", "done": "#388e3c"}.get(
        snapshot.get("status"), "#1976d2")
    rows = [
        f'<div style="font-weight:600">{esc(overall_line(snapshot))}</div>',
        '<div style="background:#e0e0e0;height:6px;border-radius:3px;margin:4px 0">'
        f'<div style="width:{width:.1f}%;background:{colour};height:6px;border-radius:3px">'
        "</div></div>",
        f"<div>{esc(counts(o))}</div>",
    ]
    for failure in snapshot.get("failures", []):
        rows.append(
            f'<details style="color:#d32f2f"><summary>{esc(failure_line(failure).strip())}'
            f'</summary><pre style="white-space:pre-wrap">{esc(failure["traceback"])}</pre>'
            '</details>')
    if snapshot.get("more_failures"):
        rows.append(f"<div>… {snapshot['more_failures']} more failures</div>")
    return ('<div class="poolbars-static" style="font-family:sans-serif;font-size:13px;'
            'overflow-wrap:anywhere">' + "".join(rows) + "</div>")
