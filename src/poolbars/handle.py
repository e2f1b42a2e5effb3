"""Background maps: `Pool.map_async` and `pb.map(..., block=False)` return a `MapHandle`
at once; the panel keeps updating while other cells run, and its Stop button drains.
A handle uses the pool's parts (the job runner, the panel's session), not the pool, which
it only holds; its thread takes the job's settled runs into its own `Results`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from .protocol import events as ev
from .results import Results

if TYPE_CHECKING:
    from .engine.book import Job
    from .panel.session import Session
    from .runner import JobRunner, JobSettings


class MapResult(list[Any]):
    """The results of a background map, in input order: a list with `not_run`.

    What `MapHandle.result()` returns. `not_run` lists the positions that have no
    result (after a `cancel()`, a Stop or the pool's exit), where the list holds None;
    it is `[]` when the map ran to its end.
    """

    not_run: list[int]


class MapHandle:
    """A map running in the background: what `Pool.map_async` returns.

    (And `pb.map(..., block=False)`.) The panel keeps updating while you do other
    things; its Stop button calls `stop()`. `result(timeout=None)` waits and returns the
    results in input order, as `map` would. If the map was cut short (`cancel()`, a
    Stop, the pool's exit), every value still stands at its input's position: the list
    is as long as the input (as far as it was known or read), holds None where an item
    has no result, and its `not_run` (also `handle.not_run`) lists exactly those
    positions; a failed item under `on_error="skip"` is None there too, so no value
    moves. Made by the pool, not directly.

    Args:
        runner: The pool's job runner.
        job: The map's job.
        settings: The options the map runs with.
        session: The panel the map reports to.
        on_error: The pool's error policy: `"raise"`, `"return"` or `"skip"`.
        pool: The pool, held so that it stays open while the handle lives.

    Example:
        ```python
        import poolbars as pb

        with pb.Pool(2) as pool:
            handle = pool.map_async(abs, [-1, -2, -3])
            print(handle.result(timeout=60), handle.not_run)  # [1, 2, 3] []
            print(handle.done())  # True
        ```
    """

    def __init__(self, runner: JobRunner, job: Job, settings: JobSettings,
                 session: Session, on_error: str, pool: object):
        self._pool = pool  # only held: an unclosed pool stays open while its handle lives
        self._runner = runner
        self._job = job
        self._settings = settings
        self._session = session
        self._results = Results(on_error)
        self._error: BaseException | None = None
        self._stopped = False
        self._lock = threading.Lock()  # the done callbacks, added from any thread
        self._callbacks: list[Callable[[MapHandle], Any]] | None = []  # None once over
        session.on_stop(self.stop)
        self._post_control(stoppable=True, stopping=False)
        self._thread = threading.Thread(target=self._run, name="poolbars-map-async",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        runner, job = self._runner, self._job
        try:
            for position, values, _ in runner.settled(job, self._results, self._settings,
                                                      partial=True):
                self._results.add(position, values)
                runner.taken(job, len(values))
        except BaseException as exc:  # the caller gets it from result()
            self._error = exc
        finally:
            self._post_control(stoppable=False, stopping=False)
            panel = getattr(self._session.view, "panel", None)
            if panel is not None and panel.on_stop == self.stop:
                panel.on_stop = None  # the panel no longer holds this handle (or its pool)
            with self._lock:
                callbacks, self._callbacks = self._callbacks or [], None
            for callback in callbacks:
                callback(self)

    def _post_control(self, stoppable: bool, stopping: bool) -> None:
        """Tell the panel whether its Stop button may be used, and whether it was."""
        self._session.post([ev.Control(stoppable, stopping)])

    def add_done_callback(self, fn: Callable[[MapHandle], Any]) -> None:
        """Call `fn(handle)` once the map is over.

        In the map's thread as it ends, or at once if it has ended already
        (`pb.map(..., block=False)` closes its pool this way).

        Args:
            fn: A function of one argument, the handle.
        """
        with self._lock:
            if self._callbacks is not None:
                self._callbacks.append(fn)
                return
        fn(self)

    @property
    def not_run(self) -> list[int]:
        """Input positions with no result, once the map is over; `[]` while it runs.

        Those positions hold None in `result()`: items not run after a `cancel()`, a
        Stop or the pool's exit.
        """
        if not self.done():
            return []
        return self._results.not_run(self._length())

    def _length(self) -> int:
        """How many items the input has, as far as it was known (len()) or read."""
        return max(self._job.counted, self._job.read)

    def done(self) -> bool:
        """Whether the map is over: it ran to its end, failed, or was cut short.

        Returns:
            True once `result()` would return (or raise) at once.
        """
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> list[Any]:
        """Wait for the map to be over; its results in input order, as `map` returns them.

        Args:
            timeout: Seconds to wait at most. Default None: as long as it takes.

        Returns:
            A list (a `MapResult`) in input order; if the map was cut short, as long as
                the input, with None at each position in its `not_run`.

        Raises:
            TimeoutError: The map is still running after `timeout` seconds.
            TaskFailed: Under `on_error="raise"`, the first item that failed (also an
                instance of the task's own exception type); `TaskTimeout` and
                `WorkerCrashed` likewise.
            RuntimeError: The pool's engine stopped.
        """
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the map is still running after {timeout} s")
        if self._error is not None:
            raise self._error
        not_run = self.not_run
        # ran to the end: what map() returns; cut short: every value keeps its place
        out = MapResult(self._results.in_order() if not not_run
                        else self._results.in_place(self._length()))
        out.not_run = not_run
        return out

    def results_so_far(self) -> dict[int, Any]:
        """The results of the items that finished well so far, while it runs too.

        Returns:
            `{position: result}`.
        """
        return self._results.so_far()

    def stop(self) -> None:
        """Start nothing more, let running items finish: what the Stop button does.

        The items never started are listed in `not_run`. Does nothing once the map is
        over.
        """
        if self._stopped or self.done():
            return
        self._stopped = True
        self._post_control(stoppable=True, stopping=True)
        self._runner.drain(self._job)

    def cancel(self) -> bool:
        """Stop now: running items are killed and count as cancelled.

        Returns once the map is over.

        Returns:
            True if it stopped the map; False if the map was already over.
        """
        if self.done():
            return False
        self._runner.cancel(self._job)
        self._thread.join()
        return True

