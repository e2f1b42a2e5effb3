"""The wire format between the pool and its workers.

Each worker owns one end of a pipe to the parent. Messages are tuples; the first field
names the kind:

parent -> worker
    (FUNCTION, fn_id, payload)     a function (or Worker class) pickled with dill, once
                                   per worker per map; answered LOADED or SETUP_FAILED,
                                   and only then are its items sent
    (TASKS, fn_id, call, first, items, timed)
                                   run items (pool-wide indices first, first+1, …) in
                                   order; `call` says how: fn(item), fn(*item) or
                                   fn(*args, **kwargs); `timed`: mark each item's start
                                   time (the job has a timeout); then answer RESULTS
    (STOP,)                        tear down and exit
    (RESEND,)                      the last RESULTS could not be loaded here: send them
                                   again as EACH
worker -> parent
    (READY, pid)                   started, initializer done, connected to the channel
    (INIT_FAILED, failure)         the initializer raised; the worker exits
    (LOADED, fn_id)                the function is loaded (a Worker is set up)
    (SETUP_FAILED, failure)        a Worker's setup raised; the worker exits
    (TEARDOWN_FAILED, failure)     a Worker's teardown raised (sent before exiting)
    (RESULTS, values, failures, events)
                                   one value per item (None where it failed),
                                   [(offset, RemoteFailure), ...], and the reporter's
                                   pending events (the chunk's last bar states)
    (EACH, blobs, failures, events)
                                   the same, each value pickled on its own (dumps), so
                                   one that cannot be loaded fails only its own item

Beside the pipe, each worker writes into a shared array of 64-bit ints, SLOT_WIDTH per
worker: at SLOT_WIDTH*slot the index of the item it runs, then SENDING - first (first:
the chunk's first index) while its results are pickled and sent, NO_ITEM after that; so
the parent can name the item a crash or a timeout happened in, knows a chunk the worker
never started, and one that died on the way back (whose culprit it finds by running its
items alone); at +1, for timed jobs, the time it started that item (microseconds since
the epoch); at +2 the process group of a command it runs (0 when none), which the parent
kills with the worker.

Items and results travel with the standard library's pickle (fast); only what it cannot
pickle (lambdas, functions from a notebook) falls back to dill. Pickling a function never
touches sys.stdout: dill finds the globals a function uses by printing `dis.dis` into a
swapped sys.stdout, which swallows what other threads print meanwhile (a kernel's output),
so `dill.detect.nestedglobals` is replaced by an equivalent that reads the instructions.
"""

from __future__ import annotations

import dis
import inspect
import io
import pickle
import sys
from types import ModuleType
from typing import Any

import dill
import dill.detect
from dill._dill import _import_module

FUNCTION, TASKS, STOP, RESEND = "function", "tasks", "stop", "resend"
READY, INIT_FAILED, RESULTS, EACH = "ready", "init-failed", "results", "results-each"
LOADED, SETUP_FAILED, TEARDOWN_FAILED = "loaded", "setup-failed", "teardown-failed"
CALL_ITEM, CALL_STAR, CALL_ARGS = 0, 1, 2  # fn(item), fn(*item), fn(*args, **kwargs)
NO_ITEM = -1  # in the shared "current item" slot: running nothing
SENDING = -2  # SENDING - first in that slot: sending the results of the chunk from `first`
SLOT_WIDTH = 3  # ints per worker in the shared array: item, start time, command group
_PICKLE, _DILL = b"p", b"d"


class _Pickler(dill.Pickler):  # type: ignore[misc]  # dill is untyped: its Pickler is Any
    """dill, but modules go by reference.

    Plain dill pickles a module that is not installed in site-packages (an editable
    install, a helper module beside the notebook) *with its whole namespace*, which on
    loading overwrites that module's state in the worker."""

    dispatch = dill.Pickler.dispatch.copy()


def _save_module(pickler: Any, module: ModuleType) -> None:
    if module.__name__ != "__main__" and sys.modules.get(module.__name__) is module:
        pickler.save_reduce(_import_module, (module.__name__,), obj=module)
    else:
        dill._dill.save_module(pickler, module)


_Pickler.dispatch[ModuleType] = _save_module


def _nested_globals(func: Any, recurse: bool = True) -> list[str]:
    """The global names `func`'s code (and the code nested in it) uses, as
    `dill.detect.nestedglobals` finds them, without printing anything."""
    code = dill.detect.code(func)
    if code is None:
        return []
    names = {i.argval for i in dis.get_instructions(code) if "_GLOBAL" in i.opname}
    for const in code.co_consts:  # dis.dis, which dill reads, shows nested code too
        if inspect.iscode(const):
            names.update(_nested_globals(const))
    return list(names)


_dill_nested_globals = dill.detect.nestedglobals  # dill's own (kept for the tests)
dill.detect.nestedglobals = _nested_globals


def dill_dumps(obj: object) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL, recurse=True).dump(obj)
    return buffer.getvalue()


def dumps(obj: object) -> bytes:
    """Pickle `obj` for the pipe: standard pickle when it can, dill when it must."""
    try:
        return _PICKLE + pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return _DILL + dill_dumps(obj)


def loads(data: bytes) -> Any:
    if data[:1] == _PICKLE:
        return pickle.loads(memoryview(data)[1:])
    return dill.loads(memoryview(data)[1:])
