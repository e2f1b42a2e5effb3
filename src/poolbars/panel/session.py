"""A Session is one open panel: its state, its view, the collector between them, and
(for pools) the channel other processes report through.

Opened in the main thread (so the view lands in the running cell's output); `close()`
flushes, pushes the final snapshot and joins the collector before it returns, so an
executed notebook saves the final state.
"""

from __future__ import annotations

import queue
import time

from ..progress.reporting import Reporter
from ..protocol import events as ev
from ..protocol.channel import Channel
from ..views.display import open_view
from . import panels
from .collector import Collector
from .snapshot import PanelStatus
from .state import PanelState


class Session:
    """One open panel; in this process's `panels.THIS_PROCESS` while open."""

    def __init__(self, title: str = "", display="auto", serve: bool = False, unit: str = "it",
                 stale_after: float | None = None, host: str = "127.0.0.1", port: int = 0,
                 authkey: bytes | None = None, keep_finished: int | None = None):
        self.channel = Channel(host, port, authkey) if serve else None
        self.queue: queue.Queue = self.channel.queue if self.channel else queue.Queue()
        self.state = PanelState(title or "", unit=unit, stale_after=stale_after,
                                keep_finished=keep_finished)
        self.view = open_view(display, title or "")
        self.reporter = Reporter(self.queue.put, source="main")
        self.reporter.start_timer()
        self.collector = Collector(self.queue, self.state, self.view.update)
        self.collector.start()
        self.closed = False
        panels.THIS_PROCESS.enter(self)

    def on_stop(self, callback) -> None:
        """Call `callback` when the panel's Stop button is pressed (widget view only)."""
        panel = getattr(self.view, "panel", None)
        if panel is not None:
            panel.on_stop = callback

    def post(self, batch: list) -> None:
        """Queue lifecycle events from this process."""
        self.queue.put(batch)

    def close(self, status: PanelStatus = "done") -> None:
        """End the run with `status`, push the final snapshot to the view and stop.
        Idempotent."""
        if self.closed:
            return
        self.closed = True
        panels.THIS_PROCESS.leave(self)
        self.reporter.stop_timer()
        self.reporter.flush()
        self.post([ev.End(status, time.time())])
        self.collector.stop()
        final = self.state.snapshot()
        final["timeline"] = self.state.timeline_view()
        self.view.close(final)
        if self.channel is not None:
            self.channel.close()


def _open_own(title: str) -> Session:
    return Session(title=title)


# a bar made in the main process when no panel is open opens one of its own (reporting.py)
panels.THIS_PROCESS.opener = _open_own
