"""Views outside notebooks: a live rich panel for terminals, plain lines for logs.

Both receive snapshots (see docs/snapshot.md) from the collector thread via `update`,
and the final one via `close`, which leaves the final state on screen. Task text goes
through `text.inert` and, in rich, only ever into `Text` (never markup): it cannot move
the cursor, retitle the window, make a link or forge a line."""

from __future__ import annotations

import sys
import time

from ..panel.snapshot import LaneState, PanelStatus
from . import text

LOG_INTERVAL = 5.0  # seconds between progress lines in a log
STATUS_STYLE: dict[PanelStatus, str] = {"running": "blue", "done": "green", "failed": "red",
                                         "cancelled": "yellow"}
NAME_WIDTH = 40  # the first column: the panel's title, a lane's name and state
LANE_STYLE: dict[LaneState, str] = {  # every LaneState (tests/test_views.py)
    "busy": "blue", "idle": "dim", "starting": "dim", "exited": "dim", "crashed": "red",
    "setup failed": "red", "running": "blue", "done": "green"}


class TerminalView:
    """A live multi-bar panel drawn with rich, redrawn only when a snapshot arrives."""

    def __init__(self, title: str, console=None):
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(file=sys.stderr)
        self.live = Live(console=self.console, auto_refresh=False, transient=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def update(self, snapshot: dict) -> None:
        self.live.update(render(snapshot), refresh=True)

    def close(self, snapshot: dict) -> None:
        from rich.text import Text

        # draw the final frame before stopping: Live.stop() alone may skip it
        self.live.update(render(snapshot), refresh=True)
        self.live.stop()
        for failure in snapshot.get("failures", []):
            self.console.print(Text.assemble((f"✗ {text.inert(failure['kind'])}", "red"),
                                             f" {text.failure_where(failure)}:"))
            self.console.print(Text(text.failure_traceback(failure, indent="  ")))


def render(snapshot: dict):
    """The rich renderable for one snapshot."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    status = snapshot.get("status", "running")
    o = snapshot.get("overall") or {}
    done, total = text.finished(o), o.get("total")
    grid = Table.grid(padding=(0, 1))
    # the text columns may be narrowed (rich narrows only columns that wrap), the bars'
    # never; every cell is one line (`_line`) so task text never wraps a row
    grid.add_column(overflow="ellipsis", max_width=NAME_WIDTH)
    grid.add_column(width=24, no_wrap=True, overflow="ellipsis")
    grid.add_column(overflow="ellipsis")
    style = STATUS_STYLE.get(status, "blue")
    bar = (_overall_bar(o, status, total) if total else
           ProgressBar(total=None, completed=done, width=24, complete_style=style))
    grid.add_row(_line(text.inert(snapshot.get("title") or "poolbars"), "bold"), bar,
                 _line(f"{text.progress(snapshot)}  [{text.inert(status)}]", style))
    grid.add_row("", "", _line(text.counts(o), "dim"))
    if status == "running":  # many lanes: the failing and busy ones, the rest counted
        lanes, more = text.shown_lanes(snapshot)
        for lane in lanes:
            grid.add_row(*_lane_cells(lane, ProgressBar))
        if more:
            grid.add_row(_line(f"+{more} more", "dim"), "", "")
    elif text.lanes_summary(snapshot):  # over: the lanes fold into one line, failures next
        grid.add_row("", "", _line(text.lanes_summary(snapshot), "dim"))
    _failure_rows(grid, snapshot)
    return grid


def _failure_rows(grid, snapshot: dict) -> None:
    """One row per failure by item index, or per group of them when there are many."""
    if text.grouped(snapshot):
        for group in snapshot["failure_groups"]:
            grid.add_row(_line(f"✗ {text.inert(group['kind'])} ×{group['count']}", "red"),
                         _line(text.group_items(group)), _line(text.inert(group["shape"]), "red"))
        return
    for failure in text.by_index(snapshot.get("failures", [])):
        grid.add_row(_line(f"✗ {text.inert(failure['kind'])}", "red"),
                     _line(text.failure_where(failure)),
                     _line(text.inert(failure["error"]), "red"))
    if snapshot.get("more_failures"):
        grid.add_row(_line(f"+{snapshot['more_failures']} more failures", "red"), "", "")


def _overall_bar(o: dict, status: str, total, width: int = 24):
    """The overall bar in parts: done items blue while running and green after (also in
    a failed or cancelled run), failed items red, cancelled ones yellow."""
    from rich.text import Text

    done_style = "blue" if status == "running" else "green"
    failed = text.finished(o) - o.get("done", 0)
    bar, used = Text(), 0
    for count, style in ((o.get("done", 0), done_style), (failed, "red"),
                         (o.get("cancelled", 0), "yellow")):
        share = min(max(count / total, 0.0), 1.0)  # so huge counts never overflow
        cells = min(round(width * share), width - used)
        bar.append("━" * cells, style=style)
        used += cells
    bar.append("━" * (width - used), style="grey23")
    return bar


def _lane_cells(lane: dict, ProgressBar):
    style = LANE_STYLE.get(lane["state"], "blue")
    name = _line(f"{text.inert(lane['name'])} {text.inert(lane['state'])}", style)
    total, n = lane.get("total"), lane.get("n") or 0
    # the bar in per mille: rich multiplies counts by its width, which huge counts overflow
    share = min(max(n / total, 0.0), 1.0) if total else None
    bar = ProgressBar(total=None if share is None else 1000,
                      completed=n if share is None else round(share * 1000), width=24,
                      complete_style=style, finished_style="green")
    if lane.get("task") is None and not lane.get("desc"):
        bar = _line("")
    return name, bar, _detail_cell(lane)


def _detail_cell(lane: dict):
    """What the lane's task is at, cut where it does not fit, then its numbers (done,
    failed, time, rate, ETA), never cut."""
    from rich.table import Table

    cell = Table.grid(padding=(0, 1))
    cell.add_column(overflow="ellipsis")
    cell.add_column(no_wrap=True)
    cell.add_row(_line(text.lane_detail(lane)), _line(text.lane_numbers(lane), "dim"))
    return cell


def _line(plain: str, style: str = ""):
    """A cell of one line, cut with "…" where it does not fit. `plain` is shown as it is:
    rich `Text` reads no markup."""
    from rich.text import Text

    return Text(plain, style=style, no_wrap=True, overflow="ellipsis")


class LogView:
    """Plain lines for non-interactive output: now and then a progress line, each new
    failure once, each new message of a lane of its own (the main process's), and a
    final summary. No carriage returns; task text never starts a line of its own."""

    def __init__(self, title: str, stream=None, interval: float = LOG_INTERVAL,
                 clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.interval = interval
        self.clock = clock
        self.last = clock()
        self.failures_shown = 0
        self.messages_shown: dict[str, str] = {}  # lane key -> the last message written
        self.bars_shown: set[str] = set()  # keys of the lanes whose finished bar was written

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def _new_failures(self, snapshot: dict) -> None:
        failures = snapshot.get("failures", [])
        for failure in failures[self.failures_shown:]:
            self._write(text.failure_line(failure).strip())
        self.failures_shown = max(self.failures_shown, len(failures))

    def _new_messages(self, snapshot: dict) -> None:
        # workers' messages are their tasks' passing status: only the panel shows them
        for lane in snapshot.get("lanes", []):
            message = lane.get("message")
            if message and text.own_lane(lane) and self.messages_shown.get(lane["key"]) != message:
                self.messages_shown[lane["key"]] = message
                self._write(text.message_line(lane))

    def _finished_bars(self, snapshot: dict) -> None:
        # a bar of its own lane (the main process's, a retrofitted program's) once, at its end
        for lane in snapshot.get("lanes", []):
            if lane["state"] == "done" and text.own_lane(lane) and lane["key"] not in self.bars_shown:
                self.bars_shown.add(lane["key"])
                self._write(text.lane_line(lane).strip())

    def update(self, snapshot: dict) -> None:
        self._new_failures(snapshot)
        self._new_messages(snapshot)
        self._finished_bars(snapshot)
        if self.clock() - self.last >= self.interval:
            self.last = self.clock()
            self._write(text.overall_line(snapshot) + " · " + text.counts(snapshot["overall"]))

    def close(self, snapshot: dict) -> None:
        self._new_failures(snapshot)
        self._new_messages(snapshot)
        self._finished_bars(snapshot)
        if _counted_anything(snapshot):  # a lone pb.message() leaves only its line
            self._write(text.overall_line(snapshot) + " · " + text.counts(snapshot["overall"]))
            if text.lanes_summary(snapshot):
                self._write(text.lanes_summary(snapshot))
        if text.grouped(snapshot):  # many failures: by kind and shape, then the first ones
            for group in snapshot["failure_groups"]:
                self._write(text.group_line(group).strip())
        for failure in snapshot.get("failures", []):
            self._write(f"--- {text.inert(failure['kind'])} in {text.failure_where(failure)} ---")
            self._write(text.failure_traceback(failure, indent="  "))
        if snapshot.get("more_failures"):
            self._write(f"… {snapshot['more_failures']} more failures")


def _counted_anything(snapshot: dict) -> bool:
    """True unless the panel only ever showed messages: no item, no bar, no failure."""
    o = snapshot.get("overall") or {}
    return (o.get("total") is not None or text.finished(o) > 0 or o.get("cancelled", 0) > 0
            or bool(snapshot.get("failures"))
            or any(lane.get("desc") or lane.get("n") or lane.get("total") is not None
                   or not text.own_lane(lane) for lane in snapshot.get("lanes", [])))
