"""Timeouts and deaths of local workers, and which item takes the blame.

Each worker writes the index (and, with a timeout, the start time) of the item it runs
into the shared `SlotBoard`, so a crash or a timeout is pinned on the right item even
inside a chunk; the other items of that chunk go back in line. A worker that dies before
it starts its chunk, or while it sends the results back, blames no item at first. Start-up
and setup have an allowance of their own (`setup_timeout`, else derived from `timeout`).
It runs in the engine's thread, on the slots of `processes.Workers`.
"""

from __future__ import annotations

import signal
import time
from typing import Callable

from ..errors import RemoteFailure, TaskTimeout
from ..protocol import events as ev
from ..protocol import kinds
from .backend import EngineOptions
from .processes import Slot, Workers, describe_exit

# a worker's start-up and setup are not the task's time: with a `timeout` and no
# `setup_timeout`, they may take max(SETUP_MIN_SECONDS, SETUP_FACTOR × timeout) each
SETUP_MIN_SECONDS = 10.0
SETUP_FACTOR = 10


class Watch:
    """Notices overdue and dead workers and settles what they held (see the module doc)."""

    def __init__(self, options: EngineOptions, workers: Workers,
                 on_message: Callable[[Slot, bytes], None]):
        self.options = options
        self.workers = workers
        self.book = workers.book
        self.on_message = on_message  # what a dead worker sent last is read first

    # -- deadlines -------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """Seconds until the first worker is overdue (None: none can be)."""
        deadlines = [d for d in map(self._deadline, self.workers.slots) if d is not None]
        return max(min(deadlines) - time.time(), 0.005) if deadlines else None

    def _deadline(self, slot: Slot) -> float | None:
        """When `slot` is overdue: the end of its start-up or setup allowance, else of
        its item's timeout (the task's own time only); None if never."""
        if not slot.ready or slot.loading is not None:
            allowance = self._setup_allowance()
            return None if allowance is None else slot.since + allowance
        if slot.chunk is not None and slot.chunk.job.timeout is not None:
            return self._item_started(slot) + slot.chunk.job.timeout
        return None

    def _setup_allowance(self) -> float | None:
        """Seconds a worker may take to start (initializer) or to set up a function
        (import, `Worker.setup`): `setup_timeout`, else derived from `timeout`."""
        if self.options.setup_timeout is not None:
            return self.options.setup_timeout
        if self.options.timeout is None:
            return None
        return max(SETUP_MIN_SECONDS, SETUP_FACTOR * self.options.timeout)

    def _item_started(self, slot: Slot) -> float:
        assert slot.chunk is not None, "only asked of a busy slot"
        return max(self.workers.board.started(slot.number), slot.chunk.started)

    def check_timeouts(self) -> None:
        now = time.time()
        for slot in list(self.workers.slots):
            if not slot.ready or slot.loading is not None:
                self._check_setup_time(slot, now)
                continue
            timeout = slot.chunk.job.timeout if slot.chunk is not None else None
            if timeout is not None and now - self._item_started(slot) > timeout:
                self.workers.kill(slot)
                slot.process.join()
                self._lost(slot, "timeout", f"ran past the timeout of {timeout:g} s; "
                           "its worker was stopped and replaced")

    def _check_setup_time(self, slot: Slot, now: float) -> None:
        """Retire `slot`'s worker if its start-up or setup ran past its allowance."""
        allowance = self._setup_allowance()
        if slot.setup_failed or allowance is None or now - slot.since <= allowance:
            return
        stage = "Worker.setup" if slot.ready else "start-up (initializer)"
        text = (f"worker {slot.number}'s {stage} did not finish within {allowance:g} s "
                "(setup_timeout); it was stopped. Give a larger Pool(setup_timeout=…) if "
                "it needs longer")
        remote = RemoteFailure.from_exception(TaskTimeout(text))
        self.workers.setup_failed(slot, remote)
        self.workers.kill(slot)
        slot.process.join()
        self.workers.retire_for_good(slot)

    # -- deaths ----------------------------------------------------------------------------

    def check_exits(self) -> None:
        for slot in list(self.workers.slots):
            if slot.process.exitcode is None:
                continue
            # results sent just before the exit, or why its setup or teardown failed
            while (slot.busy or not slot.ready or slot.retiring) and _readable(slot.conn):
                try:
                    data = slot.conn.recv_bytes()
                except (EOFError, OSError):
                    break
                self.on_message(slot, data)
            if slot.loading is not None:
                self._lost_in_setup(slot)
            elif slot.busy:
                code = slot.process.exitcode
                hint = (" (SIGKILL is most often the out-of-memory killer)"
                        if code == -signal.SIGKILL else "")
                self._lost(slot, "crashed", f"{describe_exit(code)} while running it{hint}")
            elif slot.setup_failed or (not slot.ready and slot.failed_starts >= 2):
                self.workers.retire_for_good(slot)
            elif slot.retiring:
                self.workers.replace(slot, "exited")
            else:
                self.workers.replace(slot, "crashed", failed_starts=0 if slot.ready else
                                     slot.failed_starts + 1)

    def _lost_in_setup(self, slot: Slot) -> None:
        """`slot`'s worker died loading a function (or in Worker.setup): its chunk goes
        back whole, blaming no item; the third death in a row is a setup failure."""
        chunk = slot.take_chunk()
        chunk.job.put_back(chunk)
        if slot.failed_starts < 2:
            self.workers.replace(slot, "crashed", failed_starts=slot.failed_starts + 1)
            return
        text = f"worker {slot.number} {describe_exit(slot.process.exitcode)} in its setup"
        self.workers.setup_failed(slot, RemoteFailure("WorkerCrashed", text,
                                                      f"WorkerCrashed: {text}\n"))
        self.workers.retire_for_good(slot)

    def _lost(self, slot: Slot, kind: kinds.Kind, how: str) -> None:
        """The worker in `slot` is gone mid-chunk: settle the item it was running as
        `kind`, put the rest of the chunk back in line, start a new worker. If it had not
        started the chunk, the chunk goes back whole, once; lost again, its first item
        takes the blame (so a chunk that kills every worker cannot loop forever). If it
        died sending the chunk's results, each item goes back alone, blaming none: the
        one that kills its worker alone is then pinned."""
        chunk = slot.take_chunk()
        board = self.workers.board
        item, sending = board.item(slot.number), board.sending(slot.number)
        board.clear(slot.number)  # its successor starts clean
        if sending == chunk.first:  # it died sending this chunk's results back
            if len(chunk.items) > 1:  # whose it was shows when each item goes alone
                self._close_lane(slot)
                chunk.job.requeue(chunk, range(len(chunk.items)))
                self.workers.replace(slot, "crashed")
                return
            how = how.replace("while running it", "while sending its result back")
            item = chunk.first
        offset = -1 if item is None else item - chunk.first
        if not 0 <= offset < len(chunk.items):
            if not chunk.lost_unstarted:
                chunk.lost_unstarted = True
                self._close_lane(slot)
                chunk.job.put_back(chunk)
                self.workers.replace(slot, "crashed")
                return
            offset = 0
        exc_type = kinds.outcome(kind).exception
        text = f"worker {slot.number} (pid {slot.pid}) {how}"
        remote = RemoteFailure(exc_type, text, f"{exc_type}: {text}\n")
        self.book.settle_failure(chunk, offset, kind, remote, slot.number)
        self._close_lane(slot)
        chunk.job.requeue(chunk, [i for i in range(len(chunk.items)) if i != offset])
        self.workers.replace(slot, "crashed")

    def _close_lane(self, slot: Slot) -> None:
        """Close the chunk of `slot` on the panel (its items settle elsewhere)."""
        self.book.post([ev.Done(slot.number, 0, time.time())])


def _readable(conn: object) -> bool:
    try:
        return bool(conn.poll())  # type: ignore[attr-defined]
    except (EOFError, OSError):
        return False
