"""Pools on a Dask cluster: `Pool(cluster=client)` with a `distributed.Client`.

Tasks go through Dask's scheduler (its retries, work stealing and handling of lost
workers); the panel gets one lane per Dask worker. Chunks are submitted as Dask tasks
running `run_chunk`, which reports the chunk's start and its inner progress through the
panel's channel — the same manager queue as local pools, served on an address the
cluster can reach — and returns the chunk's results with its last bar states.

`DaskBackend` is the engine's backend for this (see backend.py): the job book keeps the
bookkeeping (chunks, ordering, policies, counts, cancels) as for local processes; the
backend only submits chunks, settles finished futures and cancels them. Nothing of the
local backend (pipes, the shared slot board, worker processes) is used here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any, Callable, cast
from urllib.parse import urlparse

from ..errors import RemoteFailure, short_repr
from ..progress import reporting
from ..protocol import events as ev
from ..protocol import kinds
from .backend import EngineOptions
from .book import Book, Chunk, Job

POLL = 0.05  # seconds between looks at new requests while waiting on futures
MEET_EVERY = 1.0  # seconds between asking the scheduler for workers that joined


def listen_host(client: Any) -> str:
    """The address of this machine that the cluster's scheduler can reach (`client`: a
    distributed.Client, Any to us)."""
    host = urlparse(client.scheduler.address).hostname or "127.0.0.1"
    if host in ("127.0.0.1", "localhost", "::1"):
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))  # no packet is sent: this only picks the route
        return cast(str, probe.getsockname()[0])  # an AF_INET (host, port)


def cluster_threads(client: Any) -> int:
    workers = client.scheduler_info().get("workers", {})
    threads: int = sum(w.get("nthreads", 1) for w in workers.values())
    return max(threads, 1)


class DaskBackend:
    """Runs the book's chunks as Dask tasks (see the module doc)."""

    def __init__(self, options: EngineOptions, address: Any, authkey: bytes, book: Book,
                 functions: dict[int, bytes]):
        self.client = options.cluster
        self.capacity = 2 * options.processes  # chunks submitted at once
        self.address, self.authkey = tuple(address), bytes(authkey)
        self.book = book
        self.functions = functions
        self.running: dict[Any, Chunk] = {}  # Dask future -> Chunk
        self.lanes: dict[str, int] = {}  # Dask worker address -> lane number
        self.ready_at: float | None = None
        self._payloads: dict[int, object] = {}  # fn_id -> scattered payload
        self._token = f"{os.getpid()}-{id(self)}"
        self._met_at = -MEET_EVERY  # when the cluster's workers were last asked for

    @property
    def watching(self) -> bool:
        return bool(self.running)  # else the engine waits for requests, in order

    def start(self) -> None:
        self._meet_workers()
        self.ready_at = time.time()

    def _meet_workers(self) -> None:
        """Number the cluster's workers not seen yet (all at the start; then those that
        join, e.g. as an adaptive cluster grows), each with a lane of its own. Asking is a
        round trip to the scheduler: at most once every MEET_EVERY seconds."""
        if time.monotonic() - self._met_at < MEET_EVERY:
            return
        self._met_at = time.monotonic()
        workers = self.client.scheduler_info().get("workers", {})
        for address, info in sorted(workers.items()):
            if address not in self.lanes:
                number = self.lanes[address] = len(self.lanes)
                self.book.post([ev.WorkerChange(number, "idle", info.get("pid"))])

    def wake(self) -> None:
        pass  # `step` waits at most POLL seconds

    def feed(self) -> None:
        self._meet_workers()  # joiners, before the chunks name the lanes they may run on
        while len(self.running) < self.capacity:
            chunk = self.book.next_chunk()
            if chunk is None:
                return
            self._submit(chunk)

    def _submit(self, chunk: Chunk) -> None:
        job = chunk.job
        payload = self._payloads.get(job.fn_id)
        if payload is None:
            payload = self._payloads[job.fn_id] = self.client.scatter(
                self.functions[job.fn_id], broadcast=True)
        chunk.started = time.time()
        future = self.client.submit(
            run_chunk, payload, (self._token, job.fn_id), job.call, chunk.first,
            chunk.items, self.address, self.authkey, self.lanes,
            pure=False, retries=job.retries)
        self.running[future] = chunk

    def step(self) -> None:
        """Wait up to POLL seconds for a future to finish, and settle those that did."""
        from distributed import wait

        try:
            wait(list(self.running), timeout=POLL, return_when="FIRST_COMPLETED")
        except Exception:  # the timeout: nothing finished yet
            return
        for future in [f for f in self.running if f.done()]:
            chunk = self.running.pop(future)
            self._on_future(future, chunk)

    def _on_future(self, future: Any, chunk: Chunk) -> None:
        if future.status == "finished":
            values, failures, events, number = future.result()
            if isinstance(number, str):  # ran on a worker that joined since: meet it now
                self._met_at = -MEET_EVERY
            chunk.job.timing = (len(values), time.time() - chunk.started)
            self.book.settle_chunk(chunk, values, failures, events, number,
                                   [ev.WorkerChange(number, "idle", None)])
            return
        if future.status == "cancelled" or chunk.job.cancelled:
            return
        exc = future.exception()
        crashed = type(exc).__name__ == "KilledWorker"
        if crashed and len(chunk.items) > 1:  # pin it down: run its items one by one
            chunk.job.requeue(chunk, range(len(chunk.items)))
            return
        remote = RemoteFailure.from_exception(exc)
        if crashed:
            remote.exc_type = kinds.KINDS["crashed"].exception
            remote.message = f"Dask lost the workers running this item: {exc}"
        kind: kinds.Kind = "crashed" if crashed else "error"
        self.book.post([ev.Done(None, 0, time.time())])
        for offset in range(len(chunk.items)):
            self.book.settle_failure(chunk, offset, kind, remote, None, retry=False)

    def stop_job(self, job: Job, replace: bool) -> tuple[int, list[int]]:
        running = 0
        for future, chunk in list(self.running.items()):
            if chunk.job is job:
                future.cancel()
                running += len(chunk.items)
                del self.running[future]
        return running, []

    def shutdown(self, terminate: bool) -> None:
        for future in list(self.running):
            future.cancel()
        self.running.clear()
        for number in self.lanes.values():
            self.book.post([ev.WorkerChange(number, "exited", None)])

    def close(self) -> None:
        pass  # nothing of its own is left open


# -- on the Dask worker ----------------------------------------------------------------------

_functions: dict[tuple[str, int], Callable[..., Any]] = {}  # (token, fn_id) -> target
_reporters: dict[tuple[Any, int], reporting.Reporter] = {}  # (address, thread)
_lock = threading.Lock()


def run_chunk(payload: bytes, key: tuple[str, int], call: int, first: int, items: list[Any],
              address: Any, authkey: bytes, lanes: dict[str, int]
              ) -> tuple[list[Any], list[tuple[int, RemoteFailure]], list[tuple[Any, ...]],
                         int | str]:
    """A chunk of a pool's items, run on a Dask worker (in any of its threads): its values,
    failures, last bar states and lane number (for a worker not in `lanes` yet, one
    that joined since the chunk was sent, a name made of its address, without the `:` that
    marks a bar's own lane)."""
    from distributed import get_worker

    from ..protocol.wire import SlotBoard
    from .worker import load_target, queue_sink, run_items

    worker = get_worker()
    number = lanes.get(worker.address)
    if number is None:
        number = worker.address.split("://")[-1].replace(":", " port ")
    with _lock:
        fn = _functions.get(key)
        if fn is None:
            fn = _functions[key] = load_target(payload, {}, [])
        reporter = _reporters.get((address, threading.get_ident()))
        if reporter is None:
            reporter = _reporters[(address, threading.get_ident())] = reporting.Reporter(
                queue_sink(address, authkey), source=number)
    reporter.sink([ev.wire(ev.Start(number, first, len(items), short_repr(items[0]), time.time()))])
    reporting.install(reporter, thread_only=True)
    try:
        values, failures = run_items(fn, call, first, items, reporter,
                                     SlotBoard.local().hot(0), False)
    finally:
        reporting.install(None, thread_only=True)
    return values, failures, reporter.take(), number

