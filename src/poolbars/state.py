"""PanelState: everything a view shows, folded from events by one writer (the collector).

`PanelState.fold(event)` applies one event (see `events.py`); `snapshot(now)` returns
the bounded, JSON-ready dict typed in `snapshot.py` and described in `docs/snapshot.md`.
Finished items are only counted, never kept, so memory stays flat however many items a
run has.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import collections
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from . import events as ev
from . import kinds
from . import snapshot as snap
from .timeline import Throughput, Timeline

MAX_LANES = 64
MAX_FAILURES = 20
MAX_TRACEBACK_CHARS = 1500
MAX_TEXT_CHARS = 300  # a title, name, label, description, unit or message
MAX_ERROR_CHARS = 1000
MAX_POSTFIX = 20  # postfix pairs shown per bar
MAX_POSTFIX_CHARS = 100  # per postfix key or value
RATE_WINDOW = 30.0
MAX_INNER = 200_000  # tasks whose final bar is remembered for the run record
# workers send and the panel redraws every 0.1 s: a lane whose tasks are quicker than two
# of those would be blank at most redraws, so it keeps its latest news across tasks
QUICK_TASK_SECONDS = 0.2
MAX_EARLY = 16  # messages a lane holds for tasks whose START has not come yet
SETUP_FAILED: snap.WorkerState = "setup failed"  # the state of a worker retired by a failed setup


def clip(text, limit=MAX_TEXT_CHARS):
    """Shorten user text for display, keeping the start (None stays None)."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_tail(text, limit=MAX_TRACEBACK_CHARS):
    """Shorten a traceback for display, keeping the end (where the error is)."""
    text = str(text)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def clip_postfix(pairs) -> tuple:
    """At most MAX_POSTFIX `(key, value)` pairs, each side clipped."""
    return tuple((clip(k, MAX_POSTFIX_CHARS), clip(v, MAX_POSTFIX_CHARS))
                 for k, v in itertools.islice(pairs, MAX_POSTFIX))


def json_number(value):
    """`value` if JSON and the browser can hold it as a number, else None: NaN, the
    infinities and integers past the float range are no count a view can show (and the
    widget's JSON refuses NaN)."""
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return None
        return int(value)
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


@dataclass
class BarState:
    desc: str = ""
    n: float = 0
    total: float | None = None
    unit: str = "it"
    postfix: tuple = ()
    closed: bool = False


@dataclass
class Lane:
    """One row of the panel: a pool worker, or a bar reported from outside a pool."""

    key: str
    name: str
    state: snap.LaneState
    is_worker: bool = True
    pid: int | None = None
    task: int | None = None
    label: str | None = None
    started: float | None = None
    message: str = ""
    done: int = 0
    updated: float | None = None  # when this lane last had news of its task
    bars: dict = field(default_factory=dict)
    # messages that overtook their task's START (they come by another path, once): by task
    early: dict = field(default_factory=dict)

    def switch_task(self, index, label, t):
        quick = t is not None and self.started is not None and t - self.started < QUICK_TASK_SECONDS
        self.task, self.label, self.started, self.updated = index, label, t, t
        if not quick:
            self.message, self.bars = "", {}
        elif self.bars:  # the message and the bar shown stay (as ended) until the task's own
            key, bar = self._primary()  # type: ignore[misc]  # bars is not empty: never None
            bar.closed = True
            self.bars = {key: bar}
        if self.early and index is not None:  # (None: the lane goes idle)
            if index in self.early:
                self.message = self.early[index]
            self.early = {task: text for task, text in self.early.items() if task > index}

    def hold_early(self, task, text) -> None:
        """Keep the message of a task this lane has not started yet, for its START."""
        if len(self.early) >= MAX_EARLY:
            del self.early[min(self.early)]
        self.early[task] = text

    def primary_bar(self) -> BarState | None:
        """The bar to draw: the outermost open one, else the last one closed."""
        shown = self._primary()
        return None if shown is None else shown[1]

    def _primary(self) -> tuple | None:
        for key, bar in self.bars.items():
            if not bar.closed:
                return key, bar
        return next(reversed(self.bars.items()), None)


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

    def __init__(self, title: str = "", unit: str = "it", stale_after: float | None = None):
        self.title = clip(title)
        self.unit = clip(unit)
        self.stale_after = stale_after  # a running task with no news this long is stalled
        self.lock = threading.Lock()  # held by the collector while folding a batch
        self.status: snap.PanelStatus = "running"
        self.seen = 0
        self.total: int | None = None
        self.done = 0
        self.failed = 0
        self.timed_out = 0
        self.crashed = 0
        self.cancelled = 0
        self.chunks: dict[str, list] = {}  # lane key -> [first, count, label, settled]
        self.retrying = 0
        self.failures: list[FailureRow] = []
        self.failure_count = 0
        self.dropped = 0  # malformed batches from other processes (counted by the collector)
        self.bars_finished = 0  # bars closed, all sources
        self.bar_units = 0.0  # the final counts of those bars, summed
        self.inner: dict[int, tuple] = {}  # task index -> (n, total) of its last closed bar
        self.timeline = Timeline()
        self.stoppable = False  # background mode: the Stop button may be used
        self.stopping = False
        self.throughput = Throughput()
        self.lane_throughput: dict[str, Throughput] = collections.defaultdict(Throughput)
        self.lanes: dict[str, Lane] = {}
        self.started: float | None = None
        self.ended: float | None = None
        self.version = 0
        self._rate_samples: deque = deque()
        # the fold table: the one method that writes each event's part of the state
        self._by_kind: dict[str, Callable[..., None]] = {
            ev.WORKER: self._worker, ev.WORKER_FAIL: self._worker_fail, ev.SEEN: self._seen,
            ev.START: self._start, ev.DONE: self._done, ev.FAIL: self._fail, ev.RETRY: self._retry,
            ev.CANCEL: self._cancel, ev.END: self._end, ev.BAR: self._bar,
            ev.MESSAGE: self._message, ev.CONTROL: self._control,
        }
        self._by_type = {ev.TYPE[kind]: folder for kind, folder in self._by_kind.items()}

    # -- folding -----------------------------------------------------------------------

    def fold(self, event: tuple[Any, ...]) -> None:  # an ev.Event is a tuple
        """Apply one event: a named type, or its wire form `(KIND, field, …)`. Unknown
        kinds are ignored (a newer sender, an older panel)."""
        folder = self._by_type.get(type(event))
        if folder is not None:
            folder(*event)
        else:  # the wire form: from another process, or a sender that builds plain tuples
            folder = self._by_kind.get(event[0])
            if folder is None:
                return
            folder(*event[1:])
        self.version += 1

    def _mark_started(self, t):
        if self.started is None:
            self.started = t if t is not None else time.time()

    def _worker(self, worker, state: snap.WorkerState, pid=None):
        key = str(worker)
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = Lane(key, f"worker {worker}", state)
        if lane.state == SETUP_FAILED:
            return  # final: that worker was retired, and its lane says why
        lane.state = state
        if pid is not None:
            lane.pid = pid
        if state in ("idle", "exited", "crashed", "starting"):
            lane.switch_task(None, None, None)

    def _worker_fail(self, worker, pid, kind: snap.WorkerFailureKind, error, traceback, t):
        """The worker itself failed (kind "setup" or "teardown"): a failure row for the
        worker, not an item; after a setup, its lane shows "setup failed" and why."""
        name = f"worker {worker}"
        self.failure_count += 1
        if len(self.failures) < MAX_FAILURES:  # the pid tells apart the worker's processes
            self.failures.append(FailureRow(None, f"{name} (pid {pid})", kind,
                                            clip(error, 1000), traceback, name, 1))
        if kind == "setup":
            self._worker(worker, SETUP_FAILED)
            self.lanes[str(worker)].message = clip(error)

    def _seen(self, count, total=None):
        self.seen += count
        if total is not None:
            self.total = total

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

    def _settle(self, worker, index) -> bool:
        """Count `index` as settled in its worker's chunk; True if it was running."""
        chunk = self.chunks.get(str(worker))
        if chunk is not None and chunk[0] <= index < chunk[0] + chunk[1]:
            chunk[3] += 1
            return True
        return False

    def _done(self, worker, count, t):
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
        self.failure_count += 1
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
        for lane in self.lanes.values():
            if lane.is_worker and lane.state in ("busy", "idle", "starting"):
                lane.state = "exited"
                lane.switch_task(None, None, None)

    def _bar(self, source, bar_id, task, desc, n, total, unit, postfix, closed, t):
        self._mark_started(t)
        source = clip(source) if isinstance(source, str) else source
        n, total = json_number(n), json_number(total)
        if closed:
            self.bars_finished += 1
            self.bar_units += n or 0
            if task is not None and len(self.inner) < MAX_INNER:
                self.inner[task] = (n, total)
        lane = self._lane_for(source, bar_id, task, t)
        if lane is None:
            return
        bar = lane.bars.get(bar_id)
        if bar is None:
            bar = lane.bars[bar_id] = BarState()
        bar.desc, bar.n, bar.total, bar.unit = clip(desc), n, total, clip(unit)
        bar.postfix, bar.closed = clip_postfix(postfix), closed
        lane.updated = t
        if not lane.is_worker:  # a bar of its own: its lane shows its status
            lane.state = "done" if closed else "running"

    def _message(self, source, task, text):
        source = clip(source) if isinstance(source, str) else source
        lane = self._lane_for(source, None, task, None, create=False)
        if lane is None and not isinstance(source, int):
            lane = self._latest_bar_lane(source) or self._lane_for(source, None, task, None)
        if lane is not None:
            lane.message = clip(text)
            lane.updated = time.time()
            return
        worker_lane = self.lanes.get(str(source)) if isinstance(source, int) else None
        if worker_lane is not None and task is not None and (
                worker_lane.task is None or task > worker_lane.task):
            worker_lane.hold_early(task, clip(text))  # its START is still on the way

    def _lane_for(self, source, bar_id, task, t, create=True):
        """The lane that shows `task` of `source`, or None for a late event."""
        worker_lane = self.lanes.get(str(source)) if isinstance(source, int) else None
        if worker_lane is not None:
            if task is None or task == worker_lane.task:
                return worker_lane
            chunk = self.chunks.get(worker_lane.key)
            current = worker_lane.task
            if (chunk is not None and chunk[0] <= task < chunk[0] + chunk[1]
                    and (current is None or task > current)):
                # a later item of the chunk began (items of a chunk run in order)
                worker_lane.switch_task(task, f"#{task}", t)
                return worker_lane
            return None  # an item that already finished: its lane moved on
        key = f"{source}:{bar_id}"
        lane = self.lanes.get(key)
        if lane is None and create:
            lane = self.lanes[key] = Lane(key, str(source), "running", is_worker=False, started=t)
        return lane

    def _latest_bar_lane(self, source):
        prefix = f"{source}:"
        for key in reversed(self.lanes):
            if key.startswith(prefix):
                return self.lanes[key]
        return None

    # -- reading -----------------------------------------------------------------------

    def _sample_rate(self, t):
        samples = self._rate_samples
        finished = self.finished
        t = t if t is not None else time.time()
        samples.append((t, finished))
        while len(samples) > 2 and t - samples[1][0] > RATE_WINDOW:
            samples.popleft()

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.timed_out + self.crashed

    def rate(self, now: float) -> float | None:
        """Items finished per second over the last RATE_WINDOW seconds."""
        if not self._rate_samples or self.started is None:
            return None
        t0, f0 = self._rate_samples[0]
        t1, f1 = self._rate_samples[-1]
        if t1 - t0 >= 1.0 and f1 > f0:
            return (f1 - f0) / (t1 - t0)
        spent = max(t1, now if self.ended is None else self.ended) - self.started
        return self.finished / spent if spent > 0 and self.finished else None

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
        now = time.time() if now is None else now
        end = self.ended if self.ended is not None else now
        lanes = list(self.lanes.values())
        return {
            "title": self.title,
            "status": self.status,
            "overall": self._overall(now, end, lanes),
            "lanes": [self._lane_dict(lane, now, self.stale_after,
                                      self.lane_throughput[lane.key].spark(end, self.started)
                                      if lane.key in self.lane_throughput else [])
                      for lane in lanes[:MAX_LANES]],
            "more_lanes": max(len(lanes) - MAX_LANES, 0),
            "failures": [f.to_dict() for f in self.failures],
            "more_failures": self.failure_count - len(self.failures),
            "stoppable": self.stoppable and self.status == "running",
            "stopping": self.stopping,
        }

    def _overall(self, now: float, end: float, lanes: list) -> snap.Overall:
        elapsed = max(end - self.started, 0.0) if self.started is not None else 0.0
        lead = self._lead_bar(lanes)
        counts = self.counts()
        if lead is None:
            done, total, unit = counts["done"], counts["total"], self.unit
            rate = self.rate(now)
            remaining = None if total is None else total - self.finished - self.cancelled
        else:  # no pool items: the overall bar follows the outermost bar
            done = lead.n or 0  # None: the bar's count is no number a view can show
            total, unit, counts["pending"] = lead.total, lead.unit, None
            rate = json_number(done / elapsed) if elapsed > 0 and done else None
            remaining = None if lead.total is None else lead.total - done
        # nothing left (all settled, the end not yet posted): no estimate rather than "0:00"
        running = self.status == "running" and remaining is not None and remaining > 0
        # running: remaining is a number
        eta = json_number(remaining / rate) if rate and running else None  # type: ignore[operator]
        return {"done": done, "failed": counts["failed"], "timed_out": counts["timed_out"],
                "crashed": counts["crashed"], "cancelled": counts["cancelled"],
                "running": counts["running"], "retrying": counts["retrying"],
                "pending": counts["pending"], "total": total,
                "elapsed": round(elapsed, 3), "rate": rate, "eta": eta, "unit": unit,
                "dropped": self.dropped, "spark": self.throughput.spark(end, self.started)}

    def timeline_view(self, now: float | None = None) -> snap.Timeline:
        """The `timeline` trait: blocks per lane, times relative to the first start."""
        now = time.time() if now is None else now
        end = self.ended if self.ended is not None else now
        names = {key: lane.name for key, lane in self.lanes.items()}
        return self.timeline.view(self.started, end, names)

    def _lead_bar(self, lanes) -> BarState | None:
        """The first bar of a panel that shows bars only (no pool), else None."""
        if self.seen or not lanes or any(lane.is_worker for lane in lanes):
            return None
        return lanes[0].primary_bar()

    @staticmethod
    def _lane_dict(lane: Lane, now: float, stale_after: float | None,
                   spark: list) -> snap.Lane:
        bar = lane.primary_bar()
        active = lane.task is not None or (not lane.is_worker and lane.state == "running")
        stalled = bool(stale_after and active and lane.updated is not None
                       and now - lane.updated > stale_after)
        started = lane.started
        timing = started is not None and (lane.task is not None or not lane.is_worker)
        return {
            "key": lane.key, "name": lane.name, "state": lane.state,
            "task": lane.label, "index": lane.task,
            "desc": bar.desc if bar else "", "n": bar.n if bar else 0,
            "total": bar.total if bar else None, "unit": bar.unit if bar else "it",
            "message": lane.message, "postfix": [list(p) for p in bar.postfix] if bar else [],
            "elapsed": round(now - started, 3) if timing else 0.0,  # type: ignore[operator]  # timing: set
            "done": lane.done,
            "stalled": stalled,
            "spark": spark,
        }
