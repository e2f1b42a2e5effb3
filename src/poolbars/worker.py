"""The loop inside each worker process: run chunks from the pipe, report through the
channel, answer with results (see `wire.py` for the messages)."""

from __future__ import annotations

import os
import pickle
import signal

import dill

from . import reporting
from .channel import connect
from .errors import RemoteFailure
from .wire import FUNCTION, NO_ITEM, READY, RESULTS, STOP, TASKS, dumps, loads


def queue_sink(address, authkey):
    """Send reporter batches to the channel at `address` as pickled bytes."""
    proxy = connect(address, authkey)

    def send(batch: list) -> None:
        proxy.put(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    return send


def main(slot: int, conn, address, authkey: bytes, current, initializer=None,
         initargs=()) -> None:
    """Run tasks from `conn` until told to stop (the target of every worker process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    reporter = reporting.Reporter(queue_sink(address, authkey), source=slot)
    reporting.install(reporter)
    if initializer is not None:
        initializer(*initargs)
    conn.send_bytes(dumps((READY, os.getpid())))
    functions: dict = {}
    while True:
        message = loads(conn.recv_bytes())
        kind = message[0]
        if kind == TASKS:
            conn.send_bytes(_run(functions[message[1]], message[2], message[3], reporter,
                                 current, slot))
        elif kind == FUNCTION:
            functions[message[1]] = _load_function(message[2])
        elif kind == STOP:
            break
    reporter.flush()


def _load_function(payload: bytes):
    """The function to run, or one that explains why it could not be loaded here."""
    try:
        return dill.loads(payload)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"

        def unloadable(item):
            raise RuntimeError(f"the function could not be loaded in the worker ({reason}); "
                               "make sure what it uses can be imported in a new process")
        return unloadable


def _run(fn, first: int, items: list, reporter, current, slot: int) -> bytes:
    values, failures = [], []
    for index, item in enumerate(items, first):
        current[slot] = index  # so the parent can name the item if this process dies
        reporter.task = index
        try:
            values.append(fn(item))
        except Exception as exc:
            values.append(None)
            failures.append((index - first, RemoteFailure.from_exception(exc, skip=1)))
    reporter.task = None
    current[slot] = NO_ITEM
    reporter.flush()  # the last state of every bar reaches the panel before the result
    try:
        return dumps((RESULTS, values, failures))
    except Exception:
        return dumps((RESULTS, *_picklable(values, failures)))


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
