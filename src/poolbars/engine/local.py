"""The local backend: the book's chunks run on worker processes of this machine.

It sends one chunk at a time to each idle worker, and waits on every pipe, every process
sentinel and its own wake-up pipe at once. So it always knows which worker runs what; a
worker that dies is seen at once (its sentinel, see `watch.py`), a task past its timeout
is seen at its deadline (the wait's timeout), and requests from other threads (a new job,
a cancel, stop) wake it through the pipe. A function reaches a worker once (Function,
answered Loaded); the chunk waits for it, so setup is not the task's time.

Shared objects and who writes them:
- the wake-up pipe: any thread writes (`wake`); the engine's thread reads.
- `functions`: the engine's `add_function` writes (any thread); read here.
"""

from __future__ import annotations

import os
import time
from typing import Any

from multiprocess.connection import wait

from ..errors import RemoteFailure, short_repr
from ..protocol import events as ev
from ..protocol import wire
from .backend import EngineOptions
from .book import Book, Chunk, Job
from .processes import Slot, Workers
from .watch import Watch


class LocalBackend:
    """Runs the book's chunks on local worker processes (see the module doc)."""

    watching = True  # always: the workers' pipes and sentinels, and the wake-up pipe

    def __init__(self, options: EngineOptions, address: Any, authkey: bytes, book: Book,
                 functions: dict[int, bytes]):
        self.options = options
        self.book = book
        self.functions = functions
        self.workers = Workers(options, address, authkey, book)
        self.watch = Watch(options, self.workers, self.on_message)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    @property
    def ready_at(self) -> float | None:
        return self.workers.ready_at

    def start(self) -> None:
        self.workers.start()

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: a wake-up is already pending

    def feed(self) -> None:
        for slot in self.workers.slots:
            if not slot.ready or slot.busy or slot.retiring or slot.setup_failed:
                continue
            chunk = self.book.next_chunk()
            if chunk is None:
                return
            self._send(slot, chunk)

    def step(self) -> None:
        self._wait(self.watch.next_deadline())
        self.watch.check_timeouts()
        self.watch.check_exits()

    def stop_job(self, job: Job, replace: bool) -> tuple[int, list[int]]:
        """Kill the workers running chunks of `job`: (items they held, their numbers)."""
        killed, running = [], 0
        for slot in list(self.workers.slots):
            if slot.chunk is not None and slot.chunk.job is job:
                if slot.loading is None:  # else the panel never heard of its chunk
                    running += len(slot.chunk.items)
                    killed.append(slot.number)
                slot.chunk = None
                self.workers.kill(slot)
                slot.process.join()
                if replace:
                    self.workers.replace(slot, "exited")
        return running, killed

    def shutdown(self, terminate: bool) -> None:
        self.workers.shutdown(terminate)

    def close(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.workers.warn_teardowns()

    # -- sending -------------------------------------------------------------------------

    def _send(self, slot: Slot, chunk: Chunk, announce: bool = True) -> None:
        job = chunk.job
        try:
            data = wire.dumps(wire.Tasks(job.fn_id, job.call, chunk.first, chunk.items,
                                         timed=job.timeout is not None))
        except Exception as exc:
            self._unsendable(chunk, exc)
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
            job.put_back(chunk)
            return
        chunk.started = time.time()
        slot.chunk = chunk
        if announce:
            self._announce(slot, chunk)

    def _unsendable(self, chunk: Chunk, exc: Exception) -> None:
        """`chunk`'s items do not pickle: find the culprit by sending them one by one."""
        if len(chunk.items) > 1:
            chunk.job.requeue(chunk, range(len(chunk.items)))
            return
        remote = RemoteFailure.from_exception(exc)
        remote.message = (f"item {chunk.position} cannot be sent to a worker "
                          f"({remote.message}); map over plain data (paths, numbers, "
                          "…) instead")
        self.book.settle_failure(chunk, 0, "error", remote, None, retry=False)

    def _loaded(self, slot: Slot, fn_id: int) -> None:
        """`slot`'s worker has the function (its Worker set up): send the held chunk."""
        slot.functions.add(fn_id)
        data, slot.loading = slot.loading, None
        if slot.chunk is None or data is None:
            return
        try:
            slot.conn.send_bytes(data)
        except OSError:  # the worker just died: the chunk waits, unstarted
            chunk = slot.take_chunk()
            chunk.job.put_back(chunk)
            return
        slot.chunk.started = time.time()
        self._announce(slot, slot.chunk)

    def _announce(self, slot: Slot, chunk: Chunk) -> None:
        if slot.loading is not None:
            return  # it is announced when it is sent (`_loaded`)
        self.book.post([ev.Start(slot.number, chunk.first, len(chunk.items),
                         short_repr(chunk.items[0]), chunk.started, int(chunk.attempt > 1))])

    # -- what comes back -------------------------------------------------------------------

    def _wait(self, timeout: float | None) -> None:
        watched: dict[Any, Slot | None] = {self._wake_r: None}
        for slot in self.workers.slots:
            watched[slot.conn] = slot
            watched[slot.process.sentinel] = slot
        for ready in wait(list(watched), timeout):
            sender = watched[ready]
            if sender is None:
                os.read(self._wake_r, 4096)
            elif ready is sender.conn:
                try:
                    data = sender.conn.recv_bytes()
                except (EOFError, OSError):
                    continue  # its sentinel tells the rest
                self.on_message(sender, data)

    def on_message(self, slot: Slot, data: bytes) -> None:
        try:
            message = wire.loads(data)
        except Exception as exc:  # e.g. a result type that cannot be rebuilt here
            message = self._unloadable(slot, exc)
            if message is None:
                return
        if isinstance(message, wire.Ready):
            self.workers.ready(slot, message.pid)
        elif isinstance(message, wire.Loaded):
            self._loaded(slot, message.fn_id)
        elif isinstance(message, (wire.InitFailed, wire.SetupFailed)):
            self.workers.setup_failed(slot, message.failure)
        elif isinstance(message, wire.TeardownFailed):
            self.book.worker_failure(slot.number, slot.process.pid, "teardown",
                                     message.failure)
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
            self.workers.board.clear(slot.number)  # its successor starts clean
            self.book.post([ev.Done(slot.number, 0, time.time())])  # close it on the panel
            chunk.job.requeue(chunk, range(len(chunk.items)))
            return None
        return wire.Results([None], [(0, _unloadable_failure(exc))], [])

    def _on_results(self, slot: Slot, values: list[Any],
                    remote_failures: list[tuple[int, RemoteFailure]],
                    events: list[tuple[Any, ...]]) -> None:
        chunk = slot.take_chunk()
        slot.items_done += len(values)
        chunk.job.timing = (len(values), time.time() - chunk.started)
        limit = self.options.max_tasks_per_child
        if limit is not None and slot.items_done >= limit:
            slot.retiring = True
            try:
                slot.conn.send_bytes(wire.dumps(wire.Stop()))
            except OSError:
                pass  # it is gone already: replaced as it would have been
        # the worker waits for work: send its next chunk before settling this one (the
        # panel hears of the next one after, so its events stay in order)
        alive = not slot.retiring and slot.process.exitcode is None
        following = self.book.next_chunk() if alive else None
        if following is not None:
            self._send(slot, following, announce=False)
        sent = following is not None and slot.chunk is following
        after = [] if sent else [ev.WorkerChange(slot.number, "idle", slot.pid)]
        self.book.settle_chunk(chunk, values, remote_failures, events, slot.number, after)
        if sent and following is not None:
            self._announce(slot, following)


def _load_each(blobs: list[bytes], failures: list[tuple[int, RemoteFailure]]
               ) -> tuple[list[Any], list[tuple[int, RemoteFailure]]]:
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
