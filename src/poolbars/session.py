"""A Session is one open panel: its state, its view, the collector between them, and
(for pools) the channel other processes report through.

Opened in the main thread (so the view lands in the running cell's output); `close()`
flushes, pushes the final snapshot and joins the collector before it returns, so an
executed notebook saves the final state.
"""

from __future__ import annotations

import queue
import threading
import time

from .channel import Channel
from . import events as ev
from .collector import Collector
from .display import open_view
from .reporting import Reporter
from .snapshot import PanelStatus
from .state import PanelState


class Session:
    _open: list[Session] = []  # sessions of this process, innermost last
    _open_lock = threading.Lock()

    def __init__(self, title: str = "", display="auto", serve: bool = False, unit: str = "it",
                 stale_after: float | None = None, host: str = "127.0.0.1", port: int = 0,
                 authkey: bytes | None = None):
        self.channel = Channel(host, port, authkey) if serve else None
        self.queue: queue.Queue = self.channel.queue if self.channel else queue.Queue()
        self.state = PanelState(title or "", unit=unit, stale_after=stale_after)
        self.view = open_view(display, title or "")
        self.reporter = Reporter(self.queue.put, source="main")
        self.reporter.start_timer()
        self.collector = Collector(self.queue, self.state, self.view.update)
        self.collector.start()
        self.closed = False
        with Session._open_lock:
            Session._open.append(self)

    def on_stop(self, callback) -> None:
        """Call `callback` when the panel's Stop button is pressed (widget view only)."""
        panel = getattr(self.view, "panel", None)
        if panel is not None:
            panel.on_stop = callback

    @classmethod
    def active(cls) -> Session | None:
        """The innermost open session of this process, if any."""
        return cls._open[-1] if cls._open else None

    def post(self, batch: list) -> None:
        """Queue lifecycle events from this process."""
        self.queue.put(batch)

    def close(self, status: PanelStatus = "done") -> None:
        """End the run with `status`, push the final snapshot to the view and stop.
        Idempotent."""
        if self.closed:
            return
        self.closed = True
        with Session._open_lock:
            if self in Session._open:
                Session._open.remove(self)
        self.reporter.stop_timer()
        self.reporter.flush()
        self.post([ev.End(status, time.time())])
        self.collector.stop()
        final = self.state.snapshot()
        final["timeline"] = self.state.timeline_view()
        self.view.close(final)
        if self.channel is not None:
            self.channel.close()
