"""One map's results: the runs of items that settled, kept by input position, and what
a caller gets from them under `on_error` — map's list in input order, imap's next run in
order, a cut-short background map's full-length list and its `not_run` positions, and
`results_so_far`. Used by `Pool` and `MapHandle` alike. The marker that stands for
a skipped item lives here and never leaves: every way out drops it or shows None."""

from __future__ import annotations

from typing import Any, Iterator

from .errors import Failure
from .options import ON_ERROR, check_choice

_SKIP = object()  # stands in a run's values for an item left out (on_error="skip")


class Results:
    """The settled runs of one map, each kept at the input position of its first item.

    `on_error` decides what stands at a failed item's place (`stand_in`): "raise" raises
    the failure's exception, "return" keeps the `Failure`, "skip" leaves the item out."""

    def __init__(self, on_error: str):
        check_choice("on_error", on_error, ON_ERROR)  # an unknown policy would skip silently
        self.on_error = on_error
        self.runs: dict[int, list[Any]] = {}  # position -> values of the run starting there
        self._next = 0  # the position next_in_order() gives next

    def stand_in(self, failure: Failure) -> object:
        """What a failed item's place holds under the policy (or raise, under "raise")."""
        if self.on_error == "raise":
            raise failure.to_exception()
        return failure if self.on_error == "return" else _SKIP

    def add(self, position: int, values: list[Any]) -> None:
        """Keep a settled run whose first item is at input `position`."""
        self.runs[position] = values

    def in_order(self) -> list[Any]:
        """Every value in input order, skipped items left out: what `map` returns."""
        out: list[Any] = []
        for position in sorted(self.runs):
            out += self.runs[position]
        if self.on_error == "skip":  # only "skip" leaves markers: spare the others the pass
            out = [value for value in out if value is not _SKIP]
        return out

    def next_in_order(self) -> list[Any] | None:
        """The run at the next position if it has settled, taken out (imap keeps only what
        waits for an earlier run); else None. Its values still hold skipped items: pass
        them through `kept`, and count them all as taken."""
        values = self.runs.pop(self._next, None)
        if values is not None:
            self._next += len(values)
        return values

    def in_place(self, length: int) -> list[Any]:
        """`length` values, each at its input position; None where an item has no result
        (not run, or skipped): what a cut-short background map returns."""
        out: list[Any] = [None] * length
        for position, values in self.runs.items():
            out[position:position + len(values)] = [
                None if value is _SKIP else value for value in values]
        return out

    def not_run(self, length: int) -> list[int]:
        """The positions below `length` that no settled run covers."""
        have = {position + offset for position, values in self.runs.items()
                for offset in range(len(values))}
        return [position for position in range(length) if position not in have]

    def so_far(self) -> dict[int, Any]:
        """{position: result} of the items that finished well so far (safe to call while
        another thread adds runs)."""
        return {position + offset: value for position, values in list(self.runs.items())
                for offset, value in finished_well(values)}


def kept(values: list[Any]) -> list[Any]:
    """A run's values without its skipped items: what imap and imap_unordered yield."""
    return [value for value in values if value is not _SKIP]


def finished_well(values: list[Any]) -> Iterator[tuple[int, object]]:
    """(offset, value) of each item of a run that has a result: no `Failure`, not skipped."""
    return ((offset, value) for offset, value in enumerate(values)
            if value is not _SKIP and not isinstance(value, Failure))
