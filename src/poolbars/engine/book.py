"""The job book: what the engine knows of its jobs and items, and nothing of workers.

It reads each job's input lazily into chunks (sized by `chunking.next_chunk_size`), keeps
the totals, decides retry or failure for an item that failed, puts items back in line,
hands settled runs to the job's caller, accounts for cancels and drains, and keeps the
run record. It holds no process, thread, pipe or clock of its own (the clock is given),
and tells the outside world what happened only through the `post(events)` it is given.
Every item read is in exactly one place: in a chunk out on a worker (the backend holds
it), back in line (`Job.requeued`), or settled (done, failed, cancelled).

Shared objects and who writes them:
- `Job.outcomes`: the book puts (position, values, failures, worker) per settled run and
  finally END; the caller (map/imap/…) takes them.
- `Job.consumed`: written by the caller only (items taken), read here for backpressure.
- `Job.withdrawn`: set by the caller's thread (cancel or drain asked), read here.
- `Stats`, `RunRecord`: written here only (in the engine's thread); the pool copies them.
"""

from __future__ import annotations

import collections
import itertools
import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..errors import Failure, RemoteFailure, short_repr
from ..protocol import events as ev
from ..protocol import kinds
from .chunking import next_chunk_size

MAX_RUNS = 200_000  # settled runs kept for the run record; beyond, they are only counted
END = "end"  # the last outcome of a job
ERROR = "error"  # an outcome (ERROR, exception): the caller raises it

Post = Callable[[list[tuple[Any, ...]]], None]
Clock = Callable[[], float]


@dataclass
class Stats:
    """The counts of a pool's items, as `pool.stats` gives them.

    Once the pool has closed, done + failed + timed_out + crashed + cancelled == total:
    every item is accounted for. A record poolbars fills; read it during or after a run.

    Attributes:
        total: Items of every map so far: a sized input's length at once, else the items
            read (restored journal items included).
        done: Items that finished well.
        failed: Items that raised (on their last attempt).
        timed_out: Items that ran past `timeout` (on their last attempt).
        crashed: Items whose worker died (on their last attempt).
        retried: Extra attempts made (a count of attempts, not of items).
        cancelled: Items that never finished: cut short by a failure under
            `on_error="raise"`, a Ctrl-C, a Stop or the pool's exit.
        elapsed: Seconds since the pool started (until it closed, once it has).

    Example:
        ```python
        import poolbars as pb

        with pb.Pool(2, on_error="skip") as pool:
            pool.map(int, ["1", "x", "3"])
        stats = pool.stats
        print(stats.total, stats.done, stats.failed)  # 3 2 1
        ```
    """

    total: int = 0
    done: int = 0
    failed: int = 0
    timed_out: int = 0
    crashed: int = 0
    retried: int = 0
    cancelled: int = 0
    elapsed: float = 0.0


@dataclass
class Chunk:
    """A contiguous run of one job's items, sent to one worker as a whole."""

    job: Job
    position: int  # where items[0] stands in the job's input
    first: int  # the pool-wide index of items[0] (what the panel knows it by)
    items: list[Any]
    attempt: int = 1
    started: float = 0.0
    lost_unstarted: bool = False  # a worker died with it before starting it
    resent: bool = False  # its results did not load here; the worker was asked again

    def one(self, offset: int, attempt: int | None = None) -> Chunk:
        """Item `offset` as a chunk of its own."""
        return Chunk(self.job, self.position + offset, self.first + offset,
                     [self.items[offset]], self.attempt if attempt is None else attempt)

    def part(self, start: int, stop: int) -> Chunk:
        """Items start..stop-1 as a chunk of their own (as a first attempt, not started:
        what the run record has always noted for the runs around a retried item)."""
        return Chunk(self.job, self.position + start, self.first + start,
                     self.items[start:stop])


class Job:
    """One call of map/imap/starmap/submit: its input, its outcomes, its progress."""

    def __init__(self, fn_id: int, call: int, iterable: Iterable[Any], length: int | None,
                 max_in_flight: int | None, future: Future[Any] | None = None,
                 retries: int = 0, timeout: float | None = None):
        self.fn_id = fn_id
        self.retries = retries
        self.timeout = timeout
        self.call = call
        self.length = length  # len() of the input, when it has one (a hint)
        self.max_in_flight = max_in_flight
        self.future = future
        self.outcomes: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.consumed = 0  # items whose outcome the caller has used (caller writes)
        self.read = 0  # items read from the input
        self.counted = 0  # items of this job counted in the pool's total
        self.read_all = False
        self.cancelled = False
        self.ended = False
        self.throttled = False  # the engine waits for the caller to take results
        self.unsettled = 0  # items read and not yet settled
        self.timing: tuple[int, float] | None = None  # (items, seconds) of the last chunk
        self.requeued: collections.deque[Chunk] = collections.deque()
        self.number = 0  # which job of its pool this is (1, 2, …), for the run record
        self.not_run: list[int] = []  # positions left out by a drain (the Stop button)
        self.where: list[int] | None = None  # input position of each item, if it skips some
        self.withdrawn = False  # its caller asked to stop or drain it (set from that thread)
        self.input_error: Exception | None = None  # what the input raised, raised last
        self.input = iterable
        self.reader: Iterator[Any] | None = None  # iter() of the input, once started

    @property
    def stopped(self) -> bool:
        """Nothing more of it may start: cancelled, withdrawn, or its future cancelled."""
        return (self.cancelled or self.withdrawn
                or (self.future is not None and self.future.cancelled()))

    def take(self, size: int) -> list[Any]:
        """Up to `size` more items of the input; one that raises ends the input there."""
        items: list[Any] = []
        try:  # extend keeps the items read before the input raised: they still run
            items.extend(itertools.islice(self.reader or (), size))
        except Exception as exc:  # the input itself raised: the caller gets it at the end
            self.input_error = exc
        self.read += len(items)
        self.unsettled += len(items)
        self.read_all = len(items) < size or self.input_error is not None
        return items

    def requeue(self, chunk: Chunk, offsets: Iterable[int]) -> None:
        """Put items of `chunk` back in line, each as a chunk of its own, same attempt."""
        self.requeued.extend(chunk.one(offset) for offset in offsets)

    def put_back(self, chunk: Chunk) -> None:
        """`chunk` never ran: it goes first in line, whole."""
        self.requeued.appendleft(chunk)

    @property
    def settled(self) -> bool:
        """Every item read and settled, nothing waiting, not ended yet."""
        return self.read_all and self.unsettled == 0 and not self.requeued and not self.ended


@dataclass
class RunRecord:
    """What `Pool.report()` is built from: settled runs, failures, input positions."""

    runs: list[tuple[Any, ...]] = field(default_factory=list)
    runs_dropped: int = 0  # runs past MAX_RUNS, counted only
    positions: dict[int, list[int]] = field(default_factory=dict)  # job number -> where
    failures: list[Failure] = field(default_factory=list)
    worker_failures: list[Failure] = field(default_factory=list)  # setups and teardowns

    def note_run(self, chunk: Chunk, count: int, failures: Sequence[tuple[int, Failure]],
                 worker: int | None, now: float) -> None:
        """Keep what the run record needs of a settled run (bounded by MAX_RUNS)."""
        if len(self.runs) >= MAX_RUNS:
            self.runs_dropped += 1
            return
        label = short_repr(chunk.items[0]) if count == 1 else None
        failed = {offset: (f.kind, f.error, f.attempts) for offset, f in failures}
        self.runs.append((chunk.job.number, chunk.position, chunk.first, count, worker,
                          chunk.started, now, chunk.attempt, label, failed))


def settle_future(future: Future[Any], value: Any,
                  failures: Sequence[tuple[int, Failure]]) -> None:
    if future.cancelled():
        return
    if failures:
        future.set_exception(failures[0][1].to_exception())
    else:
        future.set_result(value)


def runs_between(count: int, skipped: set[int]) -> Iterator[tuple[int, int]]:
    """(start, stop) of each run of offsets 0..count-1 that leaves out `skipped`."""
    start = None
    for offset in range(count + 1):
        if offset < count and offset not in skipped:
            start = offset if start is None else start
        elif start is not None:
            yield start, offset
            start = None


def start_error(failure: Failure) -> BaseException:
    """What a job raises when no worker could be set up: the setup's own exception (also
    a TaskFailed), with a note that says so."""
    exc = failure.to_exception()
    if failure.worker is not None and hasattr(exc, "add_note"):  # Python 3.11+
        exc.add_note(f"no worker could start: {failure.error} (worker {failure.worker}'s "
                     "initializer or setup; pool.failures lists every worker's)")
    return exc


class Book:
    """The jobs of one pool and the counts of their items (see the module doc)."""

    def __init__(self, post: Post, *, processes: int, chunksize: int | None,
                 clock: Clock = time.time):
        self.post = post
        self.clock = clock
        self.processes = processes
        self.chunksize = chunksize
        self.stats = Stats()
        self.record = RunRecord()
        self.jobs: collections.deque[Job] = collections.deque()
        self.start_failure: Failure | None = None  # why no worker is left, once none is
        self._next_index = 0
        self._jobs_started = 0
        self._told_total = 0  # the total the panel was told (the sum of the changes posted)

    # -- taking work in ------------------------------------------------------------------

    def restore(self, count: int) -> None:
        """Count `count` items as done without running them (they come from a journal)."""
        self.stats.total += count
        self.stats.done += count
        self.post([ev.Seen(count, self._total_change()), ev.Done(None, count, self.clock())])

    def start_job(self, job: Job) -> None:
        self._jobs_started += 1
        job.number = self._jobs_started
        if job.where is not None:
            self.record.positions[job.number] = job.where
        self.jobs.append(job)
        if job.length is not None:  # a sized input: all of it counts as seen from now
            self._count(job, job.length)
        if self.start_failure is not None:  # no worker left to run it
            self.cancel(job, start_error(self.start_failure))
            return
        try:
            job.reader = iter(job.input)
        except Exception as exc:
            self._end_input(job, exc)

    def _count(self, job: Job, target: int) -> None:
        """Make `target` items of `job` count in the pool's total."""
        self.stats.total += target - job.counted
        job.counted = target
        self.post([ev.Seen(0, self._total_change())])

    def _total_change(self) -> int:
        """The pool's total less what the panel was told: the panel adds up the changes
        of every pool that reports to it (a shared `Panel` counts all their items)."""
        change, self._told_total = self.stats.total - self._told_total, self.stats.total
        return change

    def next_chunk(self) -> Chunk | None:
        """The next chunk to run: an item back in line first, else read from an input."""
        for job in list(self.jobs):
            if job.stopped:
                continue
            if job.requeued:
                return job.requeued.popleft()
            if job.read_all:
                continue
            size = next_chunk_size(job.timing, chunksize=self.chunksize,
                                   processes=self.processes, length=job.length,
                                   read=job.read, consumed=job.consumed,
                                   max_in_flight=job.max_in_flight)
            job.throttled = size == 0
            if job.throttled:
                continue  # backpressure: the caller has not taken enough results
            chunk = self._read(job, size)
            if chunk is not None:
                return chunk
        return None

    def _read(self, job: Job, size: int) -> Chunk | None:
        position = job.read
        items = job.take(size)
        chunk = Chunk(job, position, self._next_index, items)
        self._next_index += len(items)
        if job.read > job.counted:  # no length given, or more items than it said
            if job.length is None and not job.read_all:
                self.stats.total += job.read - job.counted
                job.counted = job.read
                self.post([ev.Seen(len(items), None)])
            else:
                self._count(job, job.read)
        elif job.read_all and job.read < job.counted:  # fewer items than len() said
            self._count(job, job.read)
        if job.read_all:
            self.maybe_end(job)
        return chunk if items else None

    def _end_input(self, job: Job, exc: Exception) -> None:
        """The input iterable raised: nothing more is read from it; what was read still
        runs, and the caller gets the error after its results (see `maybe_end`)."""
        job.input_error = exc
        job.read_all = True
        if job.read < job.counted:
            self._count(job, job.read)
        self.maybe_end(job)

    # -- settling ------------------------------------------------------------------------

    def settle_chunk(self, chunk: Chunk, values: list[Any],
                     remote_failures: Sequence[tuple[int, RemoteFailure]],
                     events: Sequence[tuple[Any, ...]], worker: int | None,
                     after: Sequence[tuple[Any, ...]] = ()) -> None:
        """A chunk came back from `worker`: its items are done or failed. `after`: the
        events to post with its DONE (the worker's own state)."""
        if events:
            self.post(list(events))
        now = self.clock()
        failures, retried = [], set()
        for offset, remote in remote_failures:
            failure = self._failure_or_retry(chunk, offset, "error", remote, worker)
            if failure is not None:
                failures.append((offset, failure))
            else:
                retried.add(offset)
        ok = len(values) - len(remote_failures)
        self.stats.done += ok
        self.post([ev.Done(worker, ok, now), *after])
        if not retried:
            self._deliver(chunk, values, failures, worker)
            return
        # each delivery is a contiguous run of the input: the runs between retried items
        for start, stop in runs_between(len(values), retried):
            self._deliver(chunk.part(start, stop), values[start:stop],
                          [(o - start, f) for o, f in failures if start <= o < stop], worker)

    def settle_failure(self, chunk: Chunk, offset: int, kind: kinds.Kind,
                       remote: RemoteFailure, worker: int | None, retry: bool = True) -> None:
        """Settle one item of `chunk` as failed (or put it back for another try)."""
        one = chunk.one(offset, attempt=None if retry else chunk.job.retries + 1)
        failure = self._failure_or_retry(one, 0, kind, remote, worker)
        if failure is not None:
            self._deliver(one, [None], [(0, failure)], worker)

    def _failure_or_retry(self, chunk: Chunk, offset: int, kind: kinds.Kind,
                          remote: RemoteFailure, worker: int | None) -> Failure | None:
        """The Failure to report for this item, or None if it goes back for another try."""
        job = chunk.job
        index = chunk.first + offset
        label = short_repr(chunk.items[offset])
        if chunk.attempt <= job.retries and not job.cancelled:
            self.stats.retried += 1
            job.requeued.append(chunk.one(offset, attempt=chunk.attempt + 1))
            self.post([ev.Retry(worker, index, label, kind,
                        f"{remote.exc_type}: {remote.message}", chunk.attempt, self.clock())])
            return None
        failure = Failure(index=chunk.position + offset, item=label, kind=kind,
                          exc_type=remote.exc_type, message=remote.message,
                          traceback=remote.traceback, worker=worker,
                          attempts=chunk.attempt, remote=remote)
        counter = kinds.outcome(kind).counter
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self.record.failures.append(failure)
        self.post([ev.Fail(worker, index, label, kind, failure.error,
                    failure.traceback, failure.attempts, self.clock())])
        return failure

    def _deliver(self, chunk: Chunk, values: list[Any], failures: list[tuple[int, Failure]],
                 worker: int | None) -> None:
        """Hand settled items to the job's caller."""
        job = chunk.job
        job.unsettled -= len(values)
        self.record.note_run(chunk, len(values), failures, worker, self.clock())
        if job.future is not None:
            settle_future(job.future, values[0], failures)
        else:
            job.outcomes.put((chunk.position, values, failures, worker))
        self.maybe_end(job)

    def maybe_end(self, job: Job) -> None:
        if job.settled:
            job.ended = True
            if job.input_error is not None:  # after every item read before it, as CPython
                job.outcomes.put((ERROR, job.input_error))
            job.outcomes.put(END)
            if job in self.jobs:
                self.jobs.remove(job)

    # -- cancelling, draining, failing everything ----------------------------------------

    def cancel(self, job: Job, error: BaseException | None = None, running: int = 0,
               killed: Sequence[int] = ()) -> None:
        """Stop a job: nothing more is read or started, and every item of it not settled
        counts as cancelled; `running` of them were on the workers `killed` (stopped by
        the backend first). `error`, if given, is what its caller raises."""
        if job.ended:
            return
        job.cancelled = True
        count = job.unsettled + max(job.counted - job.read, 0)
        self.stats.cancelled += count
        self.post([ev.Cancel(count - running, list(killed))])
        job.unsettled = 0
        job.requeued.clear()
        job.read_all = True
        if error is not None:
            job.outcomes.put((ERROR, error))
        if job.future is not None and not job.future.done():
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.cancel()
        self.maybe_end(job)

    def drain(self, job: Job) -> None:
        """Start nothing more of `job`; what runs finishes; the rest counts as cancelled
        and is listed in `job.not_run`."""
        if job.ended or job.cancelled:
            return
        waiting = [c.position + i for c in job.requeued for i in range(len(c.items))]
        unread = list(range(job.read, job.counted))  # known from len(), never read
        job.not_run = waiting + unread
        job.requeued.clear()
        job.read_all = True
        job.unsettled -= len(waiting)
        count = len(waiting) + len(unread)
        self.stats.cancelled += count
        self.post([ev.Cancel(count, [])])
        self.maybe_end(job)

    def worker_failure(self, worker: int, pid: int | None, kind: kinds.WorkerKind,
                       remote: RemoteFailure) -> Failure:
        """Record a failure of a worker itself (its setup or teardown), not of an item."""
        failure = Failure(index=None, item="", kind=kind, exc_type=remote.exc_type,
                          message=remote.message, traceback=remote.traceback,
                          worker=worker, remote=remote)
        self.record.worker_failures.append(failure)
        self.post([ev.WorkerFail(worker, pid, kind, failure.error, failure.traceback,
                    self.clock())])
        return failure

    def fail_everything(self, failure: Failure) -> None:
        """No worker is left: every job, now and later, fails with `failure`."""
        self.start_failure = failure
        for job in list(self.jobs):
            self.cancel(job, start_error(failure))

