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
    """The results of a background map, in input order, with `not_run`: the positions
    that have no result (after a cancel, a Stop or the pool's exit), where the list holds
    None."""

    not_run: list[int]


class MapHandle:
    """A map running in the background.

    `result(timeout=None)` waits and returns the results in input order, as `map` would.
    If the map was cut short (`cancel()`, a Stop, the pool's exit), every value still
    stands at its input's position: the list is as long as the input (as far as it was
    known or read), holds None where an item has no result, and its `not_run` (also
    `handle.not_run`) lists exactly those positions; a failed item under on_error="skip"
    is None there too, so no value moves. `done()`, `cancel()` (kill what runs now),
    `stop()` (what the Stop button does: start nothing more, let running items finish)."""

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
        """Call `fn(handle)` once the map is over: in the map's thread as it ends, or
        at once if it has (`pb.map(..., block=False)` closes its pool so)."""
        with self._lock:
            if self._callbacks is not None:
                self._callbacks.append(fn)
                return
        fn(self)

    @property
    def not_run(self) -> list[int]:
        """Input positions with no result, once the map is over (after a cancel, a Stop or
        the pool's exit); [] while it runs."""
        if not self.done():
            return []
        return self._results.not_run(self._length())

    def _length(self) -> int:
        """How many items the input has, as far as it was known (len()) or read."""
        return max(self._job.counted, self._job.read)

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> list[Any]:
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
        """{position: result} of the items that finished well so far."""
        return self._results.so_far()

    def stop(self) -> None:
        """Start nothing more; running items finish; the rest is listed in `not_run`."""
        if self._stopped or self.done():
            return
        self._stopped = True
        self._post_control(stoppable=True, stopping=True)
        self._runner.drain(self._job)

    def cancel(self) -> bool:
        """Stop now: running items are killed and count as cancelled."""
        if self.done():
            return False
        self._runner.cancel(self._job)
        self._thread.join()
        return True

