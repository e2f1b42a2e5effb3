"""Background maps: `Pool.map_async` and `pb.map(..., block=False)` return a `MapHandle`
at once; the panel keeps updating while other cells run, and its Stop button drains."""

from __future__ import annotations

import threading

from .errors import Failure


class MapResult(list):
    """The results of a background map, in input order, with `not_run`: the positions
    that never started (after a Stop)."""

    not_run: list[int]


class MapHandle:
    """A map running in the background.

    `result(timeout=None)` waits and returns the results in input order (under
    on_error="skip" without the failed ones); after a Stop, only those of the items that
    ran, and its `not_run` (also `handle.not_run`) lists the positions that never started.
    `done()`, `cancel()` (kill what runs now), `stop()` (what the Stop button does: start
    nothing more, let running items finish)."""

    def __init__(self, pool, job, owns_pool: bool = False):
        self._pool = pool
        self._job = job
        self._owns_pool = owns_pool
        self._parts: dict[int, list] = {}
        self._error: BaseException | None = None
        self._stopped = False
        pool._session.on_stop(self.stop)
        pool._post_control(stoppable=True, stopping=False)
        self._thread = threading.Thread(target=self._run, name="poolbars-map-async",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pool = self._pool
        try:
            for position, values, _ in pool._settled(self._job):
                self._parts[position] = values
                pool._taken(self._job, len(values))
        except BaseException as exc:  # the caller gets it from result()
            self._error = exc
        finally:
            pool._post_control(stoppable=False, stopping=False)
            if self._owns_pool:
                pool.close()

    @property
    def not_run(self) -> list[int]:
        """Input positions that never started (after a Stop)."""
        return sorted(self._job.not_run)

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> list:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the map is still running after {timeout} s")
        if self._error is not None:
            raise self._error
        from .pool import _SKIP

        out = MapResult()
        for position in sorted(self._parts):
            out += [v for v in self._parts[position] if v is not _SKIP]
        out.not_run = self.not_run
        return out

    def results_so_far(self) -> dict:
        """{position: result} of the items finished so far."""
        return {position + offset: value for position, values in list(self._parts.items())
                for offset, value in enumerate(values)
                if not isinstance(value, Failure)}

    def stop(self) -> None:
        """Start nothing more; running items finish; the rest is listed in `not_run`."""
        if self._stopped or self.done():
            return
        self._stopped = True
        self._pool._post_control(stoppable=True, stopping=True)
        self._pool._dispatcher.drain(self._job)

    def cancel(self) -> bool:
        """Stop now: running items are killed and count as cancelled."""
        if self.done():
            return False
        self._pool._dispatcher.cancel(self._job)
        self._thread.join()
        return True

