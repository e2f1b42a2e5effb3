"""PanelState: everything a view shows, folded from events by one writer (the collector).

`PanelState.fold(event)` applies one event (see `events.py`); each kind has one method
that writes its part (the fold table), the lanes' part through `lanes.Lanes`.
`snapshot(now)` returns the bounded, JSON-ready dict typed in `snapshot.py` (built by
`readout.py`). Finished items are only counted, never kept, so memory stays flat however
many items a run has; the bounds are in `limits.py`.
"""

from __future__ import annotations

import threading
import time
import collections
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from ..protocol import events as ev
from ..protocol import kinds
from . import readout
from . import snapshot as snap
from .groups import FailureGroups
from .lanes import SETUP_FAILED, BarState, Chunk, Lanes
from .limits import (MAX_ERROR_CHARS, MAX_FAILURES, MAX_INNER, clip, clip_meta, clip_postfix,
                     clip_tail, json_number)
from .timeline import Throughput, Timeline

RATE_WINDOW = 30.0


@dataclass
class FailureRow:
    index: int | None
    label: str
    kind: snap.FailureKind
    error: str
    traceback: str  # its end, clipped when folded
    worker: str | None
    attempts: int

    def to_dict(self) -> snap.Failure:
        return {"index": self.index, "label": self.label, "kind": self.kind,
                "error": self.error, "traceback": self.traceback,
                "worker": self.worker, "attempts": self.attempts}


class PanelState:
    """The state of one panel. Only the collector thread calls `fold`."""

    def __init__(self, title: str = "", unit: str = "it", stale_after: float | None = None,
                 keep_finished: int | None = None):
        self.title = clip(title)
        self.keep_finished = keep_finished  # finished bars kept (the latest), None: all
        self.unit = clip(unit)
        self.stale_after = stale_after  # a running task with no news this long is stalled
        self.lock = threading.Lock()  # held by the collector while folding a batch
        self.status: snap.PanelStatus = "running"
        self.seen = 0
        self.total: int | None = None
        self.done = 0
        self.restored = 0  # done items that came back from a journal: none ran, no rate
        self.failed = 0
        self.timed_out = 0
        self.crashed = 0
        self.cancelled = 0
        self.chunks: dict[str, Chunk] = {}  # lane key -> [first, count, label, settled]
        self.retrying = 0
        self.failures: list[FailureRow] = []
        self.failure_count = 0
        self.groups = FailureGroups()  # every item failure, by kind and message shape
        self.dropped = 0  # malformed batches from other processes (counted by the collector)
        self.bars_finished = 0  # bars closed, all sources
        self.bar_units = 0.0  # the final counts of those bars, summed
        self.inner: dict[int, tuple] = {}  # task index -> (n, total, meta) of its last closed bar
        self.timeline = Timeline()
        self.stoppable = False  # background mode: the Stop button may be used
        self.stopping = False
        self.throughput = Throughput()
        self.lane_throughput: dict[str, Throughput] = collections.defaultdict(Throughput)
        self.lanes = Lanes()
        self.started: float | None = None
        self.ended: float | None = None
        self.version = 0
        self._rate_samples: deque = deque()
        # the fold table: the one method that writes each event's part of the state
        self._by_kind: dict[str, Callable[..., None]] = {
            ev.WORKER: self._worker, ev.WORKER_FAIL: self._worker_fail, ev.SEEN: self._seen,
            ev.START: self._start, ev.DONE: self._done, ev.FAIL: self._fail, ev.RETRY: self._retry,
            ev.CANCEL: self._cancel, ev.END: self._end, ev.BAR: self._bar,
            ev.MESSAGE: self._message, ev.CONTROL: self._control, ev.CLEAR: self._clear,
        }
        self._by_type = {ev.TYPE[kind]: folder for kind, folder in self._by_kind.items()}

    # -- folding -----------------------------------------------------------------------

    def fold(self, event: tuple[Any, ...]) -> None:  # an ev.Event is a tuple
        """Apply one event: a named type, or its wire form `(KIND, field, …)`. Unknown
        kinds are ignored (a newer sender, an older panel)."""
        if type(event) is tuple:  # the wire form: from another process, or a plain sender
            folder = self._by_kind.get(event[0])
            if folder is None:
                return
            folder(*event[1:])
        else:
            folder = self._by_type.get(type(event))
            if folder is None:
                return
            folder(*event)
        self.version += 1

    def _mark_started(self, t):
        if self.started is None:
            self.started = t if t is not None else time.time()

    def _worker(self, worker, state: snap.WorkerState, pid=None):
        self.lanes.set_worker(worker, state, pid)

    def _worker_fail(self, worker, pid, kind: snap.WorkerFailureKind, error, traceback, t):
        """The worker itself failed (kind "setup" or "teardown"): a failure row for the
        worker, not an item; after a setup, its lane shows "setup failed" and why."""
        name = f"worker {worker}"
        self.failure_count += 1
        if len(self.failures) < MAX_FAILURES:  # the pid tells apart the worker's processes
            self.failures.append(FailureRow(None, f"{name} (pid {pid})", kind,
                                            clip(error, 1000), traceback, name, 1))
        if kind == "setup":
            self.lanes.set_worker(worker, SETUP_FAILED).message = clip(error)

    def _seen(self, count, total_change=None):
        self.seen += count
        if total_change is not None:  # every pool's items: pools may share the panel
            self.total = (self.total or 0) + total_change

    def _start(self, worker, first, count, label, t, retried=0):
        self._mark_started(t)
        label = clip(label)
        key = str(worker)
        self.chunks[key] = [first, count, label, 0]
        self.retrying = max(self.retrying - retried, 0)
        self.timeline.start(key, label, count, t)
        lane = self.lanes.get(key)
        if lane is not None:
            lane.state = "busy"
            lane.switch_task(first, label, t)
            if lane.first is None:
                lane.first = t

    def _settle(self, worker, index) -> bool:
        """Count `index` as settled in its worker's chunk; True if it was running."""
        chunk = self.chunks.get(str(worker))
        if chunk is not None and chunk[0] <= index < chunk[0] + chunk[1]:
            chunk[3] += 1
            return True
        return False

    def _done(self, worker, count, t):
        if worker is None and count:  # restored from a journal (Book.restore): nothing ran
            self.done += count
            self.restored += count
            return
        key = str(worker)
        self.chunks.pop(key, None)
        self.timeline.end(key, t)
        if count:
            self.throughput.add(count, t)
            self.lane_throughput[key].add(count, t)
        self.done += count
        lane = self.lanes.get(key)
        if lane is not None:
            lane.done += count
        self._sample_rate(t)

    def _fail(self, worker, index, label, kind, error, traceback, attempts, t):
        self._settle(worker, index)
        error = clip(error, MAX_ERROR_CHARS)
        self.timeline.mark(str(worker), kinds.status(kind), error)
        counter = kinds.outcome(kind).counter
        setattr(self, counter, getattr(self, counter) + 1)
        lane = self.lanes.get(str(worker))
        if lane is not None:
            lane.failed += 1
        self.failure_count += 1
        self.groups.add(kind, index, error)
        if len(self.failures) < MAX_FAILURES:
            name = f"worker {worker}" if worker is not None else None
            self.failures.append(FailureRow(index, clip(label), kind, error,
                                            clip_tail(traceback), name, attempts))
        self._sample_rate(t)

    def _retry(self, worker, index, label, kind, error, attempts, t):
        self._settle(worker, index)
        self.timeline.mark(str(worker), "retried", clip(error, MAX_ERROR_CHARS))
        self.retrying += 1

    def _cancel(self, count, workers=()):
        for worker in workers:
            self.timeline.mark(str(worker), "cancelled")
            self.timeline.end(str(worker), time.time())
            chunk = self.chunks.pop(str(worker), None)
            if chunk is not None:
                count += chunk[1] - chunk[3]
        self.cancelled += count

    def _control(self, stoppable, stopping):
        self.stoppable, self.stopping = stoppable, stopping

    def _end(self, status: snap.PanelStatus, t=None):
        self.status = status
        self.ended = t if t is not None else time.time()
        self.chunks.clear()  # the run is over: nothing runs any more
        for key in list(self.timeline.lanes):
            self.timeline.end(key, self.ended, "cancelled")
        self.lanes.workers_exited()

    def _bar(self, source, bar_id, task, desc, n, total, unit, postfix, closed, t, meta=()):
        self._mark_started(t)
        source = clip(source) if isinstance(source, str) else source
        n, total = json_number(n), json_number(total)
        meta = clip_meta(meta) if meta else ()
        if closed:
            self.bars_finished += 1
            self.bar_units += n or 0
            if task is not None and len(self.inner) < MAX_INNER:
                self.inner[task] = (n, total, meta)
        lane = self.lanes.for_task(source, bar_id, task, t, self.chunks)
        if lane is None:
            return
        bar = lane.bars.get(bar_id)
        if bar is None:
            bar = lane.bars[bar_id] = BarState()
        bar.desc, bar.n, bar.total, bar.unit = clip(desc), n, total, clip(unit)
        bar.postfix, bar.closed, bar.meta = clip_postfix(postfix), closed, meta
        lane.updated = t
        if not lane.is_worker:  # a bar of its own: its lane shows its status
            lane.state = "done" if closed else "running"
            if closed and self.keep_finished is not None:
                self.lanes.keep_finished(self.keep_finished)

    def _clear(self, status, folded=None):
        for key in self.lanes.clear_finished(status):
            self.lane_throughput.pop(key, None)
        if folded is not None:
            folded.set()

    def _message(self, source, task, text):
        source = clip(source) if isinstance(source, str) else source
        self.lanes.show_message(source, task, text, self.chunks)

    # -- reading -----------------------------------------------------------------------

    def _sample_rate(self, t):
        samples = self._rate_samples
        finished = self.ran
        t = t if t is not None else time.time()
        samples.append((t, finished))
        while len(samples) > 2 and t - samples[1][0] > RATE_WINDOW:
            samples.popleft()

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.timed_out + self.crashed

    @property
    def ran(self) -> int:
        """Items that ran to an end in this run (not those restored from a journal)."""
        return self.finished - self.restored

    def rate(self, now: float) -> float | None:
        """Items run to an end per second over the last RATE_WINDOW seconds (restored ones are not)."""
        if not self._rate_samples or self.started is None:
            return None
        t0, f0 = self._rate_samples[0]
        t1, f1 = self._rate_samples[-1]
        if t1 - t0 >= 1.0 and f1 > f0:
            return (f1 - f0) / (t1 - t0)
        spent = max(t1, now if self.ended is None else self.ended) - self.started
        return self.ran / spent if spent > 0 and self.ran else None

    @property
    def running(self) -> int:
        return sum(chunk[1] - chunk[3] for chunk in self.chunks.values())

    def counts(self) -> dict:
        running = self.running
        settled = self.finished + self.cancelled + running
        known = self.total if self.total is not None else None
        pending = None if known is None else max(known - settled, 0)
        return {"done": self.done, "failed": self.failed, "timed_out": self.timed_out,
                "crashed": self.crashed, "cancelled": self.cancelled, "running": running,
                "retrying": self.retrying, "pending": pending, "total": known}

    def snapshot(self, now: float | None = None) -> snap.Snapshot:
        """The bounded, JSON-ready view of this state (see snapshot.py, docs/snapshot.md)."""
        return readout.snapshot(self, now)

    def timeline_view(self, now: float | None = None) -> snap.Timeline:
        """The `timeline` trait: blocks per lane, times relative to the first start."""
        return readout.timeline(self, now)
