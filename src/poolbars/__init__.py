"""poolbars: a parallel map with a live panel of what every worker is doing."""

from .engine.book import Stats
from .engine.worker import Worker, worker_id, worker_state
from .errors import Failure, TaskFailed, TaskTimeout, WorkerCrashed
from .panel.remote import Panel, Remote, connect
from .pool import Pool, map
from .progress.reporting import Bar, bar, message, track
from .progress.retrofit import install
from .progress.tqdm_compat import tqdm, trange

__all__ = ["Bar", "Failure", "Panel", "Pool", "ProgressPanel", "Remote", "Stats",
           "TaskFailed", "TaskTimeout", "Worker", "WorkerCrashed", "bar", "connect", "install",
           "map", "message", "tqdm", "track", "trange", "worker_id", "worker_state"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # the widget pulls in ipywidgets; workers import this package and never need it
    if name == "ProgressPanel":
        from .widget import ProgressPanel
        return ProgressPanel
    raise AttributeError(f"module 'poolbars' has no attribute {name!r}")
