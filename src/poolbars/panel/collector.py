"""The collector: one thread that drains the channel's queue into `PanelState` and pushes
snapshots to a view, at most once per `interval`, plus one final push on `stop()`.

It is the only writer of its `PanelState`. Items on the queue are batches: a `list` of
events (from this process, trusted: named or in their wire form), or `bytes` (from
another process, pickled). A batch from another process is folded only if it loads as a
list of well-formed events in their wire form (plain tuples, see events.py) of the kinds other processes send (BAR and MESSAGE from reporters, START from a cluster's
workers; each field of its type); anything else -- garbage, a pickle of another shape or
one that raises on load, a wrong field, an event only the parent sends -- is dropped
whole and counted in `PanelState.dropped`, and the panel goes on. (Loading a pickle can
run code: the channel's authkey, not this check, keeps strangers out.)
"""

from __future__ import annotations

import math
import numbers
import pickle
import queue
import threading
import time
from typing import TYPE_CHECKING, Callable

from ..protocol import events as ev
from .state import PanelState

if TYPE_CHECKING:
    from .snapshot import Snapshot

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

    def __init__(self, source: queue.Queue, state: PanelState, push: Callable[[Snapshot], None],
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
        if not isinstance(batch, list):  # from another process: fold it only if well formed
            batch = readable(batch)
            if batch is None:
                with self.state.lock:
                    self.state.dropped += 1
                    self.state.version += 1
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


def _number(value) -> bool:
    return isinstance(value, numbers.Real)


def _number_or_none(value) -> bool:
    return value is None or isinstance(value, numbers.Real)


def _time(value) -> bool:  # what time.time() gives: anything else breaks the clocks shown
    return type(value) is float and math.isfinite(value)


def _source(value) -> bool:
    return isinstance(value, (int, str))


def _task(value) -> bool:
    return value is None or isinstance(value, int)


def _pairs(value) -> bool:
    return isinstance(value, tuple) and all(
        type(pair) is tuple and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        for pair in value)


def _is(kind: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, kind)


# the events another process may send, and a check for each of their fields (see events.py)
_FIELDS = {
    ev.START: (_source, _is(int), _is(int), _is(str), _time),  # from cluster.run_chunk
    ev.BAR: (_source, _is(int), _task, _is(str), _number, _number_or_none, _is(str), _pairs,
             _is(bool), _time, _pairs),
    ev.MESSAGE: (_source, _task, _is(str)),
}
# how many of a kind's last fields have a default (an older sender leaves them out)
_OPTIONAL = {ev.BAR: 1}  # meta


def well_formed(event) -> bool:
    """True if `event` is of a kind other processes send, with the fields events.py gives."""
    checks = _FIELDS.get(event[0]) if type(event) is tuple and event else None
    if checks is None:
        return False
    fields = len(event) - 1
    return (len(checks) - _OPTIONAL.get(event[0], 0) <= fields <= len(checks)
            and all(check(value) for check, value in zip(checks, event[1:])))


def readable(item) -> list | None:
    """The events of a batch from another process, or None if it is malformed."""
    if not isinstance(item, (bytes, bytearray)):
        return None
    try:
        batch = pickle.loads(item)
    except (Exception, SystemExit):  # garbage, or a pickle whose loading raises
        return None
    if type(batch) is not list or not all(map(well_formed, batch)):
        return None
    return batch
