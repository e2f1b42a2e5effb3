"""Views outside notebooks: a live rich panel for terminals, plain lines for logs.

Both receive snapshots (see docs/snapshot.md) from the collector thread via `update`,
and the final one via `close`, which leaves the final state on screen."""

from __future__ import annotations

import sys
import time

from . import text

LOG_INTERVAL = 5.0  # seconds between progress lines in a log
STATUS_STYLE = {"running": "blue", "done": "green", "failed": "red", "cancelled": "yellow"}
LANE_STYLE = {"busy": "blue", "idle": "dim", "starting": "dim", "exited": "dim",
              "crashed": "red", "setup failed": "red", "running": "blue", "done": "green"}


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
        # draw the final frame before stopping: Live.stop() alone may skip it
        self.live.update(render(snapshot), refresh=True)
        self.live.stop()
        for failure in snapshot.get("failures", []):
            self.console.print(f"[red]✗ {failure['kind']}[/] {text.failure_where(failure)}:",
                               markup=True, highlight=False)
            self.console.print(failure["traceback"].rstrip(), markup=False, highlight=False)


def render(snapshot: dict):
    """The rich renderable for one snapshot."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    status = snapshot.get("status", "running")
    o = snapshot.get("overall") or {}
    done, total = text.finished(o), o.get("total")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(width=24)
    grid.add_column(overflow="ellipsis", no_wrap=True)
    style = STATUS_STYLE.get(status, "blue")
    headline = text.overall_line(snapshot).split("] ", 1)[-1]
    bar = (_overall_bar(o, status, total) if total else
           ProgressBar(total=None, completed=done, width=24, complete_style=style))
    grid.add_row(Text(snapshot.get("title") or "poolbars", style="bold"), bar,
                 Text(f"{headline}  [{status}]", style=style))
    grid.add_row("", "", Text(text.counts(o), style="dim"))
    if status == "running":
        for lane in snapshot.get("lanes", []):
            grid.add_row(*_lane_cells(lane, ProgressBar, Text))
        if snapshot.get("more_lanes"):
            grid.add_row(Text(f"+{snapshot['more_lanes']} more", style="dim"), "", "")
    for failure in snapshot.get("failures", []):
        grid.add_row(Text(f"✗ {failure['kind']}", style="red"), Text(text.failure_where(failure)),
                     Text(failure["error"], style="red"))
    if snapshot.get("more_failures"):
        grid.add_row(Text(f"+{snapshot['more_failures']} more failures", style="red"), "", "")
    return grid


def _overall_bar(o: dict, status: str, total, width: int = 24):
    """The overall bar in parts: done items blue while running and green after (also in
    a failed or cancelled run), failed items red, cancelled ones yellow."""
    from rich.text import Text

    done_style = "blue" if status == "running" else "green"
    failed = text.finished(o) - o.get("done", 0)
    bar, used = Text(), 0
    for count, style in ((o.get("done", 0), done_style), (failed, "red"),
                         (o.get("cancelled", 0), "yellow")):
        cells = min(round(width * count / total), width - used)
        bar.append("━" * cells, style=style)
        used += cells
    bar.append("━" * (width - used), style="grey23")
    return bar


def _lane_cells(lane: dict, ProgressBar, Text):
    style = LANE_STYLE.get(lane["state"], "blue")
    name = Text(f"{lane['name']} {lane['state']}", style=style)
    total = lane.get("total")
    bar = ProgressBar(total=total or None, completed=lane.get("n") or 0, width=24,
                      complete_style=style, finished_style="green")
    if lane.get("task") is None and not lane.get("desc"):
        bar = Text("")
    parts = []
    if lane.get("task") is not None:
        parts.append(f"item {lane['task']}")
    if lane.get("desc"):
        parts.append(lane["desc"])
    if total is not None or lane.get("n"):
        parts.append(f"{text.number(lane.get('n'))}/{text.number(total)} {lane.get('unit', 'it')}")
    parts += [f"{k}={v}" for k, v in lane.get("postfix", [])]
    if lane.get("message"):
        parts.append(lane["message"])
    return name, bar, Text(" · ".join(parts))


class LogView:
    """Plain lines for non-interactive output: now and then a progress line, each new
    failure once, and a final summary. No carriage returns."""

    def __init__(self, title: str, stream=None, interval: float = LOG_INTERVAL,
                 clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.interval = interval
        self.clock = clock
        self.last = clock()
        self.failures_shown = 0

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def _new_failures(self, snapshot: dict) -> None:
        failures = snapshot.get("failures", [])
        for failure in failures[self.failures_shown:]:
            self._write(text.failure_line(failure).strip())
        self.failures_shown = max(self.failures_shown, len(failures))

    def update(self, snapshot: dict) -> None:
        self._new_failures(snapshot)
        if self.clock() - self.last >= self.interval:
            self.last = self.clock()
            self._write(text.overall_line(snapshot) + " · " + text.counts(snapshot["overall"]))

    def close(self, snapshot: dict) -> None:
        self._new_failures(snapshot)
        self._write(text.overall_line(snapshot) + " · " + text.counts(snapshot["overall"]))
        for failure in snapshot.get("failures", []):
            self._write(f"--- {failure['kind']} in {text.failure_where(failure)} ---")
            self._write(failure["traceback"].rstrip())
        if snapshot.get("more_failures"):
            self._write(f"… {snapshot['more_failures']} more failures")
