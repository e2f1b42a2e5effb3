"""Failures of tasks: what crosses the pipe (`RemoteFailure`), what the pool records
(`Failure`), and what it raises (`TaskFailed`, `TaskTimeout`, `WorkerCrashed`).

A task's exception is raised in the parent as an instance of *both* `TaskFailed` and the
original type, so `except ValueError:` and `except poolbars.TaskFailed:` both catch it;
its `__cause__` carries the traceback from the worker, printed under the local one.
The class is found in the parent by name, so this holds also for a class plain pickle
cannot rebuild and for one defined in a notebook cell or a script's `__main__`.
"""

from __future__ import annotations

import importlib
import pickle
import reprlib
import sys
import traceback as _traceback
from dataclasses import dataclass, field
from types import FunctionType

from .protocol import wire
from .protocol.kinds import Kind, WorkerKind, outcome


class TaskFailed(Exception):
    """A task failed: raised in your process for an item that failed for good.

    A pool raises it under `on_error="raise"` (the default) for the first item that
    failed after its retries: from `map`, `starmap`, `imap`, `imap_unordered`, a
    `MapHandle`'s `result()`, a `submit` future's `result()`, and from a map when every
    worker's setup failed. A task's own exception is raised as an instance of *both*
    `TaskFailed` and its own type, so `except ValueError:` and
    `except poolbars.TaskFailed:` both catch it, with the worker's traceback printed as
    its cause. Its subclasses `TaskTimeout` and `WorkerCrashed` are the other two ways
    an item fails. Under `on_error="return"` or `"skip"` nothing is raised: see
    `pool.failures`.

    Attributes:
        index (int | None): The item's place in the map's input (None for a worker's
            setup).
        item (str): A short repr of the item.
        traceback (str): The worker's traceback, as text.
        worker (int | None): The worker that ran it (0, 1, …).
        kind (str): How it failed: `"error"`, `"timeout"`, `"crashed"` or (of a
            worker's setup) `"setup"`.
        attempts (int): How many times it ran (1 + its retries).

    Example:
        ```python
        import poolbars as pb

        def parse(text):
            return int(text)

        with pb.Pool(2) as pool:
            try:
                pool.map(parse, ["1", "x"])
            except ValueError as exc:  # also a pb.TaskFailed
                print(isinstance(exc, pb.TaskFailed), exc.index, exc.item)  # True 1 'x'
        ```
    """

    index: int | None = None
    item: str = ""
    traceback: str = ""
    worker: int | None = None
    kind: str = "error"
    attempts: int = 1


class TaskTimeout(TaskFailed):
    """A task ran past the pool's `timeout`: its worker was killed and replaced.

    Raised (under `on_error="raise"`) where `TaskFailed` is, for an item that ran
    longer than `Pool(timeout=...)` seconds on every attempt; the map goes on without
    it under the other policies. Its attributes are `TaskFailed`'s, with `kind`
    `"timeout"`.

    Example:
        ```python
        import time
        import poolbars as pb

        with pb.Pool(1, timeout=0.5) as pool:
            try:
                pool.map(time.sleep, [0, 30])
            except pb.TaskTimeout as exc:
                print(exc.index, exc.kind)  # 1 timeout
        ```
    """

    kind = "timeout"


class WorkerCrashed(TaskFailed):
    """The worker process running a task died; the message gives its exit code or signal.

    Raised (under `on_error="raise"`) where `TaskFailed` is, for an item whose worker
    died while running it on every attempt: `os._exit`, `sys.exit()`, a signal, a
    segfault, the out-of-memory killer. Only that item fails; the worker is replaced.
    Its attributes are `TaskFailed`'s, with `kind` `"crashed"`.

    Example:
        ```python
        import os
        import poolbars as pb

        with pb.Pool(1) as pool:
            try:
                pool.map(os._exit, [3])
            except pb.WorkerCrashed as exc:
                print(exc.index, exc.kind)  # 0 crashed
        ```
    """

    kind = "crashed"


# the classes kinds.KINDS names, by name: a failure's kind picks its class through it
_TASK_ERRORS = {cls.__name__: cls for cls in (TaskFailed, TaskTimeout, WorkerCrashed)}


class RemoteTraceback(Exception):
    """The traceback text of a failure in a worker, shown as the cause of the error."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n\nTraceback from the worker:\n" + self.text.rstrip()


@dataclass
class RemoteFailure:
    """An exception raised in a worker, in a form that always pickles.

    `payload` is the exception itself when plain pickle round-trips it. Else the parent
    rebuilds it from `exc_module`, `exc_type` and `state` (its args and attributes): it
    finds the class by name among its own modules — where a class from a notebook cell or
    a script's `__main__` really lives — and fills a bare instance without its `__init__`."""

    exc_type: str
    message: str
    traceback: str
    payload: bytes | None = None  # the exception itself, when it pickles
    exc_module: str = ""  # the module of its class, to find the class in the parent
    state: bytes | None = None  # wire.dumps((args, __dict__)), best effort

    @classmethod
    def from_exception(cls, exc: BaseException, skip: int = 0) -> RemoteFailure:
        """`exc` as a failure; `skip` leaves out that many outer frames (our own). Never
        raises, whatever the exception's own methods do."""
        try:
            return cls._describe(exc, skip)
        except BaseException as err:  # e.g. a `details` property that raises (anything)
            name = type(exc).__qualname__
            return cls(name, _text(exc), f"{name}: {_text(exc)}\n(and describing it failed: "
                       f"{type(err).__name__}: {_text(err)})\n", None, type(exc).__module__)

    @classmethod
    def _describe(cls, exc: BaseException, skip: int) -> RemoteFailure:
        frames = exc.__traceback__
        for _ in range(skip):
            frames = frames.tb_next if frames is not None and frames.tb_next else frames
        tb = "".join(_traceback.format_exception(type(exc), exc, frames))
        details = getattr(exc, "details", None)
        if isinstance(details, str):  # e.g. a command's log tail says more than a traceback
            tb = details
        try:
            payload = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(payload)  # some exceptions pickle but cannot be rebuilt
        except BaseException:
            payload = None
        return cls(type(exc).__qualname__, _text(exc), tb, payload, type(exc).__module__,
                   _state(exc))

    def exception(self) -> BaseException | None:
        """The exception as raised in the worker, or None if its class is not found here."""
        if self.payload is not None:
            try:
                return pickle.loads(self.payload)
            except Exception:
                pass
        found = _find_class(self.exc_module, self.exc_type)
        return None if found is None else _rebuild(found, self.state, self.message)


def _text(obj) -> str:
    """str(obj), or a stand-in that says why there is none (its __str__ raised)."""
    try:
        return str(obj)
    except BaseException as err:
        try:
            why = f"{type(err).__name__}: {err}"
        except BaseException:
            why = type(err).__name__
        return f"<str() failed: {why}>"


def _state(exc: BaseException) -> bytes | None:
    """(args, __dict__) of `exc` pickled for the wire; what will not pickle goes as repr."""
    args, attrs = tuple(exc.args), dict(getattr(exc, "__dict__", {}))
    try:
        return wire.dumps((args, attrs))
    except BaseException:
        pass
    try:
        return wire.dumps((tuple(_portable(a) for a in args),
                           {k: _portable(v) for k, v in attrs.items()}))
    except BaseException:
        return None


def _portable(value):
    try:
        wire.dumps(value)
        return value
    except BaseException:
        try:
            return repr(value)
        except BaseException:
            return f"<unpicklable {type(value).__qualname__}>"


def _find_class(module: str, qualname: str) -> type | None:
    """The exception class `module.qualname` as this process knows it, if it does."""
    if module == "__mp_main__":  # a spawned worker's name for the main script
        module = "__main__"
    found = sys.modules.get(module)
    if found is None and module and module != "__main__":
        try:
            found = importlib.import_module(module)
        except Exception:
            return None
    try:  # a module's own __getattr__ may raise anything
        for part in qualname.split("."):
            found = getattr(found, part, None)
    except Exception:
        return None
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    return None


def _rebuild(cls: type[BaseException], state: bytes | None,
             message: str) -> BaseException | None:
    """An instance of `cls` with the worker's args and attributes, made without calling
    the class's own __init__ (it may want other arguments, or have side effects)."""
    args, attrs = (message,), {}
    if state is not None:
        try:
            args, attrs = wire.loads(state)
        except Exception:
            pass
    exc = _bare(cls, args)
    if exc is None:
        return None
    try:
        exc.args = args
        exc.__dict__.update(attrs)
    except Exception:
        pass
    return exc


def _bare(cls: type[BaseException], args: tuple):
    """cls.__new__ with the args if it takes them, else without; then the nearest C-level
    __init__ (it sets fields such as UnicodeError's), never one written in Python."""
    try:
        exc = cls.__new__(cls, *args)
    except Exception:
        try:
            exc = cls.__new__(cls)
        except Exception:
            return None
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is not None and not isinstance(init, FunctionType):
            try:
                init(exc, *args)
            except Exception:
                pass
            break
    return exc


@dataclass
class Failure:
    """One failure, as listed in `pool.failures` and passed to `on_failure`.

    A record poolbars fills: one per item that failed for good (whatever `on_error`
    says), and one per worker whose setup or teardown failed. Under
    `on_error="return"` it also stands at the failed item's place in the results.

    Attributes:
        index: The item's place in the map's input; None for a worker's failure.
        item: A short repr of the item ("" for a worker's failure).
        kind: How it failed: `"error"` (it raised), `"timeout"`, `"crashed"`, or, of a
            worker, `"setup"` or `"teardown"`.
        exc_type: The exception's type name (e.g. `"ValueError"`).
        message: The exception's message.
        traceback: The worker's traceback, as text.
        worker: The worker it ran on (0, 1, …), if known.
        attempts: How many times it ran (1 + its retries).
        remote: The exception as it crossed from the worker (used by
            `to_exception()`); not shown in the repr.

    Example:
        ```python
        import poolbars as pb

        with pb.Pool(2, on_error="skip") as pool:
            pool.map(int, ["1", "x", "3"])
        failure = pool.failures[0]
        print(failure.index, failure.kind, failure.error)
        # 1 error ValueError: invalid literal for int() with base 10: 'x'
        ```
    """

    index: int | None
    item: str
    kind: Kind | WorkerKind  # how the item failed, or (of a worker) setup or teardown
    exc_type: str
    message: str
    traceback: str
    worker: int | None
    attempts: int = 1
    remote: RemoteFailure | None = field(default=None, repr=False)

    @property
    def error(self) -> str:
        """`"ExcType: message"`, or the type alone when there is no message."""
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type

    def to_exception(self) -> TaskFailed:
        """The exception a pool raises for this failure, to raise it yourself.

        Returns:
            A `TaskFailed` (a `TaskTimeout` or `WorkerCrashed` for those kinds; for an
                error, also an instance of the task's own exception type when its class
                is found here), with the record's attributes and the worker's traceback
                as its cause.
        """
        original = self.remote.exception() if self.remote else None
        base = _TASK_ERRORS[outcome(self.kind).exception]
        # a BaseException that is no Exception (KeyboardInterrupt, …) is not re-raised as
        # itself: here it would read as the user's own Ctrl-C or exit
        if isinstance(original, Exception) and self.kind in ("error", "setup"):
            exc = _as_task_failed(original)
        else:  # the class names the type: the message need not say it again
            exc = base(self.message if self.exc_type == base.__name__ else self.error)
        exc.index, exc.item, exc.traceback = self.index, self.item, self.traceback
        exc.worker, exc.kind, exc.attempts = self.worker, self.kind, self.attempts
        if self.traceback:
            exc.__cause__ = RemoteTraceback(self.traceback)
        return exc


_dual_types: dict = {}


def _as_task_failed(original: BaseException) -> TaskFailed:
    """`original` re-made as an instance of a subclass of TaskFailed and its own type."""
    cls = type(original)
    if isinstance(original, TaskFailed):
        return original
    dual = _dual_types.get(cls)
    if dual is None:
        try:
            dual = type(cls.__name__, (TaskFailed, cls),
                        {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                         "__str__": cls.__str__, "__reduce__": _reduce_as_original})
        except TypeError:  # a type that cannot be combined (e.g. a C layout clash)
            dual = TaskFailed
        _dual_types[cls] = dual
    exc = None if dual is TaskFailed else _bare(dual, original.args)
    if exc is None:  # a __new__ that wants other arguments
        return TaskFailed(f"{cls.__qualname__}: {_text(original)}")
    exc.args = original.args
    exc.__dict__.update(getattr(original, "__dict__", {}))
    for name in ("filename", "filename2") if isinstance(original, OSError) else ():
        if getattr(original, name) is not None:  # C-level fields that args do not carry
            setattr(exc, name, getattr(original, name))
    exc.original = original
    return exc


def _reduce_as_original(self):
    # pickling the dual exception gives back the original one
    return self.original.__reduce__()


def short_repr(item, limit: int = 80) -> str:
    """A one-line repr of an item for labels and records."""
    r = reprlib.Repr()
    r.maxstring = r.maxother = limit
    text = r.repr(item)
    return text if len(text) <= limit else text[: limit - 1] + "…"
