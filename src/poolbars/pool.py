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
    from .panel.remote import Panel
    from .panel.snapshot import PanelStatus, Snapshot
    from .panel.state import PanelState
    from .record.report import RunReport


class Pool:
    """A pool of worker processes with a live progress panel.

    Use it as a context manager: `with` starts the workers and opens the panel (the widget
    in Jupyter, a live rich panel in a terminal, plain log lines otherwise); leaving the
    block stops the workers, cancels what has not run and leaves the panel in its final
    state. Inside, the map family (`map`, `starmap`, `imap`, `imap_unordered`,
    `map_async`, `submit`, `run_commands`) runs your function in the workers. Every
    option is checked here, at once; after the run, `failures`, `stats` and `report()`
    say what happened. A pool runs once: make a new one for the next `with` block.

    Args:
        processes: How many worker processes, a whole number ≥ 1. Default None: one per
            CPU (`os.cpu_count()`), or one per dict of `worker_args`, or one per thread
            of the Dask `cluster`.
        title: The panel's title. Default None: no title.
        display: Where the panel shows: `"auto"` (default: the widget in a Jupyter
            kernel, a live rich panel when stderr is a terminal, plain log lines
            otherwise), `"widget"`, `"terminal"`, `"log"`, or None (show nothing; the
            state is still kept).
        initializer: Called once in each worker before its first task, as
            `initializer(*initargs, **worker_args[i])`. Default None. A worker whose
            initializer raises is retired and the others go on; if none is left, the
            map raises that error.
        initargs: Positional arguments for `initializer`, any iterable. Default `()`.
        worker_args: One dict per worker process (a list or tuple, exactly `processes`
            long): keyword arguments of worker i's `initializer`, or of its
            `Worker.setup`. Default None: no keyword arguments.
        on_error: What a failed item does: `"raise"` (default: stop feeding, cancel what
            is pending, raise the first failure), `"return"` (its `Failure` stands in the
            results at the item's place) or `"skip"` (it is left out of the results).
            `pool.failures` lists every failure whatever the policy.
        retries: Extra attempts for an item that raised, timed out or crashed its
            worker, a whole number ≥ 0. Default 0.
        timeout: Seconds one item may run (a number > 0); past it, its worker is killed
            and replaced, and the item is retried (see `retries`) or fails as a
            `TaskTimeout`. Default None: no limit. It counts the task only.
        setup_timeout: Seconds (a number > 0) each of a worker's start-up, its
            initializer, the import of the task's module and `Worker.setup` may take.
            Default None: no limit, or max(10, 10 × timeout) when `timeout` is given.
        chunksize: Items sent to a worker at once, a whole number ≥ 1. Default None:
            chunks adapt, growing from one item towards ~50 ms of work each.
        max_in_flight: The most items read from the input and not yet taken by you, a
            whole number ≥ 1: it bounds memory for huge or endless inputs. Default
            None: four chunks per worker, and at least 64 items.
        max_tasks_per_child: Items a worker runs before it is replaced by a fresh one,
            a whole number ≥ 1 (it retires after the chunk that reaches it). Default
            None: workers live as long as the pool.
        start_method: How workers start: one of
            `multiprocess.get_all_start_methods()` (`"forkserver"`, `"spawn"`,
            `"fork"`). Default None: `"forkserver"` where it exists, else `"spawn"`.
        stale_after: Seconds (a number > 0) after which a lane with no news is marked
            stalled in the panel. Default None: never.
        on_success: Called in your process for every item that succeeded, as
            `on_success(index, value, worker)`. Default None.
        on_failure: Called in your process for every item that failed for good, as
            `on_failure(failure)` with its `Failure`. Default None.
        on_exit: Called with no arguments once the pool has closed. Default None.
        capture_tqdm: Whether tqdm bars made inside tasks show as the task's inner bar
            (and print nothing); tqdm is only touched if a task imports it. Default True.
        panel: A `poolbars.Panel` to report to instead of a panel of the pool's own.
            Default None.
        cluster: A `distributed.Client`: run on that Dask cluster instead of local
            workers. Default None. `timeout`, `setup_timeout`, `initializer`,
            `worker_args`, `max_tasks_per_child` and `start_method` cannot be used with
            it.
        journal: A file (or directory) path, str or `pathlib.Path`, where `map` and
            `starmap` write each finished item down; a re-run with the same journal
            skips those items and returns their stored results. Default None.
        resume: What to do with an existing `journal`: True (default: skip what it
            has), False (start it afresh) or `"force"` (reuse it even if the function or
            the input changed).
        **unknown: Not an option: any other keyword is refused with a TypeError that
            names the nearest right option.

    Raises:
        TypeError: An unknown (misspelt) option; a callback or `initializer` that is not
            callable; `worker_args` that is not a list of dicts; `initargs` that is not
            iterable; `panel` that is not a `poolbars.Panel`; `cluster` that is not a
            Dask client; `journal` that is not a path.
        ValueError: An option out of range (`processes` < 1, `retries` < 0, a timeout
            ≤ 0, …); `on_error`, `display`, `resume` or `start_method` not one of their
            values; `worker_args` of the wrong length; an option of local processes
            given with `cluster`. The message names the option, the value and the fix.

    Example:
        ```python
        import poolbars as pb

        def square(x):
            return x * x

        with pb.Pool(2, title="Squares") as pool:
            print(pool.map(square, range(5)))  # [0, 1, 4, 9, 16]
            print(pool.stats.done)  # 5
        ```
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
                 display: str | None = "auto", initializer: Callable | None = None, initargs: tuple = (),
                 worker_args: list | None = None, on_error: str = "raise", retries: int = 0,
                 timeout: float | None = None, setup_timeout: float | None = None,
                 chunksize: int | None = None, max_in_flight: int | None = None,
                 max_tasks_per_child: int | None = None, start_method: str | None = None,
                 stale_after: float | None = None,
                 on_success: Callable | None = None, on_failure: Callable | None = None,
                 on_exit: Callable | None = None, capture_tqdm: bool = True,
                 panel: Panel | None = None, cluster: Any = None,
                 journal: str | os.PathLike[str] | None = None, resume: bool | str = True,
                 **unknown: Any):
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
        """Every failure of this pool so far, oldest first, as `Failure` records.

        Each item that failed for good (after its retries), whatever `on_error` is: its
        index, item, kind (`"error"`, `"timeout"`, `"crashed"`), exception type and
        message, the worker's traceback, worker and attempts; and each worker whose
        setup or teardown failed (kind `"setup"` or `"teardown"`, index None). Empty
        before the pool starts.
        """
        return list(self._running.engine.failures) if self._running else []

    @property
    def stats(self) -> Stats:
        """The counts of this pool's items so far, as a `Stats`.

        Once the pool has closed, done + failed + timed_out + crashed + cancelled ==
        total. All zero before the pool starts.
        """
        return self._running.stats() if self._running else Stats()

    @property
    def ready_at(self) -> float | None:
        """When every first worker had started, as `time.time()` (for measuring start-up).

        None until then.
        """
        return self._running.engine.ready_at if self._running else None

    @property
    def started_at(self) -> float | None:
        """When the pool started, as `time.time()`; None until then."""
        return self._running.started_at if self._running else None

    @property
    def closed_at(self) -> float | None:
        """When the pool's workers had stopped, as `time.time()`; None until then."""
        return self._running.closed_at if self._running else None

    @property
    def state(self) -> PanelState | None:
        """The panel's state object, or None before the pool starts.

        It is written by the panel's own thread: read it after the `with` block, or take
        `snapshot()` while the pool runs.
        """
        return self._running.session.state if self._running else None

    def snapshot(self) -> Snapshot:
        """The panel's current state as a plain dict, as the views see it.

        Its keys and their meaning are those of the widget's traits (see
        [`ProgressPanel`][poolbars.ProgressPanel] and the snapshot page).

        Returns:
            A dict: title, status, overall counts, lanes, failures, timeline.

        Raises:
            RuntimeError: The pool has not started (use it in a `with` block first).
        """
        return self._started().snapshot()

    def report(self) -> RunReport:
        """The run record: what ran where, when, and how it ended.

        Call it during or after the run (also after the `with` block).

        Returns:
            A `RunReport`: status, counts, and one `TaskRecord` per settled item (map,
                index, label, worker, start, end, status, attempts, inner progress, meta,
                error), and one record per worker. `.to_dict()` is JSON-ready;
                `pandas.DataFrame(report.to_records())` is one row per task.

        Raises:
            RuntimeError: The pool has not started: there is nothing to report.
        """
        return self._started("there is nothing to report").report(self.title or "")

    def results_so_far(self) -> dict:
        """The results of the latest `map`/`starmap` that finished well so far.

        Still there after a Ctrl-C or an error cut the map short, so the work done is
        not lost.

        Returns:
            `{position: result}` for each item that finished well; `{}` before any map.
        """
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
        """Open the panel and start the workers; `with` (and the first map) does this.

        Raises:
            RuntimeError: The pool is closed: a pool runs once; create a new one.
            ValueError: The pool's `journal` has a damaged line (the message names the
                file and the line).
        """
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
        """Stop the workers, leave the panel in its final state, then call `on_exit`.

        Leaving the `with` block does this. Running items are killed and pending ones
        counted cancelled. Calling it again does nothing. A Ctrl-C during it is held
        until the workers and threads are stopped (so the stats add up and nothing is
        left running), then raised.

        Args:
            status: The panel's final status: `"done"`, `"failed"` or `"cancelled"`.
                Default None: `"failed"` if any item failed, else `"done"`.

        Raises:
            KeyboardInterrupt: A Ctrl-C came while closing (raised once it is over).
        """
        self._close(status, replay=True)

    def _close(self, status: PanelStatus | None, replay: bool) -> None:
        with self._lock:
            self._closed = True  # nothing starts from here on
            running = self._running
        if running is not None:  # it closes once, and calls on_exit
            running.close(status, self.on_exit, replay)

    # -- the map family ------------------------------------------------------------------

    def map(self, fn: Callable, iterable: Iterable) -> list:
        """`[fn(x) for x in iterable]`, run in the workers; the results in input order.

        Blocks until every item has settled, while the panel shows the progress. Under
        `on_error="raise"` the first failure stops the map: nothing more is fed, what
        is pending is cancelled and the failure is raised. Under `"return"` a `Failure`
        stands at a failed item's place; under `"skip"` it is left out. With a
        `journal`, items it has are not run again.

        Args:
            fn: A function of one argument (lambdas and notebook functions work: they
                travel with dill), or a `Worker` subclass.
            iterable: The items; read as workers need them, so a generator works.

        Returns:
            The results, in input order.

        Raises:
            TypeError: `fn` is not callable, cannot be sent to the workers, or
                `iterable` is not iterable.
            RuntimeError: The pool is closed (use it inside its `with` block).
            TaskFailed: Under `on_error="raise"`, the first item that failed for good:
                also an instance of the task's own exception type (`except ValueError:`
                works), with the worker's traceback as its cause.
            TaskTimeout: Under `on_error="raise"`, the first item that ran past
                `timeout`.
            WorkerCrashed: Under `on_error="raise"`, the first item whose worker died.
            ValueError: The pool's `journal` was written for another function or input
                (and `resume` is not `"force"`), or has a damaged line.

        Example:
            ```python
            import poolbars as pb

            with pb.Pool(2, on_error="return") as pool:
                results = pool.map(lambda x: 10 // x, [1, 2, 0, 5])
            print(results[:2], results[3])  # [10, 5] 2
            print(results[2].error)  # ZeroDivisionError: integer division or modulo by zero
            ```
        """
        return self._usable().collect(fn, iterable, wire.CALL_ITEM, self.on_error,
                                      self._settings())

    def starmap(self, fn: Callable, iterable: Iterable) -> list:
        """`[fn(*args) for args in iterable]`, run in the workers, like `map`.

        Args:
            fn: A function that takes each item's values as positional arguments.
            iterable: Tuples (or other iterables) of arguments, one per call.

        Returns:
            The results, in input order.

        Raises:
            TypeError: `fn` is not callable, cannot be sent to the workers, or
                `iterable` is not iterable.
            RuntimeError: The pool is closed (use it inside its `with` block).
            TaskFailed: Under `on_error="raise"`, the first item that failed for good:
                also an instance of the task's own exception type (`except ValueError:`
                works), with the worker's traceback as its cause.
            TaskTimeout: Under `on_error="raise"`, the first item that ran past
                `timeout`.
            WorkerCrashed: Under `on_error="raise"`, the first item whose worker died.
            ValueError: The pool's `journal` was written for another function or input
                (and `resume` is not `"force"`), or has a damaged line.

        Example:
            ```python
            import poolbars as pb

            with pb.Pool(2) as pool:
                print(pool.starmap(pow, [(2, 3), (3, 2)]))  # [8, 9]
            ```
        """
        return self._usable().collect(fn, iterable, wire.CALL_STAR, self.on_error,
                                      self._settings())

    def imap(self, fn: Callable, iterable: Iterable) -> Iterator:
        """Like `map`, but lazy: yields the results in input order as they are ready.

        The input is read as workers need it, at most `max_in_flight` items ahead of
        what you have taken, so an endless generator works. Stopping early (a `break`)
        cancels the rest. `journal` is not used.

        Args:
            fn: A function of one argument, or a `Worker` subclass.
            iterable: The items.

        Yields:
            Each result, in input order, as soon as it and every one before it are ready.

        Raises:
            TypeError: `fn` is not callable, cannot be sent to the workers, or
                `iterable` is not iterable (raised at the first `next()`).
            RuntimeError: The pool is closed, or closed while you were still taking
                results.
            TaskFailed: Under `on_error="raise"`, the first item that failed for good:
                also an instance of the task's own exception type (`except ValueError:`
                works), with the worker's traceback as its cause.
            TaskTimeout: Under `on_error="raise"`, the first item that ran past
                `timeout`.
            WorkerCrashed: Under `on_error="raise"`, the first item whose worker died.
            Exception: Whatever reading `iterable` raised, once the results of the items
                before it are given.

        Example:
            ```python
            import poolbars as pb

            with pb.Pool(2) as pool:
                for square in pool.imap(lambda x: x * x, range(4)):
                    print(square)  # 0, 1, 4, 9
            ```
        """
        yield from self._usable().runner.in_order(fn, iterable, self.on_error,
                                                  self._settings())

    def imap_unordered(self, fn: Callable, iterable: Iterable) -> Iterator:
        """Like `imap`, but yields each result as soon as it is ready, in any order.

        Args:
            fn: A function of one argument, or a `Worker` subclass.
            iterable: The items.

        Yields:
            Each result, in the order they finish.

        Raises:
            TypeError: `fn` is not callable, cannot be sent to the workers, or
                `iterable` is not iterable (raised at the first `next()`).
            RuntimeError: The pool is closed, or closed while you were still taking
                results.
            TaskFailed: Under `on_error="raise"`, the first item that failed for good:
                also an instance of the task's own exception type (`except ValueError:`
                works), with the worker's traceback as its cause.
            TaskTimeout: Under `on_error="raise"`, the first item that ran past
                `timeout`.
            WorkerCrashed: Under `on_error="raise"`, the first item whose worker died.
            Exception: Whatever reading `iterable` raised, once the results of the items
                before it are given.
        """
        yield from self._usable().runner.unordered(fn, iterable, self.on_error,
                                                   self._settings())

    def map_async(self, fn: Callable, iterable: Iterable) -> MapHandle:
        """Start `map` in the background; return a `MapHandle` at once.

        The panel keeps updating while you run other cells, and its Stop button drains
        the run (nothing new starts; running items finish). The handle has
        `result(timeout=None)`, `done()`, `stop()`, `cancel()`, `not_run`,
        `results_so_far()` and `add_done_callback(fn)`. `result()` is what `map`
        returns, or, if the run was cut short (a Stop, a `cancel()`, the pool's exit), a
        list as long as the input with None at each position that has no result and
        `not_run` listing those positions.

        Args:
            fn: A function of one argument, or a `Worker` subclass.
            iterable: The items.

        Returns:
            A `MapHandle`: `handle.result()` waits and raises as `map` would.

        Raises:
            TypeError: `fn` is not callable, cannot be sent to the workers, or
                `iterable` is not iterable.
            RuntimeError: The pool is closed (use it inside its `with` block).

        Example:
            ```python
            import poolbars as pb

            with pb.Pool(2) as pool:
                handle = pool.map_async(str.upper, ["a", "b"])
                print(handle.result(timeout=60))  # ['A', 'B']
            ```
        """
        return self._usable().map_async(fn, iterable, self.on_error, self._settings(), self)

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        """Run `fn(*args, **kwargs)` in a worker now; return a future of its result.

        Args:
            fn: The function to call (positional only).
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Returns:
            A `concurrent.futures.Future`: `result(timeout)` gives the value or raises the
                task's failure (a `TaskFailed`, `TaskTimeout` or `WorkerCrashed`); it is
                cancelled if the pool closes first.

        Raises:
            TypeError: `fn` is not callable or cannot be sent to the workers.
            RuntimeError: The pool is closed (use it inside its `with` block).

        Example:
            ```python
            import poolbars as pb

            with pb.Pool(2) as pool:
                future = pool.submit(divmod, 7, 2)
                print(future.result(timeout=60))  # (3, 1)
            ```
        """
        return self._usable().runner.submit(fn, args, kwargs, self._settings())

    def run_commands(self, commands: Iterable[Any], retries: int = 0,
                     timeout: float | None = None, env: dict | None = None,
                     cwd: str | os.PathLike[str] | None = None) -> list:
        """Run external commands as subprocesses, one per worker slot, each with its bar.

        A command's stdout lines `PROGRESS: n`, `TOTAL: n`, `STATUS: name` and
        `MESSAGE: text` drive its bar; other lines form a bounded log tail, shown if it
        fails. A timeout or an interrupt kills the command's whole process group. A
        command that fails never raises here: it is in the panel, in `pool.failures`
        and in its result.

        Args:
            commands: The commands: each an argv list (or tuple) of str or paths, or a
                string run by the shell.
            retries: Extra attempts for a command that failed, a whole number ≥ 0.
                Default 0 (the pool's `retries` is not used).
            timeout: Seconds each command may run (a number > 0). Default None: no
                limit.
            env: Variables added to the commands' environment. Default None.
            cwd: The commands' working directory, str or path. Default None: this
                process's.

        Returns:
            A `CommandResult` per command, in order: `exit_code` (None if it never
                finished), `duration`, `log_tail`, `malformed` (protocol lines),
                `error` ("" if it succeeded) and `ok`.

        Raises:
            TypeError: A command that is neither an argv list of str/paths nor a string.
            ValueError: `retries` < 0 or not whole, or `timeout` ≤ 0.
            RuntimeError: The pool is closed (use it inside its `with` block).

        Example:
            ```python
            import sys
            import poolbars as pb

            step = "print('TOTAL: 2'); print('PROGRESS: 1'); print('PROGRESS: 2')"
            with pb.Pool(2) as pool:
                results = pool.run_commands([[sys.executable, "-c", step]] * 2)
            print([r.exit_code for r in results])  # [0, 0]
            ```
        """
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
        block: bool = True, **options: Any):
    """`Pool(processes, **options).map(fn, iterable)` in one call.

    The quickest way to run a function over items with a panel: a pool is opened, the
    map runs, the pool closes. With `block=False` it returns a `MapHandle` at once (as
    `Pool.map_async` does) and the pool closes itself when the map is over.

    Args:
        fn: A function of one argument, or a `Worker` subclass.
        iterable: The items.
        processes: How many worker processes (a whole number ≥ 1); default None: one
            per CPU.
        block: True (default): wait and return the results. False: return a
            `MapHandle` at once.
        **options: Any other option of [`Pool`][poolbars.Pool] (`title`, `on_error`,
            `retries`, `timeout`, `display`, …).

    Returns:
        results (list | MapHandle): The results in input order; with `block=False`, a
            `MapHandle` whose `result()` gives them.

    Raises:
        TypeError: An unknown option (the message names the nearest right one), an
            option of the wrong kind, `fn` not callable or `iterable` not iterable.
        ValueError: An option out of range or not one of its values (see `Pool`).
        TaskFailed: Under `on_error="raise"` (the default), the first item that failed:
            also an instance of the task's own exception type.
        TaskTimeout: Under `on_error="raise"`, the first item that ran past `timeout`.
        WorkerCrashed: Under `on_error="raise"`, the first item whose worker died.

    Example:
        ```python
        import poolbars as pb

        squares = pb.map(lambda x: x * x, range(10), processes=2, title="Squares")
        print(squares[-1])  # 81
        ```
    """
    if not block:
        pool = Pool(processes, **options)
        pool.start()
        handle = pool.map_async(fn, iterable)
        handle.add_done_callback(lambda _: pool.close())
        return handle
    with Pool(processes, **options) as pool:
        return pool.map(fn, iterable)
