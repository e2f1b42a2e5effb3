"""The engine: one thread in the parent that joins the job book and a backend.

Other threads (the pool's callers) hand it requests — a new job, a cancel, a drain,
restored items, stop — through one queue, which its thread handles strictly in order.
Between requests it lets the backend feed chunks from the book to the workers and wait
for what comes back. It is built from plain options (`backend.EngineOptions`), a way to
post events and the channel's address and authkey — not from a Pool, so an unclosed
Pool is not kept alive by this thread and the garbage collector can stop it.

Shared objects and who writes them:
- `Engine.requests`: any thread puts; the engine's thread takes, in order.
- `Engine.functions`: `add_function` writes (any thread); the backend reads.
- `Engine.error`: written by the engine's thread if it fails; read by callers.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from ..errors import Failure
from .backend import Backend, EngineOptions
from .book import Book, Job, Post, Stats

POLL = 0.05  # seconds a backend with nothing to watch waits for the next request


class Engine:
    """Runs jobs on a backend from a thread of its own (see the module doc)."""

    def __init__(self, options: EngineOptions, post: Post, address: Any, authkey: bytes):
        self.functions: dict[int, bytes] = {}
        self.book = Book(post, processes=options.processes, chunksize=options.chunksize)
        self.backend = _backend(options, address, authkey, self.book, self.functions)
        self.requests: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._stop_status: str | None = None
        self._thread = threading.Thread(target=self._main, name="poolbars-dispatcher",
                                        daemon=True)

    # -- what the pool reads -------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        return self.book.stats

    @property
    def failures(self) -> list[Failure]:
        return self.book.record.failures

    @property
    def worker_failures(self) -> list[Failure]:
        return self.book.record.worker_failures

    @property
    def runs(self) -> list[tuple[Any, ...]]:
        return self.book.record.runs

    @property
    def runs_dropped(self) -> int:
        return self.book.record.runs_dropped

    @property
    def positions(self) -> dict[int, list[int]]:
        return self.book.record.positions

    @property
    def ready_at(self) -> float | None:
        return self.backend.ready_at

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- called from other threads -------------------------------------------------------

    def start(self) -> None:
        self.backend.start()
        self._thread.start()

    def add_function(self, fn_id: int, payload: bytes) -> None:
        self.functions[fn_id] = payload

    def submit(self, job: Job) -> None:
        self._request("job", job)

    def cancel(self, job: Job) -> None:
        job.withdrawn = True  # at once: no chunk of it leaves before the request is read
        self._request("cancel", job)

    def drain(self, job: Job) -> None:
        """Start nothing more of `job`; what runs finishes; the rest counts as cancelled."""
        job.withdrawn = True
        self._request("drain", job)

    def restore(self, count: int) -> None:
        """Count `count` items as done without running them (they come from a journal)."""
        self._request("restore", count)

    def wake(self) -> None:
        self.backend.wake()

    def stop(self, status: str) -> None:
        """Finish: on "cancelled" kill every worker at once, else let idle ones exit.
        Everything not settled is counted as cancelled. Returns once all have exited."""
        self._request("stop", status)
        self._thread.join()
        self.backend.close()

    def _request(self, kind: str, arg: Any) -> None:
        self.requests.put((kind, arg))
        self.backend.wake()

    # -- the thread ----------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while self._stop_status is None:
                self._take_requests()
                if self._stop_status is not None:
                    break
                self.backend.feed()
                if self.backend.watching:
                    self.backend.step()
                else:  # nothing out on the workers: wait for the next request
                    self._take_request(POLL)
        except BaseException as exc:  # keep it for the callers, then stop everything
            self.error = exc
            self._stop_status = "failed"
        finally:
            self._shutdown(self._stop_status or "failed")

    def _take_requests(self) -> None:
        while self._take_request(None):
            pass

    def _take_request(self, timeout: float | None) -> bool:
        """Handle the next request (waiting up to `timeout` seconds, None: not at all);
        False if there was none."""
        try:
            kind, arg = (self.requests.get_nowait() if timeout is None
                         else self.requests.get(timeout=timeout))
        except queue.Empty:
            return False
        if kind == "job":
            self.book.start_job(arg)
        elif kind == "cancel":
            self._cancel(arg)
        elif kind == "drain":
            self.book.drain(arg)
        elif kind == "restore":  # items a journal already has: counted done at once
            self.book.restore(arg)
        elif kind == "stop":
            self._stop_status = arg
        return True

    def _cancel(self, job: Job, error: BaseException | None = None) -> None:
        """Stop `job`: its running chunks are killed (their workers replaced unless the
        engine is stopping), and every item of it not settled counts as cancelled."""
        if job.ended:
            return
        running, killed = self.backend.stop_job(job, replace=self._stop_status is None)
        self.book.cancel(job, error, running, killed)

    def _shutdown(self, status: str) -> None:
        """Cancel every job (if the engine itself failed, its callers get why), then
        stop the workers."""
        error = None
        if self.error is not None:
            error = RuntimeError(f"the pool's engine failed: {self.error!r}")
            error.__cause__ = self.error
        for job in list(self.book.jobs):
            self._cancel(job, error)
        self.backend.shutdown(terminate=status == "cancelled" or self.error is not None)


def _backend(options: EngineOptions, address: Any, authkey: bytes, book: Book,
             functions: dict[int, bytes]) -> Backend:
    """Local worker processes, or Dask when the options name a cluster."""
    if options.cluster is not None:
        from .cluster import DaskBackend
        return DaskBackend(options, address, authkey, book, functions)
    from .local import LocalBackend
    return LocalBackend(options, address, authkey, book, functions)
