"""The collector: one thread that drains the channel's queue into `PanelState` and pushes
snapshots to a view, at most once per `interval`, plus one final push on `stop()`.

It is the only writer of its `PanelState`. Items on the queue are batches: `bytes` (from
another process, pickled) or a `list` of event tuples (from this process).
"""

from __future__ import annotations

import pickle
import queue
import threading
import time
from typing import Callable

from . import events as ev
from .state import PanelState

PUSH_INTERVAL = 0.1  # at most ~10 snapshots a second reach the view
HEARTBEAT = 1.0  # push at least this often while running, so clocks tick on screen
TIMELINE_EVERY = 1.0  # the timeline is bigger and changes slowly: at most once a second
DRAIN_BUDGET = 0.05  # seconds of folding before the collector checks its throttle again


class Throttle:
    """Allows one action per `interval` of `clock` time."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self.last = -float("inf")

    def wait_time(self) -> float:
        """Seconds until the next action is allowed (0 if it is allowed now)."""
        return max(self.last + self.interval - self.clock(), 0.0)

    def ready(self) -> bool:
        return self.wait_time() == 0.0

    def mark(self) -> None:
        self.last = self.clock()


class Collector:
    """Drains `source` into `state` on a background thread and feeds `push(snapshot)`."""

    def __init__(self, source: queue.Queue, state: PanelState, push: Callable[[dict], None],
                 interval: float = PUSH_INTERVAL, clock: Callable[[], float] = time.monotonic,
                 heartbeat: float = HEARTBEAT):
        self.source = source
        self.state = state
        self.push = push
        self.throttle = Throttle(interval, clock)
        self.clock = clock
        self.heartbeat = heartbeat
        self.pushes = 0
        self.folded = 0
        self.errors: list[BaseException] = []
        self._pushed_version = -1
        self._timeline_at = -float("inf")
        self._thread = threading.Thread(target=self._run, name="poolbars-collector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Drain what is queued, push the final snapshot, and join the thread."""
        if self._thread.is_alive():
            self.source.put(ev.STOP)
            self._thread.join()
        else:  # never started (or died): do the final work here
            self._drain(block=False)
            self._push(final=True)

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._drain(block=True):
                if self._due():
                    self._push()
            self._push(final=True)
        except BaseException as exc:  # keep the reason; stop() then pushes what there is
            self.errors.append(exc)
            raise

    def _due(self) -> bool:
        if not self.throttle.ready():
            return False
        changed = self.state.version != self._pushed_version
        running = self.state.status == "running" and self.state.started is not None
        stale = self.clock() - self.throttle.last >= self.heartbeat
        return changed or (running and stale)

    def _drain(self, block: bool) -> bool:
        """Fold queued batches for up to DRAIN_BUDGET; False once STOP was seen.

        Blocks (when `block`) only until the next push could be due."""
        deadline = self.clock() + DRAIN_BUDGET
        timeout = self._wait_time() if block else 0.0
        while True:
            try:
                item = self.source.get(timeout=timeout) if timeout > 0 else self.source.get_nowait()
            except queue.Empty:
                return True
            if isinstance(item, str):  # ev.STOP: the only str ever queued
                self._drain_rest()
                return False
            self.fold_batch(item)
            timeout = 0.0
            if self.clock() >= deadline and self.throttle.ready():
                return True

    def _drain_rest(self) -> None:
        while True:
            try:
                item = self.source.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, str):
                self.fold_batch(item)

    def _wait_time(self) -> float:
        if self.state.version != self._pushed_version:
            return max(self.throttle.wait_time(), 0.001)
        beat = self.heartbeat - (self.clock() - self.throttle.last)
        return max(beat, self.throttle.wait_time(), 0.001)

    def fold_batch(self, batch) -> None:
        if isinstance(batch, (bytes, bytearray)):
            try:
                batch = pickle.loads(batch)
            except Exception:  # a batch we cannot read must not stop the panel
                return
        fold = self.state.fold
        with self.state.lock:
            for event in batch:
                fold(event)
        self.folded += len(batch)

    def _push(self, final: bool = False) -> None:
        self.throttle.mark()
        self._pushed_version = self.state.version
        try:
            snapshot = self.state.snapshot()
            now = self.clock()
            if final or now - self._timeline_at >= TIMELINE_EVERY:
                self._timeline_at = now
                snapshot["timeline"] = self.state.timeline_view()
            self.push(snapshot)
            self.pushes += 1
        except Exception as exc:  # a view that fails once should not end the run
            self.errors.append(exc)
