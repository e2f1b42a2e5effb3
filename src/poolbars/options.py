"""Options: every check of what a user configures, written once, in one message style,
"<name>=<value!r>: <what to give>". `PoolOptions` is the checked, frozen record a `Pool`
is built from (and so `pb.map`); `run_commands`, `Panel` and the journal call the same
check functions for the options they take themselves, and the map family checks its own
arguments here too (`check_mappable`, `check_commands`). Checks raise the error types they
always have: ValueError for a wrong value, TypeError for a wrong kind of thing."""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any, Callable, Iterable

import multiprocess

from .views.display import resolve

ON_ERROR = ("raise", "return", "skip")
RESUME = (True, False, "force")
RESUME_FIX = ("give True (skip what the journal has), False (start the journal afresh) or "
              "'force' (reuse it even if the function or input changed)")
CLUSTER_FIX = 'pass a distributed.Client (pip install "poolbars[dask]")'
# options that only mean something for local worker processes
LOCAL_ONLY = ("timeout", "setup_timeout", "initializer", "worker_args",
              "max_tasks_per_child", "start_method")


def default_start_method() -> str:
    """forkserver where it exists: safe from a threaded kernel, and fast once started;
    spawn elsewhere. `fork` is never the default (threads + fork can deadlock)."""
    return "forkserver" if "forkserver" in multiprocess.get_all_start_methods() else "spawn"


def bad(name: str, value: object, fix: str) -> str:
    """The one message style: the option, the value it got, and what to give instead."""
    return f"{name}={value!r}: {fix}"


# -- one function per kind of check -----------------------------------------------------

def check_whole(name: str, value: object, minimum: int, what: str) -> None:
    """A whole number (not a bool) of at least `minimum`; `what` says what it counts."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(bad(name, value, f"give {what}"))


def check_whole_or_none(name: str, value: object, minimum: int = 1) -> None:
    if value is not None:
        check_whole(name, value, minimum, f"a whole number, {minimum} or more, or None")


def check_seconds(name: str, value: object) -> None:
    """None, or a number of seconds above 0."""
    if value is not None and (not isinstance(value, (int, float)) or value <= 0):
        raise ValueError(bad(name, value, "give a number of seconds above 0, or None"))


def check_callable(name: str, value: object) -> None:
    """None, or something to call."""
    if value is not None and not callable(value):
        raise TypeError(bad(name, value, "it is not callable; give a function, or None"))


def check_choice(name: str, value: object, choices: tuple[object, ...],
                 fix: str | None = None) -> None:
    """One of `choices` (compared with ==, so resume=1 counts as True, as always)."""
    if value not in choices:
        raise ValueError(bad(name, value, fix or f"choose one of {choices}"))


def check_start_method(value: str | None) -> str:
    """The start method to use: `value`, or the default when it is None."""
    methods = multiprocess.get_all_start_methods()
    method = value or default_start_method()
    if method not in methods:
        raise ValueError(bad("start_method", method,
                             f"it is not available here; choose one of {methods}"))
    return method


def check_worker_args(worker_args: object, processes: int) -> None:
    """None, or a list (or tuple) with exactly one dict per worker process."""
    if worker_args is None:
        return
    if not isinstance(worker_args, (list, tuple)) or not all(
            isinstance(a, dict) for a in worker_args):
        raise TypeError(bad("worker_args", worker_args, "give a list with one dict per "
                            'worker, e.g. [{"gpu": 0}, {"gpu": 1}]'))
    if len(worker_args) != processes:
        raise ValueError(bad("worker_args", worker_args,
                             f"it has {len(worker_args)} dicts for {processes} processes; "
                             "give exactly one dict per worker"))


def check_cluster(cluster: object, given: dict[str, Any]) -> None:
    """None, or a Dask client; with one, no option of local processes in `given`."""
    if cluster is None:
        return
    if not (hasattr(cluster, "submit") and hasattr(cluster, "scheduler_info")):
        raise TypeError(bad("cluster", cluster, CLUSTER_FIX))
    local = [name for name in LOCAL_ONLY if given.get(name) is not None]
    if local:
        raise ValueError(f"{', '.join(local)} cannot be used with cluster=: leave "
                         f"{'them' if len(local) > 1 else 'it'} out; Dask starts and "
                         "manages its own workers")


def check_panel(panel: object) -> None:
    if panel is not None and not hasattr(panel, "connect_info"):
        raise TypeError(bad("panel", panel, "pass a poolbars.Panel (or None for a panel of "
                            "the pool's own)"))


def check_path(name: str, value: object) -> None:
    """None, or a file system path (str or os.PathLike)."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(bad(name, value, "give a file or directory path (a str or a "
                            "pathlib.Path), or None"))


def check_arguments(name: str, value: Any) -> None:
    """Positional arguments: anything `tuple()` takes."""
    try:
        iter(value)
    except TypeError:
        raise TypeError(bad(name, value, "give a tuple of arguments, e.g. (1, 'a')")) from None


def check_mappable(fn: object, iterable: object) -> None:
    """A map's own arguments: something to call, then something to iterate over."""
    if not callable(fn):
        raise TypeError(f"{fn!r} is not callable: pass the function to run on each item "
                        "first, then the iterable (pool.map(fn, items))")
    if not (isinstance(iterable, Iterable) or hasattr(type(iterable), "__getitem__")):
        raise TypeError(f"{type(iterable).__name__!r} object is not iterable: pass the "
                        "items to map over as a list, range, generator, …")


def check_commands(commands: Iterable[Any], retries: object, timeout: object) -> list[Any]:
    """`run_commands`' arguments: each command an argv list (or tuple) of str/paths, or a
    string for the shell; retries and timeout as the pool's. The commands, as a list."""
    commands = list(commands)
    for command in commands:
        if not isinstance(command, str) and not (
                isinstance(command, (list, tuple)) and command
                and all(isinstance(a, (str, os.PathLike)) for a in command)):
            raise TypeError(f"command {command!r}: give an argv list like "
                            "['python', 'job.py', '--part', '3'], or a string for the shell")
    check_whole("retries", retries, 0, "a whole number of extra attempts, 0 or more")
    check_seconds("timeout", timeout)
    return commands


def unknown_options(unknown: dict[str, Any], known: list[str], owner: str = "Pool") -> str:
    """The message for misspelt options: each with the nearest right name, then all."""
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (f"{owner} got unknown option{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
            f"the options are: {', '.join(known)}")


# -- the pool's options -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PoolOptions:
    """Every option of a `Pool`, checked. Built with the Pool's own arguments; `processes`
    None becomes one per CPU (or per worker_args dict, or per Dask thread) and
    `start_method` None the default, so a built record holds what the pool will use."""

    processes: int | None = None
    title: str | None = None
    display: Any = "auto"
    initializer: Callable[..., Any] | None = None
    initargs: tuple[Any, ...] = ()
    worker_args: tuple[Any, ...] | None = None
    on_error: str = "raise"
    retries: int = 0
    timeout: float | None = None
    setup_timeout: float | None = None
    chunksize: int | None = None
    max_in_flight: int | None = None
    max_tasks_per_child: int | None = None
    start_method: str | None = None
    stale_after: float | None = None
    on_success: Callable[..., Any] | None = None
    on_failure: Callable[..., Any] | None = None
    on_exit: Callable[..., Any] | None = None
    capture_tqdm: bool = True
    panel: Any = None
    cluster: Any = None
    journal: Any = None
    resume: bool | str = True

    @classmethod
    def names(cls) -> list[str]:
        """The option names, in the order of `Pool`'s signature."""
        return [field.name for field in dataclasses.fields(cls)]

    @classmethod
    def build(cls, processes: int | None = None, **options: Any) -> PoolOptions:
        """Like the constructor, with a TypeError naming the nearest right name for each
        misspelt option (the constructor's own TypeError would not)."""
        unknown = {name: value for name, value in options.items() if name not in cls.names()}
        if unknown:
            raise TypeError(unknown_options(unknown, cls.names()))
        return cls(processes, **options)

    def __post_init__(self) -> None:
        # checked in the order Pool has always checked them, so the first bad one is named
        check_cluster(self.cluster, vars(self))
        self._set("processes", self._processes())
        check_whole("processes", self.processes, 1, "a whole number of worker processes, 1 "
                    "or more (or None for one per CPU)")
        # processes is an int from here on (the field also holds the None it was given)
        check_worker_args(self.worker_args, self.processes)  # type: ignore[arg-type]
        check_choice("on_error", self.on_error, ON_ERROR)
        check_whole("retries", self.retries, 0, "a whole number of extra attempts, 0 or more")
        for name in ("timeout", "setup_timeout", "stale_after"):
            check_seconds(name, getattr(self, name))
        for name in ("chunksize", "max_in_flight", "max_tasks_per_child"):
            check_whole_or_none(name, getattr(self, name))
        for name in ("initializer", "on_success", "on_failure", "on_exit"):
            check_callable(name, getattr(self, name))
        self._set("start_method", check_start_method(self.start_method))
        resolve(self.display)  # check the value now rather than when the view opens
        check_arguments("initargs", self.initargs)
        check_panel(self.panel)
        check_choice("resume", self.resume, RESUME, RESUME_FIX)
        check_path("journal", self.journal)
        self._set("initargs", tuple(self.initargs))
        if self.worker_args is not None:
            self._set("worker_args", tuple(self.worker_args))
        self._set("capture_tqdm", bool(self.capture_tqdm))

    def _processes(self) -> int:
        """`processes` as given, or what None stands for."""
        if self.processes is not None:
            return self.processes
        if self.cluster is not None:
            from .engine.cluster import cluster_threads
            return cluster_threads(self.cluster)
        if isinstance(self.worker_args, (list, tuple)) and self.worker_args:
            return len(self.worker_args)
        return os.cpu_count() or 1

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)  # frozen for users; normalised once, here
