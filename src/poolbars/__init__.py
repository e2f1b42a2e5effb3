"""poolbars: a parallel map with a live panel of what every worker is doing."""

from .book import Stats
from .errors import Failure, TaskFailed, TaskTimeout, WorkerCrashed
from .pool import Pool, map
from .remote import Panel, Remote, connect
from .reporting import Bar, bar, message, track
from .tqdm_compat import tqdm, trange
from .worker import Worker, worker_id, worker_state

__all__ = ["Bar", "Failure", "Panel", "Pool", "ProgressPanel", "Remote", "Stats",
           "TaskFailed", "TaskTimeout", "Worker", "WorkerCrashed", "bar", "connect", "map",
           "message", "tqdm", "track", "trange", "worker_id", "worker_state"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # the widget pulls in ipywidgets; workers import this package and never need it
    if name == "ProgressPanel":
        from .widget import ProgressPanel
        return ProgressPanel
    raise AttributeError(f"module 'poolbars' has no attribute {name!r}")
