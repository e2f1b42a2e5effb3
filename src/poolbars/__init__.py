"""poolbars: a parallel map with a live panel of what every worker is doing."""

from typing import TYPE_CHECKING

from .engine import forkserver as _forkserver
from .engine.book import Stats
from .engine.worker import Worker, worker_id, worker_state
from .errors import Failure, TaskFailed, TaskTimeout, WorkerCrashed
from .panel.remote import Panel, Remote, connect
from .pool import Pool, map
from .progress.reporting import Bar, bar, message, track
from .progress.retrofit import install
from .progress.tqdm_compat import tqdm, trange

# imported on first use (see __getattr__); named here for type checkers and the API docs
if TYPE_CHECKING:
    from .widget import ProgressPanel

__all__ = ["Bar", "Failure", "Panel", "Pool", "ProgressPanel", "Remote", "Stats",
           "TaskFailed", "TaskTimeout", "Worker", "WorkerCrashed", "bar", "connect", "install",
           "map", "message", "shutdown", "tqdm", "track", "trange", "worker_id", "worker_state"]
__version__ = "0.1.0"


def shutdown() -> None:
    """Stop the fork server poolbars keeps warm between pools.

    The first pool starts a fork server with poolbars loaded and keeps it when it closes,
    so later pools start in milliseconds. `shutdown()` stops it now; the next pool starts
    it again. It is also stopped at interpreter exit, so calling this is never required:
    use it to leave no poolbars process behind (in a long-lived kernel, before a
    measurement). It never blocks: if a pool is still open, its workers keep running and
    the server exits once they have.

    Example:
        ```python
        import poolbars as pb

        with pb.Pool(2) as pool:
            pool.map(abs, range(-5, 5))
        pb.shutdown()  # no poolbars process is left running
        ```
    """
    _forkserver.shutdown()


def __getattr__(name: str):
    # the widget pulls in ipywidgets; workers import this package and never need it
    if name == "ProgressPanel":
        from .widget import ProgressPanel
        return ProgressPanel
    raise AttributeError(f"module 'poolbars' has no attribute {name!r}")
