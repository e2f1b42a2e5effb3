"""The loop inside each worker process: run chunks from the pipe, report through the
channel, answer with results (see `wire.py` for the messages). Also what task code can
ask of its worker: `worker_id()`, `worker_state()`, and the `Worker` class form."""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import time

import dill

from . import reporting
from .channel import connect
from .errors import RemoteFailure
from .wire import (CALL_ARGS, CALL_ITEM, CALL_STAR, FUNCTION, IN_CHUNK, INIT_FAILED,
                   NO_ITEM, READY, RESULTS, SLOT_WIDTH, STOP, TASKS, dumps, loads)

_worker_id: int | None = None
_worker_state: dict = {}
_shared = None  # the pool's shared array (see wire.py), in a worker


def note_command_group(pgid: int) -> None:
    """Tell the parent which process group a command of this task runs in (0: none), so
    it is killed with this worker on a timeout or an interrupt."""
    if _shared is not None and _worker_id is not None:
        _shared[SLOT_WIDTH * _worker_id + 2] = pgid


def worker_id() -> int | None:
    """The number (0, 1, …) of the pool worker running this task; None outside a pool."""
    return _worker_id


def worker_state() -> dict:
    """A dict that lives as long as this worker process, across its tasks: the place for
    a model, a connection, a cache. (In the main process: a dict of its own.)"""
    return _worker_state


class Worker:
    """The class form, for expensive setup once per worker (load a model once per GPU).

    Subclass it and pass the class where a function goes: `pool.map(MyWorker, items)`.
    Each worker process makes one instance, calls `setup(**worker_args)` once, then
    `process(item)` per item, and `teardown()` when the pool closes."""

    def setup(self, **worker_args) -> None:
        """Prepare this worker (called once, with this worker's `worker_args`)."""

    def process(self, item):
        """Handle one item and return its result."""
        raise TypeError(f"{type(self).__name__} must define process(self, item)")

    def teardown(self) -> None:
        """Release what `setup` took (called when the pool closes the worker)."""


def queue_sink(address, authkey):
    """Send reporter batches to the channel at `address` as pickled bytes."""
    proxy = connect(address, authkey)

    def send(batch: list) -> None:
        proxy.put(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    return send


def main(slot: int, conn, address, authkey: bytes, current, initializer=None,
         initargs=(), worker_args=None, capture_tqdm: bool = True) -> None:
    """Run tasks from `conn` until told to stop (the target of every worker process)."""
    global _worker_id, _shared
    # Ctrl-C reaches the whole process group; the parent decides, and stops us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_id = slot
    _shared = current
    reporter = reporting.Reporter(queue_sink(address, authkey), source=slot)
    reporter.start_timer()
    reporting.install(reporter)
    if capture_tqdm:
        from .tqdm_compat import install_capture
        install_capture()
    worker_args = dict(worker_args or {})
    if initializer is not None:
        try:
            initializer(*initargs, **worker_args)
        except Exception as exc:
            conn.send_bytes(dumps((INIT_FAILED, RemoteFailure.from_exception(exc, skip=1))))
            return
    conn.send_bytes(dumps((READY, os.getpid())))
    functions: dict = {}
    instances: list[Worker] = []
    while True:
        message = loads(conn.recv_bytes())
        kind = message[0]
        if kind == TASKS:
            _, fn_id, call, first, items, timed = message
            conn.send_bytes(_run(functions[fn_id], call, first, items, reporter, current,
                                 slot, timed))
        elif kind == FUNCTION:
            functions[message[1]] = _load(message[2], worker_args, instances)
        elif kind == STOP:
            break
    for instance in instances:
        instance.teardown()
    reporter.flush()


def _load(payload: bytes, worker_args: dict, instances: list):
    """The callable to run: a function, or `process` of a set-up Worker instance; if that
    fails, a callable that explains why for every item."""
    try:
        target = dill.loads(payload)
        if isinstance(target, type) and issubclass(target, Worker):
            instance = target()
            instance.setup(**worker_args)
            instances.append(instance)
            return instance.process
        return target
    except Exception as exc:
        stage = "set up" if "target" in locals() else "loaded"
        reason = f"{type(exc).__name__}: {exc}"

        def unusable(*args, **kwargs):
            raise RuntimeError(f"the task could not be {stage} in the worker ({reason})")
        return unusable


def _run(fn, call: int, first: int, items: list, reporter, current, slot: int,
         timed: bool) -> bytes:
    at = SLOT_WIDTH * slot
    if len(items) > 1 and not timed and call != CALL_ARGS:
        current[at] = IN_CHUNK
        values, failures = _run_fast(fn, call, items)
    else:
        values, failures = _run_each(fn, call, first, items, reporter, current, at, timed)
    current[at] = NO_ITEM
    # the last state of the chunk's bars travels with its results: it reaches the panel
    # before the parent counts the items done, and costs no extra message
    events = reporter.take()
    try:
        return dumps((RESULTS, values, failures, events))
    except Exception:
        return dumps((RESULTS, *_picklable(values, failures), events))


def _run_each(fn, call, first, items, reporter, current, at, timed):
    """One item at a time, marking each in shared memory: the parent can name the item a
    crash or a timeout happened in."""
    values, failures = [], []
    for index, item in enumerate(items, first):
        current[at] = index
        if timed:
            current[at + 1] = time.time()
        reporter.task = index
        try:
            if call == CALL_ITEM:
                values.append(fn(item))
            elif call == CALL_STAR:
                values.append(fn(*item))
            else:
                values.append(fn(*item[0], **item[1]))
        except Exception as exc:
            values.append(None)
            failures.append((index - first, RemoteFailure.from_exception(exc, skip=1)))
    reporter.task = None
    return values, failures


def _run_fast(fn, call, items):
    """A chunk of quick items at C speed (`list.extend(map(…))`, ~3x less overhead per
    item than a Python loop). An exception stops `extend` with the results so far kept,
    so the failed item is the next one; then the rest goes on. Only a crash cannot be
    pinned on an item here: the parent then runs the chunk's items again one by one."""
    values, failures = [], []
    mapper = map if call == CALL_ITEM else itertools.starmap
    while True:
        done = len(values)
        try:
            values.extend(mapper(fn, itertools.islice(items, done, None) if done else items))
            return values, failures
        except Exception as exc:
            failures.append((len(values), RemoteFailure.from_exception(exc, skip=1)))
            values.append(None)
            if len(values) == len(items):
                return values, failures


def _picklable(values: list, failures: list):
    """`values` with each one that cannot be sent back replaced by a failure."""
    failed = dict(failures)
    for offset, value in enumerate(values):
        if offset in failed:
            continue
        try:
            dumps(value)
        except Exception as exc:
            failure = RemoteFailure.from_exception(exc)
            failure.message = ("the result could not be pickled to send it back to the "
                               f"parent ({failure.message}); return plain data instead")
            values[offset] = None
            failed[offset] = failure
    return values, sorted(failed.items())

