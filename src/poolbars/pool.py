"""Pool: the user's side of the parallel map. Its options (checked in `options.py`) as
plain attributes, the lifecycle (`with`), and the map family. Once started, a pool holds
its parts in a `Running` (`running.py`: journal, session, engine, job runner), through
which map calls make jobs (`runner.py`) for the engine's thread (`engine.py`) and gather
their settled runs into results (`results.py`), in order, under the chosen error policy
(through `journaled.py` when the pool has a journal)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .engine.book import Stats
from .errors import Failure
from .options import PoolOptions, check_commands
from .protocol import wire
from .runner import JobSettings
from .running import Running, close_dropped

if TYPE_CHECKING:
    from .handle import MapHandle
    from .panel.snapshot import PanelStatus, Snapshot
    from .panel.state import PanelState
    from .record.report import RunReport


class Pool:
    """A pool of worker processes with a live progress panel.

    >>> with Pool(4, title="Convert") as pool:          # doctest: +SKIP
    ...     results = pool.map(work, range(40))

    on_error: "raise" (stop feeding, cancel what is pending, raise the first failure),
    "return" (the `Failure` stands in the results at the item's place) or "skip" (failed
    items are left out). `pool.failures` lists every failure whatever the policy.
    retries: extra attempts for an item that raised, timed out or crashed its worker.
    timeout: seconds one item may run; past it, its worker is killed and replaced. It
    counts the task only: a worker's start-up, initializer, the import of the task's
    module and `Worker.setup` get `setup_timeout` seconds each (default: no limit, or
    max(10, 10 × timeout) when `timeout` is given). A worker whose initializer or setup
    fails (or overruns) is retired and the others go on; if none is left, the map raises
    that error.
    capture_tqdm: tqdm bars made inside tasks show as the task's inner bar (and print
    nothing); tqdm is only touched if a task imports it.
    panel: a `poolbars.Panel` to report to, instead of a panel of the pool's own.
    cluster: a `distributed.Client`: run on that Dask cluster instead of local workers.
    journal: a file (or directory) where map/starmap write each finished item; a re-run
    with the same journal skips them and returns their stored results. A journal from
    another function or input is refused unless resume="force" (resume=False: start over).
    """

    # the options, set as plain attributes by __init__ from PoolOptions (checked there)
    processes: int
    title: str | None
    display: Any
    initializer: Callable | None
    initargs: tuple
    on_error: str
    retries: int
    timeout: float | None
    setup_timeout: float | None
    chunksize: int | None
    max_in_flight: int | None
    max_tasks_per_child: int | None
    start_method: str | None
    stale_after: float | None
    on_success: Callable | None
    on_failure: Callable | None
    on_exit: Callable | None
    capture_tqdm: bool
    panel: Any
    cluster: Any
    journal_path: Any  # the `journal` option
    resume: bool | str

    def __init__(self, processes: int | None = None, *, title: str | None = None,
                 display="auto", initializer: Callable | None = None, initargs: tuple = (),
                 worker_args: list | None = None, on_error: str = "raise", retries: int = 0,
                 timeout: float | None = None, setup_timeout: float | None = None,
                 chunksize: int | None = None, max_in_flight: int | None = None,
                 max_tasks_per_child: int | None = None, start_method: str | None = None,
                 stale_after: float | None = None,
                 on_success: Callable | None = None, on_failure: Callable | None = None,
                 on_exit: Callable | None = None, capture_tqdm: bool = True, panel=None,
                 cluster=None, journal=None, resume=True, **unknown):
        self.options = options = PoolOptions.build(
            processes, title=title, display=display, initializer=initializer,
            initargs=initargs, worker_args=worker_args, on_error=on_error, retries=retries,
            timeout=timeout, setup_timeout=setup_timeout, chunksize=chunksize,
            max_in_flight=max_in_flight, max_tasks_per_child=max_tasks_per_child,
            start_method=start_method, stale_after=stale_after, on_success=on_success,
            on_failure=on_failure, on_exit=on_exit, capture_tqdm=capture_tqdm, panel=panel,
            cluster=cluster, journal=journal, resume=resume, **unknown)
        # the options as plain attributes, as always: users and the engine read them
        vars(self).update({name: getattr(options, name) for name in PoolOptions.names()
                           if name != "journal"}, journal_path=options.journal)
        self.worker_args = (None if options.worker_args is None  # None iff not given
                            else list(options.worker_args))
        self._running: Running | None = None  # the started pool's parts
        self._closed = False
        self._lock = threading.RLock()  # start() and close(), from any thread

    # -- what a user reads -----------------------------------------------------------------

    @property
    def failures(self) -> list[Failure]:
        """Every item that failed for good: index, item, kind, exception, traceback, …;
        and every worker whose setup failed (kind "setup", index None, worker set)."""
        return list(self._running.engine.failures) if self._running else []

    @property
    def stats(self) -> Stats:
        """Counts of items: total, done, failed, timed_out, crashed, retried, cancelled,
        and elapsed seconds. Once closed, done + failed + timed_out + crashed + cancelled
        == total."""
        return self._running.stats() if self._running else Stats()

    @property
    def ready_at(self) -> float | None:
        """When every first worker had started (for measuring start-up)."""
        return self._running.engine.ready_at if self._running else None

    @property
    def started_at(self) -> float | None:
        """When the pool started (None until then)."""
        return self._running.started_at if self._running else None

    @property
    def closed_at(self) -> float | None:
        """When the pool's workers had stopped (None until then)."""
        return self._running.closed_at if self._running else None

    @property
    def state(self) -> PanelState | None:
        """The panel's `PanelState` (written by the collector thread: read it after the
        `with` block, or take `snapshot()` while running)."""
        return self._running.session.state if self._running else None

    def snapshot(self) -> Snapshot:
        """The panel's current state as the views see it (see docs/snapshot.md)."""
        return self._started().snapshot()

    def report(self) -> RunReport:
        """The run record (`RunReport`): status, counts, and one `TaskRecord` per settled
        item — map, index, label, worker, start, end, status, attempts, inner progress,
        error. `.to_dict()` is JSON-ready; `.to_records()` makes a pandas DataFrame."""
        return self._started("there is nothing to report").report(self.title or "")

    def results_so_far(self) -> dict:
        """{position: result} of the latest map/starmap's items that finished well: still
        there after an interrupt or an error."""
        return self._running.results.so_far() if self._running else {}

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Pool:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        status: PanelStatus = ("cancelled" if interrupted else
                               "failed" if exc_type is not None or self.failures else "done")
        try:  # under a Ctrl-C, a second one adds nothing to the first
            self._close(status, replay=not interrupted)
        except KeyboardInterrupt:
            # it came before close() could hold it back: finish closing, then let it go
            self._close("cancelled", replay=False)
            if not interrupted:
                raise

    def start(self) -> None:
        """Open the panel and start the workers (`with` does this)."""
        with self._lock:  # several threads may map on a pool that has not started yet
            if self._closed:
                raise RuntimeError("this Pool is closed: a pool runs once; create a new "
                                   "Pool for the next `with` block")
            if self._running is None:  # its session from the attributes as they are now
                self._running = Running(self.options, self.title or "", self.display,
                                        self.stale_after, self.panel, self.journal_path,
                                        self.resume)

    def __del__(self) -> None:
        running = getattr(self, "_running", None)
        if running is not None and not running.closing:  # dropped unclosed: warn, close
            close_dropped(self, self.close, f"Pool ({self.processes} processes, title="
                                            f"{self.title!r})")

    def close(self, status: PanelStatus | None = None) -> None:
        """Stop the workers, leave the panel in its final state, call `on_exit`.
        Idempotent. `status` defaults to "failed" if any item failed, else "done".
        A Ctrl-C during it is held until the workers and threads are stopped (so stats
        add up and nothing is left running), then raised."""
        self._close(status, replay=True)

    def _close(self, status: PanelStatus | None, replay: bool) -> None:
        with self._lock:
            self._closed = True  # nothing starts from here on
            running = self._running
        if running is not None:  # it closes once, and calls on_exit
            running.close(status, self.on_exit, replay)

    # -- the map family ------------------------------------------------------------------

    def map(self, fn: Callable, iterable: Iterable) -> list:
        """`[fn(x) for x in iterable]`, run in the workers; results in input order.

        Under on_error="raise", the first failure is raised: a `TaskFailed` that is also
        an instance of the task's own exception type, with the worker's traceback as its
        cause. `fn` may also be a `Worker` subclass."""
        return self._usable().collect(fn, iterable, wire.CALL_ITEM, self.on_error,
                                      self._settings())

    def starmap(self, fn: Callable, iterable: Iterable) -> list:
        """`[fn(*args) for args in iterable]`, like `map`."""
        return self._usable().collect(fn, iterable, wire.CALL_STAR, self.on_error,
                                      self._settings())

    def imap(self, fn: Callable, iterable: Iterable) -> Iterator:
        """Like `map`, but lazy: the input is read as workers need it (at most
        `max_in_flight` items ahead of what you have taken), results come in input order
        as soon as they are ready."""
        yield from self._usable().runner.in_order(fn, iterable, self.on_error,
                                                  self._settings())

    def imap_unordered(self, fn: Callable, iterable: Iterable) -> Iterator:
        """Like `imap`, but results come as soon as each is ready, in any order."""
        yield from self._usable().runner.unordered(fn, iterable, self.on_error,
                                                   self._settings())

    def map_async(self, fn: Callable, iterable: Iterable) -> MapHandle:
        """Start `map` in the background and return a `MapHandle` at once: the panel keeps
        updating while you run other cells, and its Stop button drains the run.
        `handle.result(timeout=None)` gives the results."""
        return self._usable().map_async(fn, iterable, self.on_error, self._settings(), self)

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        """Run `fn(*args, **kwargs)` in a worker; a `concurrent.futures.Future` of it."""
        return self._usable().runner.submit(fn, args, kwargs, self._settings())

    def run_commands(self, commands, retries: int = 0, timeout: float | None = None,
                     env: dict | None = None, cwd=None) -> list:
        """Run each command (an argv list, or a string run by the shell) as a subprocess,
        one per worker slot. Its stdout lines `PROGRESS: n`, `TOTAL: n`, `STATUS: name`,
        `MESSAGE: text` drive its bar; other lines form a log tail shown if it fails.
        Returns a `CommandResult` per command, in order (exit code, duration, log tail),
        whatever happened: failures are in the panel and in `pool.failures`."""
        from .progress.commands import CommandSpec, command_result, run_command

        commands = check_commands(commands, retries, timeout)
        specs = [CommandSpec(command, env, None if cwd is None else os.fspath(cwd))
                 for command in commands]
        results = self._usable().collect(run_command, specs, wire.CALL_ITEM, "return",
                                         self._settings(retries, timeout))
        return [command_result(command, result) for command, result in zip(commands, results)]

    def _settings(self, retries: int | None = None,
                  timeout: float | None = None) -> JobSettings:
        """What a map call runs with: the pool's options as they are now."""
        return JobSettings(self.retries if retries is None else retries,
                           self.timeout if timeout is None else timeout,
                           self.max_in_flight, self.on_success, self.on_failure)

    def _usable(self) -> Running:
        """The started pool's parts (starting the pool if need be)."""
        if self._closed:
            raise RuntimeError("this Pool is closed; use it inside its `with` block")
        self.start()  # at once if started; else once, whichever thread comes first
        return self._started()

    def _started(self, why: str = "use it in a `with` block first") -> Running:
        if self._running is None:
            raise RuntimeError(f"the pool has not started: {why}")
        return self._running


def map(fn: Callable, iterable: Iterable, processes: int | None = None, *,
        block: bool = True, **options):
    """`Pool(processes, **options).map(fn, iterable)` in one call. With block=False: a
    `MapHandle` at once, and the pool closes itself when the map is over."""
    if not block:
        pool = Pool(processes, **options)
        pool.start()
        handle = pool.map_async(fn, iterable)
        handle.add_done_callback(lambda _: pool.close())
        return handle
    with Pool(processes, **options) as pool:
        return pool.map(fn, iterable)
