"""The caller's side of a pool's jobs: `JobRunner` makes a `Job` of each map call, hands
it to the engine's thread, and turns its outcomes into settled runs of items in the
caller's thread, with the pool's callbacks (`on_success`, `on_failure`) and a `Results`'
error policy applied. Used by `Pool` (map, imap, submit, …), the journaled map and
`MapHandle` alike.

Shared objects and who writes them:
- `Job.outcomes`: the engine's thread puts, `settled`/`rest` take (the caller's thread).
- `Job.consumed`: written here only (`taken`), read by the engine for backpressure.
- `JobRunner.closed`: set once by the pool as it closes, read by `settled`.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from typing import (TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator, List,
                    NamedTuple, Optional, Tuple)

from .engine.book import END, ERROR, Job
from .errors import Failure
from .options import check_mappable
from .protocol import wire
from .results import Results, kept

if TYPE_CHECKING:
    from .engine.loop import Engine

CLOSED_UNDER_JOB = ("the pool closed before this map finished, so its results are "
                    "incomplete: read imap/imap_unordered results (and wait for maps run "
                    "from other threads) inside the pool's `with` block")
Settled = Tuple[int, List[Any], Optional[int]]  # a settled run: position, values, worker
REST_SECONDS = 10.0  # how long `rest` waits for a cancelled job's last runs


def length_of(iterable: Any) -> int | None:
    """len() of the input, if it has one (a hint: a generator has none)."""
    try:
        return len(iterable)
    except Exception:
        return None


class JobSettings(NamedTuple):
    """What one map call runs with, read from the pool's options when it is called."""

    retries: int
    timeout: float | None
    max_in_flight: int | None
    on_success: Callable[..., Any] | None
    on_failure: Callable[..., Any] | None


class JobRunner:
    """The jobs of one started pool: its functions (sent once each), its jobs, their
    settled runs."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.closed = False  # the pool is closing: a job cancelled now ended short
        self._functions: dict[int, object] = {}
        self._lock = threading.Lock()  # function ids, also when threads map at once

    def register(self, fn: object) -> int:
        """`fn`'s id, sending it to the workers the first time; a TypeError if it cannot
        be sent."""
        with self._lock:
            for fn_id, known in self._functions.items():
                if known is fn:
                    return fn_id
            try:
                payload = wire.dill_dumps(fn)
            except Exception as exc:
                raise TypeError(f"{fn!r} cannot be sent to the workers ({exc}); define it at "
                                "the top level of a module or notebook cell") from exc
            fn_id = len(self._functions)
            self._functions[fn_id] = fn
            self.engine.add_function(fn_id, payload)
            return fn_id

    def job(self, fn: object, iterable: Iterable[Any], call: int, settings: JobSettings,
            future: Future[Any] | None = None, length: int | None = None) -> Job:
        """A job of `fn` over `iterable` (both checked first); one with a `future` is
        submitted at once, the others by `settled`."""
        check_mappable(fn, iterable)
        job = Job(self.register(fn), call, iterable,
                  length_of(iterable) if length is None else length, settings.max_in_flight,
                  future, settings.retries, settings.timeout)
        if future is not None:
            self.engine.submit(job)
        return job

    def collect(self, fn: object, iterable: Iterable[Any], call: int, results: Results,
                settings: JobSettings) -> list[Any]:
        """map's list: `fn` over `iterable` run to its end, in input order (`results`
        keeps it)."""
        job = self.job(fn, iterable, call, settings)
        for position, values, _ in self.settled(job, results, settings):
            results.add(position, values)
            self.taken(job, len(values))
        return results.in_order()

    def in_order(self, fn: object, iterable: Iterable[Any], on_error: str,
                 settings: JobSettings) -> Iterator[Any]:
        """imap's results: each as soon as it and every one before it have settled."""
        job = self.job(fn, iterable, wire.CALL_ITEM, settings)
        results = Results(on_error)  # holds only the runs that wait for an earlier one
        for position, values, _ in self.settled(job, results, settings):
            results.add(position, values)
            while (run := results.next_in_order()) is not None:
                yield from kept(run)
                self.taken(job, len(run))

    def unordered(self, fn: object, iterable: Iterable[Any], on_error: str,
                  settings: JobSettings) -> Iterator[Any]:
        """imap_unordered's results: each run's as soon as it settles."""
        job = self.job(fn, iterable, wire.CALL_ITEM, settings)
        for _, values, _ in self.settled(job, Results(on_error), settings):
            yield from kept(values)
            self.taken(job, len(values))

    def submit(self, fn: object, args: tuple[Any, ...], kwargs: dict[str, Any],
               settings: JobSettings) -> Future[Any]:
        """A `Future` of `fn(*args, **kwargs)`, run at once; its outcome goes to the
        callbacks too."""
        future: Future[Any] = Future()
        self.job(fn, [(args, kwargs)], wire.CALL_ARGS, settings, future)
        if settings.on_success is not None or settings.on_failure is not None:
            future.add_done_callback(lambda done: self._future_callbacks(done, settings))
        return future

    def _future_callbacks(self, future: Future[Any], settings: JobSettings) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None and settings.on_success is not None:
            settings.on_success(None, future.result(), None)
        elif exc is not None and settings.on_failure is not None and self.engine.failures:
            settings.on_failure(self.engine.failures[-1])

    def settled(self, job: Job, results: Results, settings: JobSettings,
                where: list[int] | None = None,
                partial: bool = False) -> Generator[Settled, None, None]:
        """Run `job`; yield (position, values, worker) per settled run of items, with
        `settings`' callbacks and `results`' error policy applied (its caller keeps the
        runs it needs). `where` names each item by its place in a filtered input.
        Stopping early cancels the job. If the pool closes first, raise (never end
        short) unless `partial` results are wanted."""
        self.engine.submit(job)
        try:
            while True:
                try:
                    outcome = job.outcomes.get(timeout=0.25)
                except queue.Empty:
                    self._check_alive()
                    continue
                if outcome == END:
                    if job.cancelled and self.closed and not partial:
                        raise RuntimeError(CLOSED_UNDER_JOB)
                    return
                if outcome[0] == ERROR:
                    raise outcome[1]
                position, values, failures, worker = outcome
                self._apply_policy(position, values, failures, worker, results, settings,
                                   where)
                yield position, values, worker
        finally:
            if not job.ended:
                self.engine.cancel(job)

    def _apply_policy(self, position: int, values: list[Any],
                      failures: list[tuple[int, Failure]], worker: int | None,
                      results: Results, settings: JobSettings,
                      where: list[int] | None) -> None:
        """Call the callbacks for one settled run and put each failure's stand-in in
        `values` (raises, under on_error="raise")."""
        on_success, on_failure = settings.on_success, settings.on_failure
        for offset, failure in failures:
            if where is not None:  # the job ran a filtered input: name the original
                failure.index = where[position + offset]
            if on_failure is not None:
                on_failure(failure)
            values[offset] = results.stand_in(failure)
        if on_success is not None:
            failed = {offset for offset, _ in failures}
            for offset, value in enumerate(values):
                if offset not in failed:
                    index = position + offset
                    on_success(index if where is None else where[index], value, worker)

    def rest(self, job: Job) -> Iterator[tuple[int, list[Any]]]:
        """After `job` was cancelled: (position, values) of each run that settled before
        the cancel took effect, its failures in place (the engine ends the job with END
        once it has; waits REST_SECONDS at most)."""
        deadline = time.monotonic() + REST_SECONDS
        while self.engine.alive and time.monotonic() < deadline:
            try:
                outcome = job.outcomes.get(timeout=0.1)
            except queue.Empty:
                continue
            if outcome == END:
                return
            if outcome[0] != ERROR:
                position, values, failures, _ = outcome
                for offset, failure in failures:
                    values[offset] = failure
                yield position, values

    def taken(self, job: Job, count: int) -> None:
        """The caller has used `count` more results of `job`: the engine may read on."""
        job.consumed += count
        if job.throttled:
            self.engine.wake()

    def drain(self, job: Job) -> None:
        """Start nothing more of `job`; what runs finishes (the Stop button)."""
        self.engine.drain(job)

    def cancel(self, job: Job) -> None:
        """Stop `job` now: what runs is killed and counts as cancelled."""
        self.engine.cancel(job)

    def _check_alive(self) -> None:
        if not self.engine.alive:
            raise RuntimeError("the pool's engine thread stopped") from self.engine.error
