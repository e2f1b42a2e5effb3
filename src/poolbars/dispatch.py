"""The dispatcher: one thread in the parent that owns the worker processes.

It reads each job's input lazily, cuts it into chunks, sends one chunk at a time to each
idle worker, and waits on every pipe, every process sentinel and its own wake-up pipe at
once. So it always knows which worker runs what; a worker that dies is seen at once (its
sentinel), a task past its timeout is seen at its deadline (the wait's timeout), and
requests from other threads (a new job, a cancel, stop) wake it through the pipe.

Each worker writes the index (and, with a timeout, the start time) of the item it runs
into a shared array, so a crash or a timeout is pinned on the right item even inside a
chunk; the other items of that chunk go back in line.

Shared objects and who writes them:
- `Job.outcomes`: the dispatcher puts (position, values, failures, worker) per settled
  chunk and finally END; the caller (map/imap/…) takes them.
- `Job.consumed`: written by the caller only (items taken), read here for backpressure.
- `Stats`: written here only; `Pool.stats` copies it.
"""

from __future__ import annotations

import collections
import itertools
import os
import queue
import signal
import threading
import time
import types
import warnings
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Iterable

from multiprocess.connection import wait

from . import events as ev
from . import kinds
from . import wire, worker
from .chunking import next_chunk_size
from .errors import Failure, RemoteFailure, TaskTimeout, short_repr
from .wire import SlotBoard

STOP_GRACE = 1.0  # seconds a worker gets to exit after STOP before it is killed
# a worker's start-up and setup are not the task's time: with a `timeout` and no
# `setup_timeout`, they may take max(SETUP_MIN_SECONDS, SETUP_FACTOR × timeout) each
SETUP_MIN_SECONDS = 10.0
SETUP_FACTOR = 10
MAX_RUNS = 200_000  # settled runs kept for the run record; beyond, they are only counted
END = "end"  # the last outcome of a job
ERROR = "error"  # an outcome (ERROR, exception): the caller raises it


@dataclass
class Stats:
    """Counts of a pool's items. done + failed + timed_out + crashed + cancelled == total
    once the pool is closed (`retried` counts extra attempts, not items)."""

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
    items: list
    attempt: int = 1
    started: float = 0.0
    lost_unstarted: bool = False  # a worker died with it before starting it
    resent: bool = False  # its results did not load here; the worker was asked again

    def one(self, offset: int, attempt: int | None = None) -> Chunk:
        """Item `offset` as a chunk of its own."""
        return Chunk(self.job, self.position + offset, self.first + offset,
                     [self.items[offset]], self.attempt if attempt is None else attempt)


class Job:
    """One call of map/imap/starmap/submit: its input, its outcomes, its progress."""

    def __init__(self, fn_id: int, call: int, iterable: Iterable, length: int | None,
                 max_in_flight: int | None, future: Future | None = None,
                 retries: int = 0, timeout: float | None = None):
        self.fn_id = fn_id
        self.retries = retries
        self.timeout = timeout
        self.call = call
        self.length = length  # len() of the input, when it has one (a hint)
        self.max_in_flight = max_in_flight
        self.future = future
        self.outcomes: queue.SimpleQueue = queue.SimpleQueue()
        self.consumed = 0  # items whose outcome the caller has used (caller writes)
        self.read = 0  # items read from the input
        self.counted = 0  # items of this job counted in the pool's total
        self.read_all = False
        self.cancelled = False
        self.ended = False
        self.throttled = False  # the dispatcher waits for the caller to take results
        self.unsettled = 0  # items read and not yet settled
        self.timing: tuple[int, float] | None = None  # (items, seconds) of the last chunk
        self.requeued: collections.deque[Chunk] = collections.deque()
        self.number = 0  # which job of its pool this is (1, 2, …), for the run record
        self.not_run: list[int] = []  # positions left out by a drain (the Stop button)
        self.where: list[int] | None = None  # input position of each item, if it skips some
        self.withdrawn = False  # its caller asked to stop or drain it (set from that thread)
        self.input_error: Exception | None = None  # what the input raised, raised last
        self._input = iterable
        self._it: Any = None  # iter() of the input, once the job is started


@dataclass
class Slot:
    """The dispatcher's view of one worker process."""

    number: int
    process: Any  # a multiprocess Process (untyped)
    conn: Any  # its end of the pipe, a multiprocess Connection
    pid: int | None = None
    ready: bool = False
    chunk: Chunk | None = None
    functions: set = field(default_factory=set)
    items_done: int = 0
    retiring: bool = False  # asked to stop (max_tasks_per_child); replace it when it exits
    failed_starts: int = 0  # deaths in a row before READY: a worker that cannot start
    since: float = field(default_factory=time.time)  # start of its start-up or setup
    loading: bytes | None = None  # its chunk's Tasks message, held until its function is set up
    setup_failed: bool = False  # its initializer or setup failed: retired, never replaced

    @property
    def busy(self) -> bool:
        return self.chunk is not None


class Dispatcher:
    """Runs jobs on worker processes from a thread of its own (see the module doc)."""

    def __init__(self, pool):
        # the pool's settings, not the pool: this thread must not keep an unclosed Pool
        # alive, so that the garbage collector can stop it (Pool.__del__)
        self.pool = types.SimpleNamespace(**vars(pool))
        self.ctx = pool._ctx
        self.functions: dict[int, bytes] = {}
        self.stats = Stats()
        self.failures: list[Failure] = []
        self.worker_failures: list[Failure] = []  # setups and teardowns that failed
        self.start_failure: Failure | None = None  # why no worker is left, once none is
        self.ready_at: float | None = None
        self.jobs: collections.deque[Job] = collections.deque()
        self.slots: list[Slot] = []
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._next_index = 0
        self._jobs_started = 0
        self.runs: list[tuple] = []  # settled runs of items, for `Pool.report()`
        self.runs_dropped = 0  # runs past MAX_RUNS, counted only
        self.positions: dict[int, list[int]] = {}  # job number -> `Job.where`, for the record
        self._board = SlotBoard.create(self.ctx, pool.processes)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._stop_status: str | None = None
        self._thread = threading.Thread(target=self._main, name="poolbars-dispatcher",
                                        daemon=True)

    # -- called from other threads -------------------------------------------------------

    def start(self) -> None:
        self.slots = [self._spawn(n) for n in range(self.pool.processes)]
        self._thread.start()

    def add_function(self, fn_id: int, payload: bytes) -> None:
        self.functions[fn_id] = payload

    def drain(self, job: Job) -> None:
        """Start nothing more of `job`; what runs finishes; the rest counts as cancelled."""
        job.withdrawn = True  # at once: no chunk of it leaves before the request is read
        self.requests.put(("drain", job))
        self.wake()

    def restore(self, count: int) -> None:
        """Count `count` items as done without running them (they come from a journal)."""
        self.requests.put(("restore", count))
        self.wake()

    def submit(self, job: Job) -> None:
        self.requests.put(("job", job))
        self.wake()

    def cancel(self, job: Job) -> None:
        job.withdrawn = True
        self.requests.put(("cancel", job))
        self.wake()

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: a wake-up is already pending

    def stop(self, status: str) -> None:
        """Finish: on "cancelled" kill every worker at once, else let idle ones exit.
        Everything not settled is counted as cancelled. Returns once all have exited."""
        self.requests.put(("stop", status))
        self.wake()
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._warn_teardowns()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while self._stop_status is None:
                self._take_requests()
                if self._stop_status is not None:
                    break
                self._feed()
                self._step()
        except BaseException as exc:  # keep it for the callers, then stop everything
            self.error = exc
            self._stop_status = "failed"
        finally:
            self._shutdown(self._stop_status or "failed")

    def _step(self) -> None:
        """Wait for what wakes the dispatcher, and handle it."""
        self._wait(self._next_deadline())
        self._check_timeouts()
        self._check_exits()

    def _take_requests(self) -> None:
        while True:
            try:
                kind, arg = self.requests.get_nowait()
            except queue.Empty:
                return
            if kind == "job":
                self._start_job(arg)
            elif kind == "cancel":
                self._cancel_job(arg)
            elif kind == "drain":
                self._drain_job(arg)
            elif kind == "restore":  # items a journal already has: counted done at once
                self.stats.total += arg
                self.stats.done += arg
                self._post((ev.SEEN, arg, None), (ev.DONE, None, arg, time.time()))
            elif kind == "stop":
                self._stop_status = arg

    def _start_job(self, job: Job) -> None:
        self._jobs_started += 1
        job.number = self._jobs_started
        if job.where is not None:
            self.positions[job.number] = job.where
        self.jobs.append(job)
        if job.length is not None:  # a sized input: all of it counts as seen from now
            self._count(job, job.length)
        if self.start_failure is not None:  # no worker left to run it
            self._cancel_job(job, self._start_error())
            return
        try:
            job._it = iter(job._input)
        except Exception as exc:
            self._end_input(job, exc)

    def _count(self, job: Job, target: int) -> None:
        """Make `target` items of `job` count in the pool's total."""
        self.stats.total += target - job.counted
        job.counted = target
        self._post((ev.SEEN, 0, self.stats.total))

    # -- feeding -------------------------------------------------------------------------

    def _feed(self) -> None:
        for slot in self.slots:
            if not slot.ready or slot.busy or slot.retiring or slot.setup_failed:
                continue
            chunk = self._next_chunk()
            if chunk is None:
                return
            self._send(slot, chunk)

    def _next_chunk(self) -> Chunk | None:
        for job in list(self.jobs):
            withdrawn = job.withdrawn or (job.future is not None and job.future.cancelled())
            if job.cancelled or withdrawn:
                continue
            if job.requeued:
                return job.requeued.popleft()
            if job.read_all:
                continue
            size = self._chunk_size(job)
            job.throttled = size == 0
            if job.throttled:
                continue  # backpressure: the caller has not taken enough results
            chunk = self._read(job, size)
            if chunk is not None:
                return chunk
        return None

    def _chunk_size(self, job: Job) -> int:
        return next_chunk_size(job.timing, chunksize=self.pool.chunksize,
                               processes=self.pool.processes, length=job.length,
                               read=job.read, consumed=job.consumed,
                               max_in_flight=job.max_in_flight)

    def _read(self, job: Job, size: int) -> Chunk | None:
        items: list = []
        try:  # extend keeps the items read before the input raised: they still run
            items.extend(itertools.islice(job._it, size))
        except Exception as exc:  # the input itself raised: the caller gets it at the end
            job.input_error = exc
        chunk = Chunk(job, job.read, self._next_index, items)
        self._next_index += len(items)
        job.read += len(items)
        job.unsettled += len(items)
        job.read_all = len(items) < size or job.input_error is not None
        if job.read > job.counted:  # no length given, or more items than it said
            if job.length is None and not job.read_all:
                self.stats.total += job.read - job.counted
                job.counted = job.read
                self._post((ev.SEEN, len(items), None))
            else:
                self._count(job, job.read)
        elif job.read_all and job.read < job.counted:  # fewer items than len() said
            self._count(job, job.read)
        if job.read_all:
            self._maybe_end(job)
        return chunk if items else None

    def _send(self, slot: Slot, chunk: Chunk, announce: bool = True) -> None:
        job = chunk.job
        try:
            data = wire.dumps(wire.Tasks(job.fn_id, job.call, chunk.first, chunk.items,
                                         timed=job.timeout is not None))
        except Exception as exc:
            if len(chunk.items) > 1:  # find the culprit: send the items one by one
                self._requeue(chunk, range(len(chunk.items)))
            else:
                remote = RemoteFailure.from_exception(exc)
                remote.message = (f"item {chunk.position} cannot be sent to a worker "
                                  f"({remote.message}); map over plain data (paths, numbers, "
                                  "…) instead")
                self._settle_failure(chunk, 0, "error", remote, None, retry=False)
            return
        try:
            if job.fn_id in slot.functions:
                slot.conn.send_bytes(data)
            else:  # its items wait for LOADED: setup is not the task's time, and a
                # worker whose setup fails never gets them
                slot.conn.send_bytes(wire.dumps(wire.Function(job.fn_id,
                                                              self.functions[job.fn_id])))
                slot.loading, slot.since = data, time.time()
        except OSError:  # the worker just died: its sentinel tells the rest; the chunk waits
            job.requeued.appendleft(chunk)
            return
        chunk.started = time.time()
        slot.chunk = chunk
        if announce:
            self._announce(slot, chunk)

    def _loaded(self, slot: Slot, fn_id: int) -> None:
        """`slot`'s worker has the function (its Worker set up): send the held chunk."""
        slot.functions.add(fn_id)
        data, slot.loading = slot.loading, None
        if slot.chunk is None or data is None:
            return
        try:
            slot.conn.send_bytes(data)
        except OSError:  # the worker just died: the chunk waits, unstarted
            chunk, slot.chunk = slot.chunk, None
            chunk.job.requeued.appendleft(chunk)
            return
        slot.chunk.started = time.time()
        self._announce(slot, slot.chunk)

    def _announce(self, slot: Slot, chunk: Chunk) -> None:
        if slot.loading is not None:
            return  # it is announced when it is sent (`_loaded`)
        self._post((ev.START, slot.number, chunk.first, len(chunk.items),
                    short_repr(chunk.items[0]), chunk.started, int(chunk.attempt > 1)))

    # -- waiting and what wakes us ---------------------------------------------------------

    def _next_deadline(self) -> float | None:
        deadlines = [d for d in map(self._deadline, self.slots) if d is not None]
        return max(min(deadlines) - time.time(), 0.005) if deadlines else None

    def _deadline(self, slot: Slot) -> float | None:
        """When `slot` is overdue: the end of its start-up or setup allowance, else of
        its item's timeout (the task's own time only); None if never."""
        if not slot.ready or slot.loading is not None:
            allowance = self._setup_allowance()
            return None if allowance is None else slot.since + allowance
        if slot.busy and slot.chunk.job.timeout is not None:
            return self._item_started(slot) + slot.chunk.job.timeout
        return None

    def _setup_allowance(self) -> float | None:
        """Seconds a worker may take to start (initializer) or to set up a function
        (import, `Worker.setup`): `setup_timeout`, else derived from `timeout`."""
        pool = self.pool
        if pool.setup_timeout is not None:
            return pool.setup_timeout
        if pool.timeout is None:
            return None
        return max(SETUP_MIN_SECONDS, SETUP_FACTOR * pool.timeout)

    def _item_started(self, slot: Slot) -> float:
        return max(self._board.started(slot.number), slot.chunk.started)

    def _wait(self, timeout: float | None) -> None:
        watched: dict[Any, Slot | None] = {self._wake_r: None}
        for slot in self.slots:
            watched[slot.conn] = slot
            watched[slot.process.sentinel] = slot
        for ready in wait(list(watched), timeout):
            slot = watched[ready]
            if slot is None:
                os.read(self._wake_r, 4096)
            elif ready is slot.conn:
                try:
                    data = slot.conn.recv_bytes()
                except (EOFError, OSError):
                    continue  # its sentinel tells the rest
                self._on_message(slot, data)

    def _on_message(self, slot: Slot, data: bytes) -> None:
        try:
            message = wire.loads(data)
        except Exception as exc:  # e.g. a result type that cannot be rebuilt here
            message = self._unloadable(slot, exc)
            if message is None:
                return
        if isinstance(message, wire.Ready):
            slot.ready, slot.pid = True, message.pid
            self._post((ev.WORKER, slot.number, "idle", slot.pid))
            if self.ready_at is None and all(s.ready for s in self.slots):
                self.ready_at = time.time()
        elif isinstance(message, wire.Loaded):
            self._loaded(slot, message.fn_id)
        elif isinstance(message, (wire.InitFailed, wire.SetupFailed)):
            self._setup_failed(slot, message.failure)
        elif isinstance(message, wire.TeardownFailed):
            self._worker_failure(slot, "teardown", message.failure)
        elif isinstance(message, wire.Results):
            self._on_results(slot, message.values, message.failures, message.events)
        elif isinstance(message, wire.Each):
            values, failures = _load_each(message.blobs, message.failures)
            self._on_results(slot, values, failures, message.events)

    def _unloadable(self, slot: Slot, exc: Exception) -> wire.Results | None:
        """A message from `slot` that does not load here: ask its worker for the chunk's
        values one by one (None: wait for them). If it cannot answer, a chunk of one item
        fails with why (as a Results message), a longer one runs again item by item."""
        chunk = slot.chunk
        if chunk is None:
            return None  # nothing is awaited from it: nothing to settle
        if not chunk.resent and slot.process.exitcode is None:
            chunk.resent = True
            try:
                slot.conn.send_bytes(wire.dumps(wire.Resend()))
                return None
            except OSError:
                pass  # gone already
        if len(chunk.items) > 1:  # the values are lost with the worker: whose failed shows
            slot.chunk = None  # when each item runs alone
            self._board.clear(slot.number)  # its successor starts clean
            self._post((ev.DONE, slot.number, 0, time.time()))  # close it on the panel
            self._requeue(chunk, range(len(chunk.items)))
            return None
        return wire.Results([None], [(0, _unloadable_failure(exc))], [])

    def _on_results(self, slot: Slot, values: list, remote_failures: list, events: list):
        chunk, slot.chunk = slot.chunk, None
        slot.items_done += len(values)
        chunk.job.timing = (len(values), time.time() - chunk.started)
        limit = self.pool.max_tasks_per_child
        if limit is not None and slot.items_done >= limit:
            slot.retiring = True
            try:
                slot.conn.send_bytes(wire.dumps(wire.Stop()))
            except OSError:
                pass  # it is gone already: replaced as it would have been
        # the worker waits for work: send its next chunk before settling this one (the
        # panel hears of the next one after, so its events stay in order)
        alive = not slot.retiring and slot.process.exitcode is None
        following = self._next_chunk() if alive else None
        if following is not None:
            self._send(slot, following, announce=False)
        sent = following is not None and slot.chunk is following
        self._settle_chunk(chunk, values, remote_failures, events, slot.number, slot.pid,
                           idle=not sent)
        if sent:
            self._announce(slot, following)

    def _settle_chunk(self, chunk: Chunk, values: list, remote_failures: list, events: list,
                      number, pid=None, idle: bool = True) -> None:
        """A chunk came back from worker `number`: its items are done or failed."""
        if events:
            self._post(*events)
        now = time.time()
        failures, retried = [], set()
        for offset, remote in remote_failures:
            failure = self._failure_or_retry(chunk, offset, "error", remote, number)
            if failure is not None:
                failures.append((offset, failure))
            else:
                retried.add(offset)
        ok = len(values) - len(remote_failures)
        self.stats.done += ok
        ended: list[tuple] = [(ev.DONE, number, ok, now)]
        if idle:  # else its next chunk is already on its way
            ended.append((ev.WORKER, number, "idle", pid))
        self._post(*ended)
        if retried:
            self._deliver_around(chunk, values, failures, number, retried)
        else:
            self._deliver(chunk, values, failures, number)

    def _check_timeouts(self) -> None:
        now = time.time()
        for slot in list(self.slots):
            if not slot.ready or slot.loading is not None:
                self._check_setup_time(slot, now)
                continue
            timeout = slot.chunk.job.timeout if slot.busy else None
            if timeout is not None and now - self._item_started(slot) > timeout:
                self._kill(slot)
                slot.process.join()
                self._lost(slot, "timeout", f"ran past the timeout of {timeout:g} s; "
                           "its worker was stopped and replaced")

    def _check_setup_time(self, slot: Slot, now: float) -> None:
        """Retire `slot`'s worker if its start-up or setup ran past its allowance."""
        allowance = self._setup_allowance()
        if slot.setup_failed or allowance is None or now - slot.since <= allowance:
            return
        stage = "Worker.setup" if slot.ready else "start-up (initializer)"
        text = (f"worker {slot.number}'s {stage} did not finish within {allowance:g} s "
                "(setup_timeout); it was stopped. Give a larger Pool(setup_timeout=…) if "
                "it needs longer")
        remote = RemoteFailure.from_exception(TaskTimeout(text))
        self._setup_failed(slot, remote)
        self._kill(slot)
        slot.process.join()
        self._retire_for_good(slot)

    def _check_exits(self) -> None:
        for slot in list(self.slots):
            if slot.process.exitcode is None:
                continue
            # results sent just before the exit, or why its setup or teardown failed
            while (slot.busy or not slot.ready or slot.retiring) and _readable(slot.conn):
                try:
                    data = slot.conn.recv_bytes()
                except (EOFError, OSError):
                    break
                self._on_message(slot, data)
            if slot.loading is not None:
                self._lost_in_setup(slot)
            elif slot.busy:
                code = slot.process.exitcode
                hint = (" (SIGKILL is most often the out-of-memory killer)"
                        if code == -signal.SIGKILL else "")
                self._lost(slot, "crashed", f"{_describe_exit(code)} while running it{hint}")
            elif slot.setup_failed or (not slot.ready and slot.failed_starts >= 2):
                self._retire_for_good(slot)
            elif slot.retiring:
                self._replace(slot, "exited")
            else:
                self._replace(slot, "crashed", failed_starts=0 if slot.ready else
                              slot.failed_starts + 1)

    def _lost_in_setup(self, slot: Slot) -> None:
        """`slot`'s worker died loading a function (or in Worker.setup): its chunk goes
        back whole, blaming no item; the third death in a row is a setup failure."""
        chunk, slot.chunk, slot.loading = slot.chunk, None, None
        chunk.job.requeued.appendleft(chunk)
        if slot.failed_starts < 2:
            self._replace(slot, "crashed", failed_starts=slot.failed_starts + 1)
            return
        text = f"worker {slot.number} {_describe_exit(slot.process.exitcode)} in its setup"
        self._setup_failed(slot, RemoteFailure("WorkerCrashed", text, f"WorkerCrashed: {text}\n"))
        self._retire_for_good(slot)

    def _lost(self, slot: Slot, kind: kinds.Kind, how: str) -> None:
        """The worker in `slot` is gone mid-chunk: settle the item it was running as
        `kind`, put the rest of the chunk back in line, start a new worker. If it had not
        started the chunk, the chunk goes back whole, once; lost again, its first item
        takes the blame (so a chunk that kills every worker cannot loop forever). If it
        died sending the chunk's results, each item goes back alone, blaming none: the
        one that kills its worker alone is then pinned."""
        chunk, slot.chunk = slot.chunk, None
        item, sending = self._board.item(slot.number), self._board.sending(slot.number)
        self._board.clear(slot.number)  # its successor starts clean
        if sending == chunk.first:  # it died sending this chunk's results back
            if len(chunk.items) > 1:  # whose it was shows when each item goes alone
                self._post((ev.DONE, slot.number, 0, time.time()))  # close it on the panel
                self._requeue(chunk, range(len(chunk.items)))
                self._replace(slot, "crashed")
                return
            how = how.replace("while running it", "while sending its result back")
            item = chunk.first
        offset = -1 if item is None else item - chunk.first
        if not 0 <= offset < len(chunk.items):
            if not chunk.lost_unstarted:
                chunk.lost_unstarted = True
                self._post((ev.DONE, slot.number, 0, time.time()))  # close it on the panel
                chunk.job.requeued.appendleft(chunk)
                self._replace(slot, "crashed")
                return
            offset = 0
        exc_type = kinds.outcome(kind).exception
        text = f"worker {slot.number} (pid {slot.pid}) {how}"
        remote = RemoteFailure(exc_type, text, f"{exc_type}: {text}\n")
        self._settle_failure(chunk, offset, kind, remote, slot.number)
        self._post((ev.DONE, slot.number, 0, time.time()))  # close its chunk on the panel
        self._requeue(chunk, [i for i in range(len(chunk.items)) if i != offset])
        self._replace(slot, "crashed")

    # -- settling ----------------------------------------------------------------------

    def _failure_or_retry(self, chunk: Chunk, offset: int, kind: kinds.Kind, remote: RemoteFailure,
                          worker_number) -> Failure | None:
        """The Failure to report for this item, or None if it goes back for another try."""
        job = chunk.job
        index = chunk.first + offset
        label = short_repr(chunk.items[offset])
        if chunk.attempt <= job.retries and not job.cancelled:
            self.stats.retried += 1
            job.requeued.append(chunk.one(offset, attempt=chunk.attempt + 1))
            self._post((ev.RETRY, worker_number, index, label, kind,
                        f"{remote.exc_type}: {remote.message}", chunk.attempt, time.time()))
            return None
        failure = Failure(index=chunk.position + offset, item=label, kind=kind,
                          exc_type=remote.exc_type, message=remote.message,
                          traceback=remote.traceback, worker=worker_number,
                          attempts=chunk.attempt, remote=remote)
        counter = kinds.outcome(kind).counter
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self.failures.append(failure)
        self._post((ev.FAIL, worker_number, index, label, kind, failure.error,
                    failure.traceback, failure.attempts, time.time()))
        return failure

    def _settle_failure(self, chunk: Chunk, offset: int, kind: kinds.Kind, remote: RemoteFailure,
                        worker_number, retry: bool = True) -> None:
        """Settle one item of `chunk` as failed (or put it back for another try)."""
        one = chunk.one(offset, attempt=None if retry else chunk.job.retries + 1)
        failure = self._failure_or_retry(one, 0, kind, remote, worker_number)
        if failure is not None:
            self._deliver(one, [None], [(0, failure)], worker_number)

    def _requeue(self, chunk: Chunk, offsets) -> None:
        """Put items of `chunk` back in line, each as a chunk of its own, same attempt."""
        chunk.job.requeued.extend(chunk.one(offset) for offset in offsets)

    def _deliver_around(self, chunk: Chunk, values: list, failures: list, worker_number,
                        retried: set) -> None:
        """Deliver the runs of `chunk` between items that went back for another try, so a
        delivery is always a contiguous run of the input."""
        start = None
        for offset in range(len(values) + 1):
            if offset < len(values) and offset not in retried:
                start = offset if start is None else start
            elif start is not None:
                part = Chunk(chunk.job, chunk.position + start, chunk.first + start,
                             chunk.items[start:offset])
                self._deliver(part, values[start:offset],
                              [(o - start, f) for o, f in failures if start <= o < offset],
                              worker_number)
                start = None

    def _deliver(self, chunk: Chunk, values: list, failures: list, worker_number) -> None:
        """Hand settled items to the job's caller."""
        job = chunk.job
        job.unsettled -= len(values)
        self._note_run(chunk, len(values), failures, worker_number)
        if job.future is not None:
            _settle_future(job.future, values[0], failures)
        else:
            job.outcomes.put((chunk.position, values, failures, worker_number))
        self._maybe_end(job)

    def _note_run(self, chunk: Chunk, count: int, failures: list, worker_number) -> None:
        """Keep what the run record needs of a settled run (bounded by MAX_RUNS)."""
        if len(self.runs) >= MAX_RUNS:
            self.runs_dropped += 1
            return
        label = short_repr(chunk.items[0]) if count == 1 else None
        failed = {offset: (f.kind, f.error, f.attempts) for offset, f in failures}
        self.runs.append((chunk.job.number, chunk.position, chunk.first, count, worker_number,
                          chunk.started, time.time(), chunk.attempt, label, failed))

    def _maybe_end(self, job: Job) -> None:
        if job.read_all and job.unsettled == 0 and not job.requeued and not job.ended:
            job.ended = True
            if job.input_error is not None:  # after every item read before it, as CPython
                job.outcomes.put((ERROR, job.input_error))
            job.outcomes.put(END)
            if job in self.jobs:
                self.jobs.remove(job)

    # -- cancelling and stopping ---------------------------------------------------------

    def _cancel_job(self, job: Job, error: BaseException | None = None) -> None:
        """Stop a job: nothing more is read or started, its running chunks are killed,
        and every item of it not settled counts as cancelled. `error`, if given, is
        what its caller raises."""
        if job.ended:
            return
        job.cancelled = True
        running, killed_slots = self._stop_running(job)
        never_read = max(job.counted - job.read, 0)
        count = job.unsettled + never_read
        self.stats.cancelled += count
        self._post((ev.CANCEL, count - running, killed_slots))
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
        self._maybe_end(job)

    def _drain_job(self, job: Job) -> None:
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
        self._post((ev.CANCEL, count, []))
        self._maybe_end(job)

    def _stop_running(self, job: Job) -> tuple[int, list]:
        """Kill the workers running chunks of `job`: (items they held, their numbers)."""
        killed_slots, running = [], 0
        for slot in list(self.slots):
            if slot.busy and slot.chunk.job is job:
                if slot.loading is None:  # else the panel never heard of its chunk
                    running += len(slot.chunk.items)
                    killed_slots.append(slot.number)
                slot.chunk = None
                self._kill(slot)
                slot.process.join()
                if self._stop_status is None:  # else the pool is closing: no new worker
                    self._replace(slot, "exited")
        return running, killed_slots

    def _end_input(self, job: Job, exc: Exception) -> None:
        """The input iterable raised: nothing more is read from it; what was read still
        runs, and the caller gets the error after its results (see `_maybe_end`)."""
        job.input_error = exc
        job.read_all = True
        if job.read < job.counted:
            self._count(job, job.read)
        self._maybe_end(job)

    def _cancel_all(self) -> None:
        """Cancel every job; if the dispatcher itself failed, its callers get why."""
        error = None
        if self.error is not None:
            error = RuntimeError(f"the pool's dispatcher failed: {self.error!r}")
            error.__cause__ = self.error
        for job in list(self.jobs):
            self._cancel_job(job, error)

    def _shutdown(self, status: str) -> None:
        self._cancel_all()
        terminate = status == "cancelled" or self.error is not None
        for slot in self.slots:
            if terminate or slot.busy or slot.process.exitcode is not None:
                self._kill(slot)
            else:
                try:
                    slot.conn.send_bytes(wire.dumps(wire.Stop()))
                except OSError:
                    self._kill(slot)
        deadline = time.monotonic() + STOP_GRACE
        self._hear_last_words(deadline)
        for slot in self.slots:
            slot.process.join(max(deadline - time.monotonic(), 0))
            if slot.process.exitcode is None:
                self._kill(slot)
                slot.process.join()
            _kill_group(slot.process.pid)  # what its tasks left running, also after a STOP
            slot.conn.close()
            self._post((ev.WORKER, slot.number, "exited", None))
        self.slots = []

    def _hear_last_words(self, deadline: float) -> None:
        """Until the stopped workers exit (or `deadline`), read what they send before
        exiting: a Worker.teardown that raised."""
        exits = {slot.process.sentinel: slot for slot in self.slots}
        conns = {slot.conn: slot for slot in self.slots}
        while exits or conns:
            left = deadline - time.monotonic()
            ready = wait(list(exits) + list(conns), left) if left > 0 else []
            if not ready:
                return
            for handle in ready:
                if handle in exits:
                    del exits[handle]
                    continue
                try:
                    message = wire.loads(handle.recv_bytes())
                except (EOFError, OSError):
                    del conns[handle]
                    continue
                except Exception:
                    continue  # a result nobody waits for any more
                if isinstance(message, wire.TeardownFailed):
                    self._worker_failure(conns[handle], "teardown", message.failure)

    def _warn_teardowns(self) -> None:
        """A RuntimeWarning per Worker.teardown that raised (in the caller's thread)."""
        for failure in self.worker_failures:
            if failure.kind == "teardown":
                warnings.warn(f"worker {failure.worker}'s Worker.teardown() raised "
                              f"{failure.error} (pool.report().workers has its traceback)",
                              RuntimeWarning, stacklevel=4)

    # -- workers ---------------------------------------------------------------------------

    def _spawn(self, number: int) -> Slot:
        pool = self.pool
        channel = pool._session.channel
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        worker_args = pool.worker_args[number] if pool.worker_args else None
        process = self.ctx.Process(
            target=worker.main, name=f"poolbars-worker-{number}", daemon=True,
            args=(number, child_end, channel.address, channel.authkey, self._board.array,
                  pool.initializer, pool.initargs, worker_args, pool.capture_tqdm))
        self._post((ev.WORKER, number, "starting", None))
        process.start()
        child_end.close()
        return Slot(number, process, parent_end)

    def _kill(self, slot: Slot) -> None:
        """Kill `slot`'s worker with all its tasks started: its process group (the worker
        leads it), and the group of a command it was running (a session of its own)."""
        group = self._board.group(slot.number)
        if group > 0:
            _kill_group(group)
            self._board.clear_group(slot.number)
        _kill_group(slot.process.pid)
        _kill(slot.process)  # a worker that has not made its group yet

    def _replace(self, slot: Slot, state: str, failed_starts: int = 0) -> None:
        """Close `slot`'s worker for good and start a fresh one in its place."""
        self._kill(slot)
        slot.process.join()
        slot.conn.close()
        self._post((ev.WORKER, slot.number, state, slot.pid))
        fresh = self._spawn(slot.number)
        fresh.failed_starts = failed_starts
        self.slots[self.slots.index(slot)] = fresh

    def _setup_failed(self, slot: Slot, remote: RemoteFailure) -> None:
        """`slot`'s initializer or Worker.setup failed: record it once; the chunk it held
        goes back in line untouched (it never ran); the worker is retired when it exits."""
        if slot.setup_failed:
            return
        slot.setup_failed = True
        self.failures.append(self._worker_failure(slot, "setup", remote))
        if slot.chunk is not None:
            chunk, slot.chunk, slot.loading = slot.chunk, None, None
            chunk.job.requeued.appendleft(chunk)

    def _worker_failure(self, slot: Slot, kind: kinds.WorkerKind, remote: RemoteFailure) -> Failure:
        """Record a failure of the worker itself (kind "setup" or "teardown"), not of an item."""
        failure = Failure(index=None, item="", kind=kind, exc_type=remote.exc_type,
                          message=remote.message, traceback=remote.traceback,
                          worker=slot.number, remote=remote)
        self.worker_failures.append(failure)
        self._post((ev.WORKER_FAIL, slot.number, slot.process.pid, kind, failure.error,
                    failure.traceback, time.time()))
        return failure

    def _retire_for_good(self, slot: Slot) -> None:
        """A worker that could not start or be set up is not replaced; with none left,
        every waiting job fails with the reason (the setup's own exception)."""
        slot.process.join()
        slot.conn.close()
        if not slot.setup_failed:  # else its lane already says "setup failed"
            self._post((ev.WORKER, slot.number, "crashed", slot.pid))
        self.slots.remove(slot)
        if not self.slots:
            setups = [f for f in self.worker_failures if f.kind == "setup"]
            text = (f"every worker {_describe_exit(slot.process.exitcode)} during start-up. "
                    "In a script, start the pool under `if __name__ == \"__main__\":` "
                    "(workers import the main module), and check the workers' stderr")
            self._fail_everything(setups[0] if setups else Failure(
                None, "", "setup", "WorkerCrashed", text, "", None))

    def _fail_everything(self, failure: Failure) -> None:
        """No worker is left: every job, now and later, fails with `failure`."""
        self.start_failure = failure
        for job in list(self.jobs):
            self._cancel_job(job, self._start_error())

    def _start_error(self) -> BaseException:
        """What a job raises when no worker could be set up: the setup's own exception
        (also a TaskFailed), with a note that says so."""
        failure = self.start_failure
        exc = failure.to_exception()
        if failure.worker is not None:
            exc.add_note(f"no worker could start: {failure.error} (worker {failure.worker}'s "
                         "initializer or setup; pool.failures lists every worker's)")
        return exc

    def _post(self, *events: tuple) -> None:
        self.pool._session.post(list(events))


def _settle_future(future: Future, value, failures: list) -> None:
    if future.cancelled():
        return
    if failures:
        future.set_exception(failures[0][1].to_exception())
    else:
        future.set_result(value)


def _load_each(blobs: list, failures: list) -> tuple[list, list]:
    """Values of an EACH message loaded one by one, and failures: each one that does not
    load here fails its own item only."""
    values, failed = [], dict(failures)
    for offset, blob in enumerate(blobs):
        try:
            values.append(wire.loads(blob))
        except Exception as exc:
            values.append(None)
            failed[offset] = _unloadable_failure(exc)
    return values, sorted(failed.items())


def _unloadable_failure(exc: Exception) -> RemoteFailure:
    remote = RemoteFailure.from_exception(exc)
    remote.message = ("the result could not be unpickled in the parent "
                      f"({remote.message}); return plain data from the task")
    return remote


def _readable(conn) -> bool:
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False


def _kill(process) -> None:
    try:
        process.kill()
    except (OSError, AttributeError, ValueError):
        pass


def _kill_group(pgid: int | None) -> None:
    """SIGKILL process group `pgid` (gone already, or never made: nothing to do). A dead
    leader's pid is not reused while its group has members, so this hits no stranger."""
    if pgid:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
