"""The wire format between the pool and its workers.

Each worker owns one end of a pipe to the parent. Each message is a NamedTuple of this
module whose class names its kind (defined at module level, so it pickles by reference,
also under spawn and forkserver):

parent -> worker
    Function(fn_id, payload)       a function (or Worker class) pickled with dill, once
                                   per worker per map; answered Loaded or SetupFailed,
                                   and only then are its items sent
    Tasks(fn_id, call, first, items, timed)
                                   run items (pool-wide indices first, first+1, …) in
                                   order; `call` says how: fn(item), fn(*item) or
                                   fn(*args, **kwargs); `timed`: mark each item's start
                                   time (the job has a timeout); then answer Results
    Stop()                         tear down and exit
    Resend()                       the last Results could not be loaded here: send them
                                   again as Each
worker -> parent
    Ready(pid)                     started, initializer done, connected to the channel
    InitFailed(failure)            the initializer raised; the worker exits
    Loaded(fn_id)                  the function is loaded (a Worker is set up)
    SetupFailed(failure)           a Worker's setup raised; the worker exits
    TeardownFailed(failure)        a Worker's teardown raised (sent before exiting)
    Results(values, failures, events)
                                   one value per item (None where it failed),
                                   [(offset, RemoteFailure), ...], and the reporter's
                                   pending events (the chunk's last bar states)
    Each(blobs, failures, events)  the same, each value pickled on its own (dumps), so
                                   one that cannot be loaded fails only its own item

Beside the pipe, the workers share a `SlotBoard`: an array of 64-bit ints, SLOT_WIDTH per
worker, made by the parent and written by each worker in its own slot. Its first int holds
the index of the item the worker runs, then SENDING - first (first: the chunk's first
index) while its results are pickled and sent, NO_ITEM after that; so the parent can name
the item a crash or a timeout happened in, knows a chunk the worker never started, and
one that died on the way back (whose culprit it finds by running its items alone). The
second holds, for timed jobs, the time the worker started that item (microseconds since
the epoch); the third the process group of a command it runs (0 when none), which the
parent kills with the worker. Only `SlotBoard` knows these positions.

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
from typing import TYPE_CHECKING, Any, NamedTuple

import dill
import dill.detect
from dill._dill import _import_module

if TYPE_CHECKING:  # errors.py imports this module
    from ..errors import RemoteFailure

CALL_ITEM, CALL_STAR, CALL_ARGS = 0, 1, 2  # fn(item), fn(*item), fn(*args, **kwargs)
NO_ITEM = -1  # in a worker's item slot: running nothing
SENDING = -2  # SENDING - first in that slot: sending the results of the chunk from `first`
SLOT_WIDTH = 3  # ints per worker in the shared array: item, start time, command group
_PICKLE, _DILL = b"p", b"d"


class Pickler(dill.Pickler):  # type: ignore[misc]  # dill is untyped: its Pickler is Any
    """dill, but modules go by reference.

    Plain dill pickles a module that is not installed in site-packages (an editable
    install, a helper module beside the notebook) *with its whole namespace*, which on
    loading overwrites that module's state in the worker. Public for `journal.canonical`,
    which pickles the same way with a stable order."""

    dispatch = dill.Pickler.dispatch.copy()


def _save_module(pickler: Any, module: ModuleType) -> None:
    if module.__name__ != "__main__" and sys.modules.get(module.__name__) is module:
        pickler.save_reduce(_import_module, (module.__name__,), obj=module)
    else:
        dill._dill.save_module(pickler, module)


Pickler.dispatch[ModuleType] = _save_module


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
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL, recurse=True).dump(obj)
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


# -- the messages (see the module docstring) ---------------------------------------------


class Function(NamedTuple):
    fn_id: int
    payload: bytes


class Tasks(NamedTuple):
    fn_id: int
    call: int
    first: int
    items: list[Any]
    timed: bool


class Stop(NamedTuple):
    pass


class Resend(NamedTuple):
    pass


class Ready(NamedTuple):
    pid: int


class InitFailed(NamedTuple):
    failure: RemoteFailure


class Loaded(NamedTuple):
    fn_id: int


class SetupFailed(NamedTuple):
    failure: RemoteFailure


class TeardownFailed(NamedTuple):
    failure: RemoteFailure


class Results(NamedTuple):
    values: list[Any]
    failures: list[tuple[int, RemoteFailure]]
    events: list[tuple[Any, ...]]


class Each(NamedTuple):
    blobs: list[bytes]
    failures: list[tuple[int, RemoteFailure]]
    events: list[tuple[Any, ...]]


# -- the shared "current item" array ----------------------------------------------------

_ITEM, _STARTED, _GROUP = 0, 1, 2  # a slot's ints, from SLOT_WIDTH * worker


class SlotBoard:
    """The workers' shared array of 64-bit ints (see the module docstring), by name.

    The parent makes it (`create`) and hands `array` to each worker process, which views
    it with `attach`. A worker writes only its own slot; the parent reads a slot, and
    clears it once that worker is gone."""

    def __init__(self, ints: Any) -> None:
        # a ctypes array in the parent; an int64 memoryview in a worker, which writes an
        # int in ~20 ns where a ctypes array takes ~100: it does so per item
        self.ints = ints

    @classmethod
    def create(cls, ctx: Any, workers: int) -> SlotBoard:
        """A board for `workers` workers in shared memory of `ctx` (a multiprocess context)."""
        return cls(ctx.RawArray("q", [NO_ITEM, 0, 0] * workers))

    @classmethod
    def attach(cls, array: Any) -> SlotBoard:
        """The board over `array` (a `create`d board's `array`), in a worker."""
        return cls(memoryview(array).cast("B").cast("q"))

    @classmethod
    def local(cls) -> SlotBoard:
        """A board of one slot (0) that no other process sees: items run outside a pool."""
        return cls(memoryview(bytearray(8 * SLOT_WIDTH)).cast("q"))

    @property
    def array(self) -> Any:
        """What a worker process gets to `attach` to."""
        return self.ints

    # -- the worker's side

    def hot(self, worker: int) -> tuple[Any, int, int]:
        """(ints, at, started_at): write an item's index at `ints[at]` and its start time
        (microseconds since the epoch) at `ints[started_at]` — per item, so no call."""
        at = SLOT_WIDTH * worker
        return self.ints, at + _ITEM, at + _STARTED

    def mark_sending(self, worker: int, first: int) -> None:
        """`worker` pickles and sends the results of the chunk from `first`."""
        self.ints[SLOT_WIDTH * worker + _ITEM] = SENDING - first

    def clear(self, worker: int) -> None:
        """`worker` runs nothing (its results are sent, or its successor starts clean)."""
        self.ints[SLOT_WIDTH * worker + _ITEM] = NO_ITEM

    def set_group(self, worker: int, pgid: int) -> None:
        """A command of `worker`'s task runs in process group `pgid` (0: none any more)."""
        self.ints[SLOT_WIDTH * worker + _GROUP] = pgid

    # -- the parent's side

    def item(self, worker: int) -> int | None:
        """The index of the item `worker` runs (or last ran, if it died); None if none."""
        mark = int(self.ints[SLOT_WIDTH * worker + _ITEM])
        return mark if mark >= 0 else None

    def sending(self, worker: int) -> int | None:
        """The first index of the chunk whose results `worker` sends; None if it does not."""
        mark = int(self.ints[SLOT_WIDTH * worker + _ITEM])
        return SENDING - mark if mark <= SENDING else None

    def started(self, worker: int) -> float:
        """When `worker` started its item of a timed job (seconds since the epoch)."""
        return int(self.ints[SLOT_WIDTH * worker + _STARTED]) / 1e6

    def group(self, worker: int) -> int:
        """The process group of a command `worker`'s task runs (0: none)."""
        return int(self.ints[SLOT_WIDTH * worker + _GROUP])

    def clear_group(self, worker: int) -> None:
        self.ints[SLOT_WIDTH * worker + _GROUP] = 0
