"""The snapshot's shape, defined once: what `PanelState.snapshot()` returns, what the
widget's synced traits hold, what the terminal and log views read, what js/state.js
types with JSDoc and what docs/snapshot.md describes (tests/test_snapshot_contract.py
holds them all to these types).

The names match the JSDoc typedefs of js/state.js one for one (`Snapshot`, `Overall`,
`Lane`, `Failure`, `FailureGroup`, `Timeline`, `TimelineLane`, `Block`). The vocabularies (panel status,
worker and lane states, failure kinds, timeline block statuses) are `Literal`s, here only.
`Number` is a count that may be a bar's (any number), `float` a time or rate.
"""

from __future__ import annotations

# Optional/Union, not `X | None`: these types are evaluated at run time (the aliases, and
# typing.get_type_hints in the contract test), and the package supports Python 3.9.
from typing import Any, Literal, Optional, TypedDict, Union, get_args

from ..protocol.kinds import Kind, WorkerKind

Number = Union[int, float]

PanelStatus = Literal["running", "done", "failed", "cancelled"]
"""The run's overall status (`Snapshot.status`, the `END` event's status)."""

WorkerState = Literal["starting", "idle", "busy", "exited", "crashed", "setup failed"]
"""A worker's lane state; "setup failed" is final (the worker was retired)."""

OwnLaneState = Literal["running", "done"]
"""The state of a lane that is a bar of its own (keyed `source:bar`): its bar's status."""

LaneState = Union[WorkerState, OwnLaneState]

# what ended an item badly, and what failed in a worker itself (its row has index None):
# the failure kinds are kinds.py's, named here for the snapshot
ItemFailureKind = Kind
WorkerFailureKind = WorkerKind

FailureKind = Union[ItemFailureKind, WorkerFailureKind]

BlockStatus = Literal["running", "done", "failed", "timeout", "crashed", "retried",
                      "cancelled"]
"""The outcome of a timeline block (a chunk of items run on a lane)."""


class Overall(TypedDict):
    """Counts and timing of the whole run (the `overall` trait)."""

    done: Number  # items; for a panel of bars only, the outermost bar's count
    failed: int
    timed_out: int
    crashed: int
    cancelled: int
    running: int
    retrying: int
    pending: Optional[int]  # None while the input's length is unknown
    total: Optional[Number]  # None while unknown; for a panel of bars, the bar's total
    elapsed: float  # seconds
    rate: Optional[float]  # items per second
    eta: Optional[float]  # seconds
    unit: str
    dropped: int  # malformed batches from other processes, dropped unread
    spark: list[float]  # items finished per second, 2-second buckets, oldest first


class _Lane(TypedDict):
    key: str  # a worker's number, or "source:bar"
    name: str
    state: LaneState
    task: Optional[str]  # the label of the current item
    index: Optional[int]  # the index of the current item
    desc: str
    n: Optional[Number]  # None: the bar's count is not a finite number
    total: Optional[Number]  # None: indeterminate
    unit: str
    message: str
    postfix: list[list[str]]  # [key, value] pairs
    elapsed: float  # seconds on the current task
    done: int  # items this lane finished


class Lane(_Lane, total=False):
    """One row of the panel: a worker, or a bar of its own (an item of `lanes`). The keys
    below are left out while they hold their LANE_DEFAULTS value (a reader takes a missing
    one as that value): at 64 busy lanes they would add an eighth to the snapshot."""

    meta: list[list[str]]  # the bar's custom payload: [key, JSON text of the value] pairs
    failed: int  # items that ended badly on this lane: errors, timeouts, crashes
    rate: Optional[float]  # items this lane settles per second, since its first task
    eta: Optional[float]  # seconds left on the current task, from its inner bar's total
    stalled: bool
    spark: list[float]


LANE_DEFAULTS: dict[str, Any] = {"meta": [], "failed": 0, "rate": None, "eta": None,
                                 "stalled": False, "spark": []}
"""What a lane's optional keys mean when left out (the keys Lane does not require)."""


class Failure(TypedDict):
    """One failure row (an item of `failures`); a worker's own has index None."""

    index: Optional[int]
    label: str
    kind: FailureKind
    error: str
    traceback: str  # its end
    worker: Optional[str]  # "worker N"
    attempts: int


class FailureGroup(TypedDict):
    """Failures of one kind and message shape (an item of `failure_groups`)."""

    kind: ItemFailureKind  # a worker's own failures (no item) are not grouped
    shape: str  # the error's first line, numbers and quoted text made "…"
    count: int
    items: list[int]  # the smallest of their item indices, sorted


Block = tuple[float, float, BlockStatus, str, str]
"""A timeline block on the wire: a list of these BLOCK_FIELDS."""

BLOCK_FIELDS = ("start", "end", "status", "label", "error")


class TimelineLane(TypedDict):
    key: str
    name: str
    blocks: list[Block]


class Timeline(TypedDict):
    """What ran where and when (the `timeline` trait); times in seconds after t0."""

    t0: Optional[float]  # epoch seconds of the first start; None before it
    t1: float
    lanes: list[TimelineLane]
    more_blocks: int


class _Snapshot(TypedDict):
    title: str
    status: PanelStatus
    overall: Overall
    lanes: list[Lane]
    more_lanes: int
    failures: list[Failure]
    more_failures: int
    failure_groups: list[FailureGroup]
    stoppable: bool
    stopping: bool


class Snapshot(_Snapshot, total=False):
    """A whole snapshot: the keys are the widget's synced traits. `timeline` is added by
    the collector when it pushes to a view (it costs more to build)."""

    timeline: Timeline


SNAPSHOT_KEYS = tuple(key for key in Snapshot.__annotations__
                      if key in Snapshot.__required_keys__)
"""The keys every snapshot has, in the order the views read them."""


def values(vocabulary: Any) -> tuple[str, ...]:
    """The strings of a Literal vocabulary (or a Union of them), in order."""
    args = get_args(vocabulary)
    if all(isinstance(arg, str) for arg in args):
        return args
    return tuple(value for arg in args for value in values(arg))
