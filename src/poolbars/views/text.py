"""Snapshots as text: the plain-text and static-HTML fallbacks of the panel, and the
lines of the log view. Pure functions of a snapshot (see docs/snapshot.md).

Also `inert()`, the one sanitizer every view passes task text through."""

from __future__ import annotations

import html as _html
import math
import textwrap

from typing import Any, Mapping

from ..panel.snapshot import SNAPSHOT_KEYS  # noqa: F401 (re-exported: the keys every view reads)
from ..protocol.kinds import COUNTERS

# what a terminal or a log would act on: C0 codes, DEL, C1 codes, and the Unicode line
# and paragraph separators (str.splitlines() breaks on them)
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                 0x2028: "\\u2028", 0x2029: "\\u2029"})
_MULTILINE_ESCAPES = {code: s for code, s in _ESCAPES.items() if chr(code) not in "\n\t"}


def inert(value, multiline: bool = False) -> str:
    """`value` as text that cannot act on a terminal or a log: every control character is
    shown as its escape (`\\x1b`, `\\r`, `\\n`), except newlines and tabs when
    `multiline`. Rich markup is left as it is: the views print it as rich `Text`, which
    never reads markup."""
    text = str(value)
    if not multiline and text.isprintable():  # the common case: nothing to escape
        return text
    return text.translate(_MULTILINE_ESCAPES if multiline else _ESCAPES)


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
    return sum(overall.get(k, 0) for k in ("done", *COUNTERS))


def progress(snapshot: Mapping[str, Any]) -> str:
    """`12/40 30% · 3.2 it/s · 0:05 elapsed · ETA 0:09`."""
    o = snapshot.get("overall") or {}
    unit = inert(o.get("unit", "it"))
    done, total = finished(o), o.get("total")
    parts = [f"{done}/{number(total)} {percent(done, total)}", rate(o.get("rate"), unit),
             f"{duration(o.get('elapsed'))} elapsed"]
    if snapshot.get("status") == "running" and o.get("eta") is not None:
        parts.append(f"ETA {duration(math.ceil(o['eta']))}")  # rounds up, never "0:00" early
    return " · ".join(parts)


def overall_line(snapshot: Mapping[str, Any]) -> str:
    """`Convert [running] 12/40 30% · 3.2 it/s · 0:05 elapsed · ETA 0:09`."""
    title = inert(snapshot.get("title") or "poolbars")
    return f"{title} [{inert(snapshot.get('status', 'running'))}] {progress(snapshot)}"


def lane_numbers(lane: dict) -> str:
    """`✓ 12 · ✗ 2 · 0:03 · 1.5 it/s · ETA 0:04`: items done and failed on a lane, the
    current item's time, the lane's rate and the task's time left (what is known). A
    bar's own lane (no pool items: the main process's, a retrofitted program's) has no
    item counts."""
    parts = [] if own_lane(lane) else [f"✓ {lane.get('done', 0)}"]
    if lane.get("failed"):
        parts.append(f"✗ {lane['failed']}")
    if lane.get("task") is not None or lane.get("elapsed"):
        parts.append(duration(lane.get("elapsed")))
    if lane.get("rate"):
        parts.append(rate(lane["rate"]))
    if lane.get("eta") is not None:
        parts.append(f"ETA {duration(math.ceil(lane['eta']))}")
    return " · ".join(parts)


MANY_LANES = 16  # past this many lanes a terminal shows the ones at work or in trouble


def _lane_rank(lane: dict) -> int:
    if lane.get("state") in ("crashed", "setup failed") or lane.get("failed"):
        return 0
    return 1 if lane.get("state") in ("busy", "running") else 2


def shown_lanes(snapshot: Mapping[str, Any], limit: int = MANY_LANES) -> tuple[list, int]:
    """At most `limit` lanes, in their order, the failing then the busy ones picked first,
    and how many lanes are left out (the snapshot's unlisted ones included)."""
    lanes = list(snapshot.get("lanes") or [])
    more = snapshot.get("more_lanes") or 0
    if len(lanes) <= limit:
        return lanes, more
    picked = sorted(sorted(range(len(lanes)), key=lambda i: _lane_rank(lanes[i]))[:limit])
    return [lanes[i] for i in picked], more + len(lanes) - limit


def lanes_summary(snapshot: Mapping[str, Any]) -> str:
    """The lanes folded into one line once the run is over: `32 workers · 113 done · 7
    failed (on 5 workers) · 2 crashed`, then the bars of their own (`· 2 bars`, `2 bars
    (1 unfinished)` when they are all there is); "" when there are no lanes."""
    lanes = snapshot.get("lanes") or []
    workers = [lane for lane in lanes if not own_lane(lane)]
    unlisted = snapshot.get("more_lanes") or 0
    parts = _workers_summary(workers, len(workers) + unlisted) if workers or unlisted else []
    bars = [lane for lane in lanes if own_lane(lane)]
    if bars:
        open_bars = sum(lane.get("state") != "done" for lane in bars)  # left running
        unfinished = f" ({open_bars} unfinished)" if open_bars else ""
        parts.append(_plural(len(bars), "bar") + unfinished)
    return " · ".join(parts)


def _workers_summary(workers: list, count: int) -> list[str]:
    parts = [_plural(count, "worker"), f"{sum(lane.get('done', 0) for lane in workers)} done"]
    failing = [lane for lane in workers if lane.get("failed")]
    if failing:
        failed = sum(lane["failed"] for lane in failing)
        parts.append(f"{failed} failed (on {_plural(len(failing), 'worker')})")
    for state in ("crashed", "setup failed"):
        hit = sum(lane.get("state") == state for lane in workers)
        if hit:
            parts.append(f"{hit} {state}")
    return parts


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def lane_detail(lane: dict) -> str:
    """What a lane's task is at: `item 3 · file a · 120/200 rows · loss=0.1 · writing`."""
    parts = []
    if lane.get("task") is not None:
        parts.append(f"item {inert(lane['task'])}")
    if lane.get("desc"):
        parts.append(inert(lane["desc"]))
    if lane.get("total") is not None or lane.get("n"):
        count = f"{number(lane.get('n'))}/{number(lane.get('total'))}"
        parts.append(f"{count} {inert(lane.get('unit', 'it'))}")
    if lane.get("postfix"):
        parts.append(" ".join(f"{inert(k)}={inert(v)}" for k, v in lane["postfix"]))
    if lane.get("message"):
        parts.append(inert(lane["message"]))
    return " · ".join(parts)


def lane_line(lane: dict) -> str:
    # a bar's own lane is told by its bar alone: the numbers are a pool worker's
    numbers = "" if own_lane(lane) else f" {lane_numbers(lane)}"
    head = f"{inert(lane['name'])} ({inert(lane['state'])}){numbers}"
    detail = lane_detail(lane)
    return "  " + (f"{head} · {detail}" if detail else head)


def own_lane(lane: dict) -> bool:
    """True for the lane of a bar or message of its own (keyed `source:bar`), such as
    the main process's; False for a worker's lane (keyed by the worker's number)."""
    return ":" in lane["key"]


def message_line(lane: dict) -> str:
    """`main: loading the data`: a message, on one line, under the name of its lane."""
    return f"{inert(lane['name'])}: {inert(lane['message'])}"


def failure_where(failure: dict) -> str:
    """`item 3`, or `worker 1` for a failure of a worker itself (its setup, teardown)."""
    label = inert(failure["label"])
    return label if failure.get("index") is None else f"item {label}"


def failure_line(failure: dict) -> str:
    if failure.get("index") is None:  # the worker's own (setup, teardown), not an item's
        return (f"  ✗ {inert(failure['kind'])} failed on {inert(failure['label'])}: "
                f"{inert(failure['error'])}")
    where = f" on {inert(failure['worker'])}" if failure.get("worker") else ""
    return (f"  ✗ {inert(failure['kind'])}: item {inert(failure['label'])}{where}: "
            f"{inert(failure['error'])}")


GROUP_AFTER = 5  # past this many failures, shown by group (when fewer shapes than failures)


def grouped(snapshot: Mapping[str, Any]) -> bool:
    """Whether to show the failures by kind and message shape (as the widget does)."""
    groups = snapshot.get("failure_groups") or []
    total = len(snapshot.get("failures") or []) + (snapshot.get("more_failures") or 0)
    return total > GROUP_AFTER and 0 < len(groups) < total


def by_index(failures: list) -> list:
    """Failures by item index; a worker's own (no index) first."""
    return sorted(failures, key=lambda f: -1 if f.get("index") is None else f["index"])


def group_items(group: dict) -> str:
    """`items 5, 22, 39` and `… +N more` past those listed."""
    items, more = group.get("items") or [], group["count"] - len(group.get("items") or [])
    listed = f"item{'s' if len(items) != 1 else ''} {', '.join(map(str, items))}" if items else ""
    return f"{listed}{' ' if listed else ''}… +{more} more" if more > 0 else listed


def group_line(group: dict) -> str:
    """`  ✗ error ×7: ValueError: shard … is corrupt (items 5, 22, 39)`."""
    return (f"  ✗ {inert(group['kind'])} ×{group['count']}: {inert(group['shape'])}"
            f" ({group_items(group)})")


def failure_lines(snapshot: Mapping[str, Any]) -> list[str]:
    """The failures as lines: by group when there are many, else each, by item index."""
    if grouped(snapshot):
        return [group_line(g) for g in snapshot["failure_groups"]]
    lines = [failure_line(f) for f in by_index(snapshot.get("failures", []))]
    if snapshot.get("more_failures"):
        lines.append(f"  … {snapshot['more_failures']} more failures")
    return lines


def failure_traceback(failure: dict, indent: str = "") -> str:
    """A failure's traceback, its lines kept, every other control character escaped; with
    `indent`, no line of it can pass for a line of the log's own."""
    traceback = inert(failure["traceback"].rstrip(), multiline=True)
    return textwrap.indent(traceback, indent, lambda line: True) if indent else traceback


def plain(snapshot: Mapping[str, Any]) -> str:
    """The whole panel as text: what a saved notebook shows where widgets cannot render."""
    lines = [overall_line(snapshot), "  " + counts(snapshot.get("overall") or {})]
    if snapshot.get("status") == "running":
        lines += [lane_line(lane) for lane in snapshot.get("lanes", [])]
        if snapshot.get("more_lanes"):
            lines.append(f"  … {snapshot['more_lanes']} more lanes")
    elif lanes_summary(snapshot):  # over: the lanes fold into one line, failures follow
        lines.append("  " + lanes_summary(snapshot))
    return "\n".join(lines + failure_lines(snapshot))


def html(snapshot: Mapping[str, Any]) -> str:
    """A static HTML rendering (every user string escaped), for viewers without JS."""
    esc = _html.escape
    o = snapshot.get("overall") or {}
    done, total = finished(o), o.get("total")
    width = 100 if total == 0 else (100 * done / total if total else 0)
    width = min(max(width, 0), 100)  # a bar past its total (or huge counts) stays in its box
    colour = {"failed": "#d32f2f", "cancelled": "#9e9e9e", "done": "#388e3c"}.get(
        snapshot.get("status"), "#1976d2")  # type: ignore[arg-type]  # no status: the default
    rows = [
        f'<div style="font-weight:600">{esc(overall_line(snapshot))}</div>',
        '<div style="background:#e0e0e0;height:6px;border-radius:3px;margin:4px 0">'
        f'<div style="width:{width:.1f}%;background:{colour};height:6px;border-radius:3px">'
        "</div></div>",
        f"<div>{esc(counts(o))}</div>",
    ]
    summary = lanes_summary(snapshot)
    if summary:  # the lanes, folded into one line that opens to them
        lanes = "".join(f"<div>{esc(lane_line(lane).strip())}</div>"
                        for lane in snapshot.get("lanes", []))
        rows.append(f'<details class="poolbars-lanes"><summary>{esc(summary)}</summary>'
                    f'<div style="color:#616161">{lanes}</div></details>')
    if grouped(snapshot):
        rows += [f'<div style="color:#d32f2f;font-weight:600">{esc(group_line(g).strip())}</div>'
                 for g in snapshot["failure_groups"]]
    for failure in by_index(snapshot.get("failures", [])):
        rows.append(
            f'<details style="color:#d32f2f"><summary>{esc(failure_line(failure).strip())}'
            '</summary><pre style="white-space:pre-wrap">'
            f'{esc(failure_traceback(failure))}</pre></details>')
    if snapshot.get("more_failures"):
        rows.append(f"<div>… {snapshot['more_failures']} more failures</div>")
    return ('<div class="poolbars-static" style="font-family:sans-serif;font-size:13px;'
            'overflow-wrap:anywhere">' + "".join(rows) + "</div>")
