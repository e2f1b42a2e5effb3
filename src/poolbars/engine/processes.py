"""The local worker processes: start, kill, replace, retire and stop them.

`Workers` holds one `Slot` per worker (its process, its end of the pipe, what it runs) and
the `SlotBoard` the workers write their current item into. Killing a worker kills its
process group (the worker leads it) and the group of a command it runs, so nothing a task
started outlives it. It runs in the engine's thread only, and records worker failures
(setup, teardown) in the job book.

Shared objects and who writes them:
- `Workers.board`: each worker writes its own slot; read and cleared here.
- `Workers.slots`: written here, read by the local backend (same thread).
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import multiprocess
from multiprocess.connection import wait

from ..errors import Failure, RemoteFailure
from ..panel.snapshot import WorkerState
from ..protocol import events as ev
from ..protocol import wire
from ..protocol.wire import SlotBoard
from . import worker
from .backend import EngineOptions
from .book import Book, Chunk

STOP_GRACE = 1.0  # seconds a worker gets to exit after STOP before it is killed


@dataclass
class Slot:
    """The engine's view of one worker process."""

    number: int
    process: Any  # a multiprocess Process (untyped)
    conn: Any  # its end of the pipe, a multiprocess Connection
    pid: int | None = None
    ready: bool = False
    chunk: Chunk | None = None
    functions: set[int] = field(default_factory=set)
    items_done: int = 0
    retiring: bool = False  # asked to stop (max_tasks_per_child); replace it when it exits
    failed_starts: int = 0  # deaths in a row before READY: a worker that cannot start
    since: float = field(default_factory=time.time)  # start of its start-up or setup
    loading: bytes | None = None  # its chunk's Tasks message, held until its function is set up
    setup_failed: bool = False  # its initializer or setup failed: retired, never replaced

    @property
    def busy(self) -> bool:
        return self.chunk is not None

    def take_chunk(self) -> Chunk:
        """The chunk it holds (it must hold one), no longer held."""
        chunk, self.chunk, self.loading = self.chunk, None, None
        assert chunk is not None, "only asked of a busy slot"
        return chunk


class Workers:
    """The local worker processes of one engine (see the module doc)."""

    def __init__(self, options: EngineOptions, address: Any, authkey: bytes, book: Book):
        self.options = options
        self.address, self.authkey = address, authkey
        self.book = book
        self.ctx = multiprocess.get_context(options.start_method)
        self.board = SlotBoard.create(self.ctx, options.processes)
        self.slots: list[Slot] = []
        self.ready_at: float | None = None

    def start(self) -> None:
        self.slots = [self.spawn(n) for n in range(self.options.processes)]

    def spawn(self, number: int) -> Slot:
        options = self.options
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        worker_args = options.worker_args[number] if options.worker_args else None
        process = self.ctx.Process(
            target=worker.main, name=f"poolbars-worker-{number}", daemon=True,
            args=(number, child_end, self.address, self.authkey, self.board.array,
                  options.initializer, options.initargs, worker_args, options.capture_tqdm,
                  worker.Stdio() if options.start_method == "forkserver" else None))
        self.book.post([ev.WorkerChange(number, "starting", None)])
        process.start()
        child_end.close()
        return Slot(number, process, parent_end)

    def ready(self, slot: Slot, pid: int) -> None:
        slot.ready, slot.pid = True, pid
        self.book.post([ev.WorkerChange(slot.number, "idle", slot.pid)])
        if self.ready_at is None and all(s.ready for s in self.slots):
            self.ready_at = time.time()

    def kill(self, slot: Slot) -> None:
        """Kill `slot`'s worker with all its tasks started: its process group (the worker
        leads it), and the group of a command it was running (a session of its own)."""
        group = self.board.group(slot.number)
        if group > 0:
            kill_group(group)
            self.board.clear_group(slot.number)
        kill_group(slot.process.pid)
        kill(slot.process)  # a worker that has not made its group yet

    def replace(self, slot: Slot, state: WorkerState, failed_starts: int = 0) -> None:
        """Close `slot`'s worker for good and start a fresh one in its place."""
        self.kill(slot)
        slot.process.join()
        slot.conn.close()
        self.book.post([ev.WorkerChange(slot.number, state, slot.pid)])
        fresh = self.spawn(slot.number)
        fresh.failed_starts = failed_starts
        self.slots[self.slots.index(slot)] = fresh

    def setup_failed(self, slot: Slot, remote: RemoteFailure) -> None:
        """`slot`'s initializer or Worker.setup failed: record it once; the chunk it held
        goes back in line untouched (it never ran); the worker is retired when it exits."""
        if slot.setup_failed:
            return
        slot.setup_failed = True
        failure = self.book.worker_failure(slot.number, slot.process.pid, "setup", remote)
        self.book.record.failures.append(failure)
        if slot.chunk is not None:
            chunk = slot.take_chunk()
            chunk.job.put_back(chunk)

    def retire_for_good(self, slot: Slot) -> None:
        """A worker that could not start or be set up is not replaced; with none left,
        every waiting job fails with the reason (the setup's own exception)."""
        slot.process.join()
        slot.conn.close()
        if not slot.setup_failed:  # else its lane already says "setup failed"
            self.book.post([ev.WorkerChange(slot.number, "crashed", slot.pid)])
        self.slots.remove(slot)
        if not self.slots:
            setups = [f for f in self.book.record.worker_failures if f.kind == "setup"]
            text = (f"every worker {describe_exit(slot.process.exitcode)} during start-up. "
                    "In a script, start the pool under `if __name__ == \"__main__\":` "
                    "(workers import the main module), and check the workers' stderr")
            self.book.fail_everything(setups[0] if setups else Failure(
                None, "", "setup", "WorkerCrashed", text, "", None))

    # -- stopping ----------------------------------------------------------------------------

    def shutdown(self, terminate: bool) -> None:
        """Stop every worker: kill them if `terminate` (and the busy, dead or still
        starting ones anyway), else ask the others to exit; hear their last words; kill
        what is left."""
        for slot in self.slots:
            # one still starting has run nothing: a quick pool need not wait for its start
            if terminate or slot.busy or not slot.ready or slot.process.exitcode is not None:
                self.kill(slot)
            else:
                try:
                    slot.conn.send_bytes(wire.dumps(wire.Stop()))
                except OSError:
                    self.kill(slot)
        deadline = time.monotonic() + STOP_GRACE
        self._hear_last_words(deadline)
        for slot in self.slots:
            slot.process.join(max(deadline - time.monotonic(), 0))
            if slot.process.exitcode is None:
                self.kill(slot)
                slot.process.join()
            kill_group(slot.process.pid)  # what its tasks left running, also after a STOP
            slot.conn.close()
            self.book.post([ev.WorkerChange(slot.number, "exited", None)])
        self.slots = []

    def _hear_last_words(self, deadline: float) -> None:
        """Until the stopped workers exit (or `deadline`), read what they send before
        exiting: a Worker.teardown that raised."""
        exits = {slot.process.sentinel: slot for slot in self.slots}
        conns = {slot.conn: slot for slot in self.slots}
        while exits or conns:
            left = deadline - time.monotonic()
            ready = wait(list(exits) + list(conns), left) if left > 0 else []
            if not ready:
                return
            for handle in ready:
                if handle in exits:
                    del exits[handle]
                    continue
                try:
                    message = wire.loads(handle.recv_bytes())
                except (EOFError, OSError):
                    del conns[handle]
                    continue
                except Exception:
                    continue  # a result nobody waits for any more
                if isinstance(message, wire.TeardownFailed):
                    slot = conns[handle]
                    self.book.worker_failure(slot.number, slot.process.pid, "teardown",
                                             message.failure)

    def warn_teardowns(self) -> None:
        """A RuntimeWarning per Worker.teardown that raised (in the caller's thread)."""
        for failure in self.book.record.worker_failures:
            if failure.kind == "teardown":
                warnings.warn(f"worker {failure.worker}'s Worker.teardown() raised "
                              f"{failure.error} (pool.report().workers has its traceback)",
                              RuntimeWarning, stacklevel=5)


def kill(process: Any) -> None:
    try:
        process.kill()
    except (OSError, AttributeError, ValueError):
        pass


def kill_group(pgid: int | None) -> None:
    """SIGKILL process group `pgid` (gone already, or never made: nothing to do). A dead
    leader's pid is not reused while its group has members, so this hits no stranger."""
    if pgid:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
