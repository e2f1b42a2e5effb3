"""Failures grouped by kind and message shape -- "ValueError: shard … is corrupt ×7" --
each with its items' indices, smallest first: what the views show when many items fail.

Bounded however many items fail: at most MAX_GROUPS shapes (later shapes join one "other
messages" group of their kind) and MAX_GROUP_ITEMS indices per group; the counts are exact.
Written only by PanelState's fold (the collector thread).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Optional

from . import snapshot as snap
from .limits import MAX_GROUP_ITEMS, MAX_GROUPS, clip

OTHER = "(other messages)"  # the shape of the group past MAX_GROUPS shapes
# what varies between failures of one cause: quoted text, hex and decimal numbers
_VARYING = re.compile(r"""'[^'\n]*'|"[^"\n]*"|0x[0-9a-fA-F]+|\d+(?:\.\d+)?""")


def shape(error: str) -> str:
    """The error's first line with what varies (numbers, quoted text) made "…"."""
    first = error.split("\n", 1)[0]
    return clip(_VARYING.sub(_elide, first))


def _elide(match: re.Match[str]) -> str:
    text = match.group(0)
    return f"{text[0]}…{text[0]}" if text[0] in "'\"" else "…"


@dataclass
class Group:
    kind: snap.ItemFailureKind
    shape: str
    count: int = 0
    items: list[int] = field(default_factory=list)  # the smallest indices, sorted

    def add(self, index: Optional[int]) -> None:
        self.count += 1
        items = self.items
        if index is not None and (len(items) < MAX_GROUP_ITEMS or index < items[-1]):
            bisect.insort(items, index)
            if len(items) > MAX_GROUP_ITEMS:
                items.pop()


class FailureGroups(dict[tuple[str, str], Group]):
    """The groups by (kind, shape), in the order they appeared."""

    def add(self, kind: snap.ItemFailureKind, index: Optional[int], error: str) -> None:
        key = (kind, shape(error))
        group = self.get(key)
        if group is None:
            if len(self) >= MAX_GROUPS:  # bounded: past it, one more group per kind
                key = (kind, OTHER)
                group = self.get(key)
            if group is None:
                group = self[key] = Group(kind, key[1])
        group.add(index)

    def view(self) -> list[snap.FailureGroup]:
        """The groups, by their smallest item index (the snapshot's `failure_groups`)."""
        groups = sorted(self.values(), key=lambda g: g.items[0] if g.items else -1)
        return [{"kind": g.kind, "shape": g.shape, "count": g.count, "items": list(g.items)}
                for g in groups]
