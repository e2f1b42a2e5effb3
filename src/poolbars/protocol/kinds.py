"""Failure kinds: the ways an item can fail, and what each becomes, written once.

A kind is what the engine settles a failed item as. Each maps to the item's status
(in the run record and on the panel's timeline), to the count it adds to (`Stats`, the
panel's `overall`) and to the exception raised for it in the parent (named here, the
class lives in errors.py). Dispatch, cluster, errors, state, report and text read it.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Kind = Literal["error", "timeout", "crashed"]  # how an item failed
WorkerKind = Literal["setup", "teardown"]  # how a worker itself failed (`pool.failures`)


class Outcome(NamedTuple):
    """What an item failed as one kind becomes."""

    status: str  # its status in the run record and on the timeline
    counter: str  # the count it adds to, in `Stats` and the panel's counts
    exception: str  # the name of the errors.py class raised for it


KINDS: dict[str, Outcome] = {  # keyed by every Kind
    "error": Outcome("failed", "failed", "TaskFailed"),
    "timeout": Outcome("timeout", "timed_out", "TaskTimeout"),
    "crashed": Outcome("crashed", "crashed", "WorkerCrashed"),
}
COUNTERS = tuple(outcome.counter for outcome in KINDS.values())  # every failure count


def outcome(kind: str) -> Outcome:
    """What `kind` becomes; a worker's own kinds (setup, teardown) count as an error."""
    return KINDS.get(kind, KINDS["error"])


def status(kind: str) -> str:
    """The status of an item settled as `kind`; any other word ("done") is its own."""
    found = KINDS.get(kind)
    return kind if found is None else found.status
