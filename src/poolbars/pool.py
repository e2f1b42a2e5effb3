"""Pool: a context-managed parallel map over its own worker processes, with a live panel.

The parent owns dispatch. Each worker has a pipe; the parent sends it one chunk of items
at a time and waits on every pipe and every process sentinel at once, so it always knows
which worker runs what, and a worker that dies is noticed at once rather than waited on.
Each worker writes the index of the item it is running into shared memory, so a crash is
pinned on the right item even inside a chunk.

Chunks are contiguous runs of the input and adapt: the first holds one item; while items
prove quick, chunks grow (x4 per step) towards ~`CHUNK_SECONDS` of work, so tiny tasks are
not dominated by IPC while slow tasks go out one by one (and show one by one in the panel).
Results travel a chunk at a time and are put back in input order by chunk, so the parent
does no Python work per item.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import multiprocess
from multiprocess.connection import wait

from . import events as ev
from . import wire, worker
from .display import resolve
from .errors import Failure, RemoteFailure, short_repr
from .session import Session
from .wire import NO_ITEM

CHUNK_SECONDS = 0.05  # target work per chunk once items prove quick
MAX_GROWTH = 4  # a chunk is at most this many times the last one
STOP_GRACE = 1.0  # seconds a worker gets to exit after STOP before it is killed
ON_ERROR = ("raise", "return", "skip")
_SKIP = object()  # stands in the values of a chunk for an item left out (on_error="skip")


def default_start_method() -> str:
    """forkserver where it exists: safe from a threaded kernel, and fast after the first
    start; spawn elsewhere. `fork` is never the default (threads + fork can deadlock)."""
    return "forkserver" if "forkserver" in multiprocess.get_all_start_methods() else "spawn"


@dataclass
class _Chunk:
    """A contiguous run of items, sent to one worker as a whole."""

    first: int  # the pool-wide index of items[0]
    items: list
    started: float = 0.0


class _Worker:
    """The parent's view of one worker process."""

    def __init__(self, slot: int, process, conn):
        self.slot = slot
        self.process = process
        self.conn = conn
        self.pid: int | None = None
        self.ready = False
        self.chunk: _Chunk | None = None
        self.functions: set[int] = set()

    @property
    def busy(self) -> bool:
        return self.chunk is not None


class Pool:
    """A pool of worker processes with a live progress panel.

    >>> with Pool(4, title="Convert") as pool:          # doctest: +SKIP
    ...     results = pool.map(work, range(40))

    `on_error`: "raise" (stop, cancel what is pending, raise the first failure), "return"
    (the `Failure` stands in the results at the item's place) or "skip" (failed items are
    left out). `pool.failures` lists every failure whatever the policy.
    """

    def __init__(self, processes: int | None = None, *, title: str | None = None,
                 display="auto", initializer: Callable | None = None, initargs: tuple = (),
                 on_error: str = "raise", chunksize: int | None = None,
                 start_method: str | None = None):
        if processes is None:
            processes = os.cpu_count() or 1
        if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
            raise ValueError(f"processes={processes!r}: give a whole number of worker "
                             "processes, 1 or more (or None for one per CPU)")
        if chunksize is not None and (not isinstance(chunksize, int) or chunksize < 1):
            raise ValueError(f"chunksize={chunksize!r}: give a whole number, 1 or more, "
                             "or None to let the pool size chunks by measured task time")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error={on_error!r}: choose one of {ON_ERROR}")
        if initializer is not None and not callable(initializer):
            raise TypeError(f"initializer={initializer!r} is not callable")
        methods = multiprocess.get_all_start_methods()
        start_method = start_method or default_start_method()
        if start_method not in methods:
            raise ValueError(f"start_method={start_method!r} is not available here; "
                             f"choose one of {methods}")
        resolve(display)  # check the value now rather than on enter
        self.processes = processes
        self.title = title
        self.display = display
        self.initializer = initializer
        self.initargs = tuple(initargs)
        self.on_error = on_error
        self.chunksize = chunksize
        self.start_method = start_method
        self.failures: list[Failure] = []
        self.started_at: float | None = None
        self.ready_at: float | None = None  # when every first worker had started
        self._ctx = multiprocess.get_context(start_method)
        self._session: Session | None = None
        self._workers: list[_Worker] = []
        self._current = None  # shared memory: per slot, the index of the item running
        self._functions: dict[int, tuple[Callable, bytes]] = {}
        self._next_index = 0  # pool-wide index of the next item read
        self._seen = 0
        self._closed = False
        self._feed: _Feed | None = None  # the map being run
        self._timing: tuple[int, float] | None = None  # (items, seconds) of the last chunk

    @property
    def state(self):
        """The panel's `PanelState` (written by the collector thread; read it after the
        `with` block, or take `snapshot()` while running)."""
        return self._session.state if self._session is not None else None

    def snapshot(self) -> dict:
        """The panel's current state as the views see it (see docs/snapshot.md)."""
        if self._session is None:
            raise RuntimeError("the pool has not started: use it in a `with` block first")
        state = self._session.state
        with state.lock:
            return state.snapshot()

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> "Pool":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.close(status="cancelled")
        else:
            self.close(status="failed" if exc_type is not None or self.failures else "done")

    def start(self) -> None:
        """Open the panel and start the workers (`with` does this)."""
        if self._session is not None:
            return
        if self._closed:
            raise RuntimeError("this Pool is closed; create a new one")
        self.started_at = time.time()
        if self.start_method == "forkserver":
            self._ctx.set_forkserver_preload(["poolbars.worker"])
        self._session = Session(title=self.title or "", display=self.display, serve=True)
        self._current = self._ctx.RawArray("d", [NO_ITEM] * self.processes)
        self._workers = [self._spawn(slot) for slot in range(self.processes)]

    def _spawn(self, slot: int) -> _Worker:
        channel = self._session.channel
        parent_end, child_end = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker.main, name=f"poolbars-worker-{slot}", daemon=True,
            args=(slot, child_end, channel.address, channel.authkey, self._current,
                  self.initializer, self.initargs))
        self._post((ev.WORKER, slot, "starting", None))
        process.start()
        child_end.close()
        return _Worker(slot, process, parent_end)

    def close(self, status: str = "done") -> None:
        """Stop the workers and leave the panel in its final state. Idempotent."""
        if self._closed or self._session is None:
            self._closed = True
            return
        self._closed = True
        try:
            self._stop_workers(terminate=status == "cancelled")
        finally:
            self._session.close(status)

    def _stop_workers(self, terminate: bool) -> None:
        for w in self._workers:
            if terminate or w.busy or not w.process.is_alive():
                _kill(w.process)
                continue
            try:
                w.conn.send_bytes(wire.dumps((wire.STOP,)))
            except OSError:
                _kill(w.process)
        deadline = time.monotonic() + STOP_GRACE
        for w in self._workers:
            w.process.join(max(deadline - time.monotonic(), 0))
            if w.process.is_alive():
                _kill(w.process)
                w.process.join()
            w.conn.close()
            self._post((ev.WORKER, w.slot, "exited", None))
        self._workers = []

    # -- maps --------------------------------------------------------------------------

    def map(self, fn: Callable, iterable: Iterable) -> list:
        """`[fn(x) for x in iterable]`, run in the workers; results in input order.

        Under on_error="raise" the first failure is raised: a `TaskFailed` that is also
        an instance of the task's own exception type, with the worker's traceback as its
        cause."""
        parts = dict(self._run(fn, iterable))
        results: list = []
        for position in sorted(parts):
            results += parts[position]
        return [v for v in results if v is not _SKIP] if self.on_error == "skip" else results

    def imap(self, fn: Callable, iterable: Iterable) -> Iterator:
        """Like `map`, but lazy: items are read as workers need them, and results are
        yielded in input order as soon as they are ready."""
        waiting: dict[int, list] = {}
        expect = 0
        for position, values in self._run(fn, iterable):
            waiting[position] = values
            while expect in waiting:
                values = waiting.pop(expect)
                expect += len(values)
                yield from (v for v in values if v is not _SKIP)

    # -- dispatch ----------------------------------------------------------------------

    def _run(self, fn: Callable, iterable: Iterable) -> Iterator[tuple[int, list]]:
        """Yield (position in the input, values) per finished chunk, in finishing order."""
        self._check_usable(fn, iterable)
        fn_id = self._register(fn)
        feed = self._feed = _Feed(iterable, self._next_index, self)
        self._timing = None
        try:
            while True:
                self._feed_idle_workers(fn_id, feed)
                if feed.exhausted and not any(w.busy for w in self._workers):
                    return
                for first, values, failures in self._collect():
                    for offset, failure in failures:
                        if self.on_error == "raise":
                            raise self._abort(feed, failure)
                        values[offset] = failure if self.on_error == "return" else _SKIP
                    yield first - feed.base, values
        finally:
            self._feed = None
            self._next_index = feed.next_index
            feed.close()

    def _abort(self, feed: "_Feed", failure: Failure) -> BaseException:
        """Stop feeding and cancel what still runs; the exception to raise."""
        feed.stop()
        for w in list(self._workers):
            if w.busy:
                self._post((ev.CANCEL, 0, [w.slot]))
                w.chunk = None
                self._restart(w, "exited")
        return failure.to_exception()

    def _check_usable(self, fn, iterable) -> None:
        if self._session is None:
            if self._closed:
                raise RuntimeError("this Pool is closed; use it inside its `with` block")
            self.start()
        if self._feed is not None:
            raise RuntimeError("this pool is already running a map: finish (or close) that "
                               "iterator first, or use a second Pool")
        if not callable(fn):
            raise TypeError(f"{fn!r} is not callable: pass the function to run on each item "
                            "first, then the iterable (pool.map(fn, items))")
        try:
            iter(iterable)
        except TypeError:
            raise TypeError(f"{type(iterable).__name__!r} object is not iterable: pass the "
                            "items to map over as a list, range, generator, …") from None

    def _register(self, fn) -> int:
        for fn_id, (known, _) in self._functions.items():
            if known is fn:
                return fn_id
        try:
            payload = wire.dill_dumps(fn)
        except Exception as exc:
            raise TypeError(f"{fn!r} cannot be sent to the workers ({exc}); define it at the "
                            "top level of a module or notebook cell") from exc
        fn_id = len(self._functions)
        self._functions[fn_id] = (fn, payload)
        return fn_id

    def _chunk_size(self, feed: "_Feed") -> int:
        if self.chunksize is not None:
            return self.chunksize
        if self._timing is None:
            return 1
        count, seconds = self._timing
        size = count * MAX_GROWTH if seconds <= 0 else int(count * CHUNK_SECONDS / seconds)
        size = min(size, count * MAX_GROWTH)
        if feed.total is not None:  # leave work for every worker towards the end
            remaining = feed.total - (feed.next_index - feed.base)
            size = min(size, math.ceil(remaining / (2 * self.processes)))
        return max(size, 1)

    def _feed_idle_workers(self, fn_id: int, feed: "_Feed") -> None:
        for w in self._workers:
            if w.ready and not w.busy and not feed.exhausted:
                chunk = feed.take(self._chunk_size(feed))
                if chunk is not None:
                    self._send(w, fn_id, chunk)

    def _send(self, w: _Worker, fn_id: int, chunk: _Chunk) -> None:
        try:
            data = wire.dumps((wire.TASKS, fn_id, chunk.first, chunk.items))
        except Exception as exc:
            if len(chunk.items) > 1:  # find the culprit: send the items one by one
                self._feed.requeue(chunk, range(len(chunk.items)))
            else:
                self._fail_unsendable(chunk, exc)
            return
        if fn_id not in w.functions:
            w.conn.send_bytes(wire.dumps((wire.FUNCTION, fn_id, self._functions[fn_id][1])))
            w.functions.add(fn_id)
        chunk.started = time.time()
        w.chunk = chunk
        self._post((ev.START, w.slot, chunk.first, len(chunk.items),
                    short_repr(chunk.items[0]), chunk.started))
        w.conn.send_bytes(data)

    def _fail_unsendable(self, chunk: _Chunk, exc: Exception) -> None:
        item = chunk.items[0]
        remote = RemoteFailure.from_exception(exc)
        remote.message = (f"item {chunk.first - self._feed.base} cannot be sent to a worker "
                          f"({remote.message}); map over plain data (paths, numbers, …)")
        failure = self._record(chunk.first, item, "error", remote, None)
        self._feed.outcomes.append((chunk.first, [None], [(0, failure)]))

    def _collect(self) -> list:
        """Wait for results or worker exits and return the outcomes, as
        (first index, values, [(offset, Failure), ...]) per chunk or lone item."""
        feed = self._feed
        if feed.outcomes:
            outcomes, feed.outcomes = feed.outcomes, []
            return outcomes
        watched = {}
        for w in self._workers:
            watched[w.conn] = w
            watched[w.process.sentinel] = w
        for ready in wait(list(watched)):
            w = watched[ready]
            if ready is w.conn:
                try:
                    data = w.conn.recv_bytes()
                except (EOFError, OSError):
                    continue  # the process sentinel reports the exit
                self._handle(w, data)
        for w in list(self._workers):
            if w.process.exitcode is not None:
                self._replace_dead(w)
        outcomes, feed.outcomes = feed.outcomes, []
        return outcomes

    def _handle(self, w: _Worker, data: bytes) -> None:
        try:
            message = wire.loads(data)
        except Exception as exc:  # e.g. a result type that cannot be rebuilt here
            remote = RemoteFailure.from_exception(exc)
            remote.message = ("the results could not be unpickled in the parent "
                              f"({remote.message}); return plain data from the task")
            count = len(w.chunk.items) if w.chunk else 0
            message = (wire.RESULTS, [None] * count, [(i, remote) for i in range(count)])
        if message[0] == wire.READY:
            w.ready, w.pid = True, message[1]
            self._post((ev.WORKER, w.slot, "idle", w.pid))
            if self.ready_at is None and all(x.ready for x in self._workers):
                self.ready_at = time.time()
            return
        _, values, remote_failures = message
        chunk, w.chunk = w.chunk, None
        now = time.time()
        failures = [(offset, self._record(chunk.first + offset, chunk.items[offset], "error",
                                          remote, w.slot))
                    for offset, remote in remote_failures]
        self._timing = (len(values), now - chunk.started)
        self._post((ev.DONE, w.slot, len(values) - len(failures), now),
                   (ev.WORKER, w.slot, "idle", w.pid))
        self._feed.outcomes.append((chunk.first, values, failures))

    def _record(self, index: int, item, kind: str, remote: RemoteFailure, slot) -> Failure:
        """Note a failed item in `failures` and on the panel."""
        base = self._feed.base if self._feed else 0
        failure = Failure(index=index - base, item=short_repr(item), kind=kind,
                          exc_type=remote.exc_type, message=remote.message,
                          traceback=remote.traceback, worker=slot, attempts=1, remote=remote)
        self.failures.append(failure)
        self._post((ev.FAIL, slot, index, failure.item, kind, failure.error, failure.traceback,
                    failure.attempts, time.time()))
        return failure

    def _replace_dead(self, w: _Worker) -> None:
        """A worker exited unasked: fail the item it was running, put the rest of its
        chunk back in line, and start a new worker in its slot."""
        chunk, w.chunk = w.chunk, None
        if chunk is not None:
            code = w.process.exitcode
            running = int(self._current[w.slot])
            offset = running - chunk.first if 0 <= running - chunk.first < len(chunk.items) else 0
            how = _describe_exit(code)
            hint = (" (SIGKILL is most often the out-of-memory killer)"
                    if code == -signal.SIGKILL else "")
            text = f"worker {w.slot} (pid {w.pid}) {how} while running this item{hint}"
            remote = RemoteFailure("WorkerCrashed", text, f"WorkerCrashed: {text}\n")
            failure = self._record(chunk.first + offset, chunk.items[offset], "crashed",
                                   remote, w.slot)
            self._post((ev.DONE, w.slot, 0, time.time()))
            self._feed.outcomes.append((chunk.first + offset, [None], [(0, failure)]))
            others = [i for i in range(len(chunk.items)) if i != offset]
            self._feed.requeue(chunk, others)  # their results died with the worker
        self._restart(w, "crashed")

    def _restart(self, w: _Worker, state: str) -> None:
        """Stop `w` for good (if it still runs) and start a fresh worker in its slot."""
        _kill(w.process)
        w.process.join()
        w.conn.close()
        self._post((ev.WORKER, w.slot, state, w.pid))
        self._workers[self._workers.index(w)] = self._spawn(w.slot)

    def _post(self, *events: tuple) -> None:
        if self._session is not None:
            self._session.post(list(events))


class _Feed:
    """One map's input: read lazily into contiguous chunks (items put back in line go
    first, one by one), with the panel told how many items were seen."""

    def __init__(self, iterable: Iterable, base: int, pool: Pool):
        try:
            self.total: int | None = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            self.total = None
        self._it = iter(iterable)
        self._requeued: collections.deque = collections.deque()
        self.base = base
        self.next_index = base
        self.exhausted = False  # nothing more to hand out
        self._read_all = False
        self.outcomes: list = []  # settled chunks not yet returned by Pool._collect
        self.pool = pool
        if self.total is not None:
            pool._seen += self.total
            pool._post((ev.SEEN, 0, pool._seen))

    def take(self, size: int) -> _Chunk | None:
        if self._requeued:
            chunk = self._requeued.popleft()
        elif self._read_all:
            chunk = None
        else:
            chunk = self._read(size)
        self.exhausted = not self._requeued and self._read_all
        return chunk

    def _read(self, size: int) -> _Chunk | None:
        first = self.next_index
        items = list(itertools.islice(self._it, size))
        self.next_index += len(items)
        self._read_all = len(items) < size
        if self.total is None:
            self.pool._seen += len(items)
            self.pool._post((ev.SEEN, len(items), self.pool._seen if self._read_all else None))
        return _Chunk(first, items) if items else None

    def requeue(self, chunk: _Chunk, offsets) -> None:
        """Put items of `chunk` back in line, each as a chunk of its own."""
        for offset in offsets:
            self._requeued.append(_Chunk(chunk.first + offset, [chunk.items[offset]]))
        self.exhausted = False

    def stop(self) -> None:
        self.exhausted = True

    def close(self) -> None:
        """Count what will never run as cancelled, and settle the panel's total."""
        never_run = sum(len(c.items) for c in self._requeued)
        unread = 0
        if self.total is not None:
            unread = max(self.total - (self.next_index - self.base), 0)
        if never_run or unread:
            self.pool._post((ev.CANCEL, never_run + unread, []))


def _kill(process) -> None:
    try:
        process.kill()
    except (OSError, AttributeError, ValueError):
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


def map(fn: Callable, iterable: Iterable, processes: int | None = None, **options) -> list:
    """`Pool(processes, **options).map(fn, iterable)` in one call."""
    with Pool(processes, **options) as pool:
        return pool.map(fn, iterable)
