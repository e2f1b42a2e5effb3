"""Failures of tasks: what crosses the pipe (`RemoteFailure`), what the pool records
(`Failure`), and what it raises (`TaskFailed`, `TaskTimeout`, `WorkerCrashed`).

A task's exception is raised in the parent as an instance of *both* `TaskFailed` and the
original type, so `except ValueError:` and `except poolbars.TaskFailed:` both catch it;
its `__cause__` carries the traceback from the worker, printed under the local one.
"""

from __future__ import annotations

import pickle
import reprlib
import traceback as _traceback
from dataclasses import dataclass, field


class TaskFailed(Exception):
    """A task failed. `traceback` holds the worker's traceback as text; `index`, `item`,
    `worker`, `kind` and `attempts` say which item, where, how and how often."""

    index: int | None = None
    item: str = ""
    traceback: str = ""
    worker: int | None = None
    kind: str = "error"
    attempts: int = 1


class TaskTimeout(TaskFailed):
    """A task ran past the pool's `timeout`; its worker was stopped and replaced."""

    kind = "timeout"


class WorkerCrashed(TaskFailed):
    """The worker process running a task died (exit code or signal in the message)."""

    kind = "crashed"


class RemoteTraceback(Exception):
    """The traceback text of a failure in a worker, shown as the cause of the error."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n\nTraceback from the worker:\n" + self.text.rstrip()


@dataclass
class RemoteFailure:
    """An exception raised in a worker, in a form that always pickles."""

    exc_type: str
    message: str
    traceback: str
    payload: bytes | None = None  # the exception itself, when it pickles

    @classmethod
    def from_exception(cls, exc: BaseException, skip: int = 0) -> RemoteFailure:
        """`exc` as a failure; `skip` leaves out that many outer frames (our own)."""
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
        except Exception:
            payload = None
        return cls(type(exc).__qualname__, str(exc), tb, payload)

    def exception(self) -> BaseException | None:
        if self.payload is None:
            return None
        try:
            return pickle.loads(self.payload)
        except Exception:
            return None


@dataclass
class Failure:
    """One failed item, as listed in `pool.failures`."""

    index: int | None
    item: str
    kind: str  # "error", "timeout" or "crashed"; of a worker itself: "setup", "teardown"
    exc_type: str
    message: str
    traceback: str
    worker: int | None
    attempts: int = 1
    remote: RemoteFailure | None = field(default=None, repr=False)

    @property
    def error(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type

    def to_exception(self) -> TaskFailed:
        """The exception to raise for this failure in the parent."""
        original = self.remote.exception() if self.remote else None
        base = {"timeout": TaskTimeout, "crashed": WorkerCrashed}.get(self.kind, TaskFailed)
        if original is not None and self.kind in ("error", "setup"):
            exc = _as_task_failed(original)
        else:
            exc = base(self.error)
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
    if dual is TaskFailed:
        return TaskFailed(f"{cls.__qualname__}: {original}")
    try:
        exc = cls.__new__(dual, *original.args)
    except Exception:  # a __new__ that wants other arguments
        return TaskFailed(f"{cls.__qualname__}: {original}")
    try:  # C-level fields (e.g. UnicodeError's) are set by __init__
        cls.__init__(exc, *original.args)
    except Exception:
        pass
    exc.args = original.args
    exc.__dict__.update(getattr(original, "__dict__", {}))
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
