"""The event protocol between the processes that report and the collector that folds.

Each event is a named type below (a NamedTuple: one docstring says what it means and who
sends it). Events are small and carry absolute values (a bar's current count, never
"+1"), so coalescing or losing an intermediate event never corrupts the picture.

Two forms, one meaning:
- in this process an event is its named type (`Done(worker, items, t)`), put on the
  collector's queue in a plain `list` (the parent's lifecycle batches);
- on the wire (a batch from a worker or any other process) an event is a plain tuple
  `(KIND, field, …)` (`wire(event)`): the batch crosses the manager queue as one `bytes`
  object pickled with the standard library's pickle; plain tuples, so the events add no
  class to what a peer's pickle names and the parent loads (a named type would be loaded
  by importing it from this module). The collector checks such a batch
  (collector.well_formed) before it folds it.

`PanelState.fold` takes both forms. Fields are named so that they do not hide a tuple's
own methods (`count`, `index`). `source` names a reporting sender: a worker number for
pool workers, "main" for bars in the parent process, a name for a `pb.connect()` process.
`task` is the index of the item being run, or None outside a task.
"""

from __future__ import annotations

# Optional/Union, not `X | None`: these aliases are evaluated at run time on Python 3.9.
from typing import Any, Final, NamedTuple, Optional, Sequence, Union

from ..panel.snapshot import PanelStatus, WorkerState
from .kinds import Kind, WorkerKind

WORKER: Final = "worker"
WORKER_FAIL: Final = "worker-fail"
SEEN: Final = "seen"
START: Final = "start"
DONE: Final = "done"
FAIL: Final = "fail"
RETRY: Final = "retry"
CANCEL: Final = "cancel"
END: Final = "end"
CONTROL: Final = "control"
CLEAR: Final = "clear"
BAR: Final = "bar"
MESSAGE: Final = "message"

# Sent by the collector's owner to ask the drain thread to finish.
STOP: Final = "stop"

Source = Union[int, str]  # a worker number, "main", or a connected process's name


# -- the parent's lifecycle events (from the pool and its engine) --------------------

class WorkerChange(NamedTuple):
    """Worker `worker` (process `pid`, when known) is now in `state`."""

    worker: int
    state: WorkerState
    pid: Optional[int] = None


class WorkerFail(NamedTuple):
    """The worker itself failed, not an item: kind "setup" (its initializer or
    Worker.setup; it is retired) or "teardown"."""

    worker: int
    pid: Optional[int]
    kind: WorkerKind
    error: str
    traceback: str
    t: float


class Seen(NamedTuple):
    """`items` more items were read from the input; `total_change`, how much a pool's
    total grew (or shrank) once it is known (the input is used up, or has a length): the
    panel adds up every pool's changes."""

    items: int
    total_change: Optional[int] = None


class Start(NamedTuple):
    """Items first..first+size-1 (a chunk) started on `worker` at `t`; `label` names the
    first one; `retried` is 1 if the chunk is an item tried again (also sent by a
    cluster's workers, with no `retried`)."""

    worker: int
    first: int
    size: int
    label: str
    t: float
    retried: int = 0


class Done(NamedTuple):
    """The worker's chunk is over: `items` of them succeeded (failures were sent before);
    items neither done nor failed go back to pending. `worker` None: items settled
    without a worker (a cluster's, or skipped)."""

    worker: Optional[int]
    items: int
    t: float


class Fail(NamedTuple):
    """Item `item` (its index) failed for good, as `kind` (error/timeout/crashed), after `attempts`."""

    worker: Optional[int]
    item: int
    label: str
    kind: Kind
    error: str
    traceback: str
    attempts: int
    t: float


class Retry(NamedTuple):
    """Item `item` (its index) failed as `kind` and will be tried again."""

    worker: Optional[int]
    item: int
    label: str
    kind: Kind
    error: str
    attempts: int
    t: float


class Cancel(NamedTuple):
    """`items` items that never started, and the chunks running on `workers`, will never
    finish."""

    items: int
    workers: Sequence[int] = ()


class End(NamedTuple):
    """The run ended with `status` (done/failed/cancelled) at `t` (now, if None)."""

    status: PanelStatus
    t: Optional[float] = None


class Control(NamedTuple):
    """The panel's Stop button may be used (`stoppable`) / was pressed (`stopping`)."""

    stoppable: bool
    stopping: bool


class Clear(NamedTuple):
    """Remove the finished lanes `status` names (lanes.CLEARABLE) from the panel;
    `folded` is set once they are gone (sent only by a `Panel` in this process)."""

    status: str
    folded: Optional[Any] = None  # a threading.Event


# -- reporters' events (any process; coalesced by reporting.Reporter) --------------------

class BarUpdate(NamedTuple):
    """Bar `bar_id` of `source` has this whole state (absolute: `n` is its count).
    `postfix` is a tuple of (key, value) string pairs; `meta` the bar's custom payload, a
    tuple of (key, JSON text of the value) pairs (last, with a default: an older sender's
    tuple has no meta and still folds)."""

    source: Source
    bar_id: int
    task: Optional[int]
    desc: str
    n: float
    total: Optional[float]
    unit: str
    postfix: tuple[tuple[str, str], ...]
    closed: bool
    t: float
    meta: tuple[tuple[str, str], ...] = ()


class Message(NamedTuple):
    """The status text of a task of `source` (or of the source, when `task` is None)."""

    source: Source
    task: Optional[int]
    text: str


Event = Union[WorkerChange, WorkerFail, Seen, Start, Done, Fail, Retry, Cancel, End, Control,
              Clear, BarUpdate, Message]

KIND: Final[dict[type, str]] = {  # each named type -> its kind on the wire
    WorkerChange: WORKER, WorkerFail: WORKER_FAIL, Seen: SEEN, Start: START, Done: DONE,
    Fail: FAIL, Retry: RETRY, Cancel: CANCEL, End: END, Control: CONTROL, Clear: CLEAR,
    BarUpdate: BAR, Message: MESSAGE,
}
TYPE: Final[dict[str, type]] = {kind: cls for cls, kind in KIND.items()}  # kind -> type


def wire(event: Event) -> tuple[Any, ...]:
    """`event` as a plain tuple `(KIND, field, …)`, the form a batch is pickled in."""
    return (KIND[type(event)], *event)
