"""What the engine is built from, and what it asks of a backend.

`EngineOptions` is the part of a pool's checked options the engine reads (made from
`options.PoolOptions`, never from a Pool). `Backend` is the interface between the engine's
loop and the place items run: local worker processes (`local.LocalBackend`) or a Dask
cluster (`cluster.DaskBackend`). A backend takes chunks from the job book, sends them,
notices results and deaths, settles them in the book, and stops its workers; it runs in
the engine's thread only, but for `wake`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from ..options import PoolOptions
    from .book import Job


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """The options the engine and its backends read."""

    processes: int
    chunksize: int | None = None
    timeout: float | None = None
    setup_timeout: float | None = None
    max_tasks_per_child: int | None = None
    initializer: Callable[..., Any] | None = None
    initargs: tuple[Any, ...] = ()
    worker_args: tuple[Any, ...] | None = None
    capture_tqdm: bool = True
    start_method: str = "spawn"
    cluster: Any = None  # a distributed.Client, or None for local processes

    @classmethod
    def of(cls, options: PoolOptions) -> EngineOptions:
        """The engine's part of a pool's checked options."""
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{name: getattr(options, name) for name in names})


class Backend(Protocol):
    """Where the items of the book's chunks run (see the module doc)."""

    @property
    def ready_at(self) -> float | None:
        """When every worker was first ready (None until then)."""

    @property
    def watching(self) -> bool:
        """Whether `step` has something to wait on; if not, the loop waits for requests."""

    def start(self) -> None:
        """Start the workers (before the engine's thread starts)."""

    def feed(self) -> None:
        """Send the book's next chunks to the workers that can take them."""

    def step(self) -> None:
        """Wait a while for results, deaths, timeouts or a wake-up, and handle them."""

    def wake(self) -> None:
        """Make a waiting `step` return soon (from any thread)."""

    def stop_job(self, job: Job, replace: bool) -> tuple[int, list[int]]:
        """Stop the running chunks of `job` (replacing their workers if `replace`):
        (items they held, the workers whose chunks the panel must close)."""

    def shutdown(self, terminate: bool) -> None:
        """Stop every worker: at once if `terminate`, else let idle ones exit."""

    def close(self) -> None:
        """Free what is left once the engine's thread has ended."""
