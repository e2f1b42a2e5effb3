"""What ran where and when, kept bounded: the timeline blocks and throughput sparklines
that PanelState keeps for the panel's insight views (see docs/snapshot.md)."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import snapshot as snap

MAX_BLOCKS = 300  # per lane; beyond, the oldest neighbours are merged
MAX_TOTAL_BLOCKS = 2400  # over all lanes, so the trait stays small with many workers
SPARK_BUCKET = 2.0  # seconds per sparkline point
SPARK_POINTS = 30  # points in a sparkline: the last minute
_WORST = {"crashed": 5, "timeout": 4, "failed": 3, "cancelled": 2, "retried": 1, "done": 0,
          "running": -1}


class Timeline:
    """Blocks per lane: [start, end, status, label, error, count] (end None: running)."""

    def __init__(self):
        self.lanes: dict[str, list] = collections.defaultdict(list)
        self.merged = 0

    def start(self, lane: str, label: str, count: int, t: float) -> None:
        blocks = self.lanes[lane]
        blocks.append([t, None, "running", label if count == 1 else f"{count} items", "", count])
        limit = max(20, min(MAX_BLOCKS, MAX_TOTAL_BLOCKS // max(len(self.lanes), 1)))
        while len(blocks) > limit:
            self._halve_oldest(blocks)

    def _halve_oldest(self, blocks: list) -> None:
        """Merge the older half of the blocks pairwise: rarely, and all at once, so the
        front end's blocks keep their places between merges."""
        half = len(blocks) // 2 - (len(blocks) // 2) % 2
        blocks[0:half] = [_merged(blocks[i], blocks[i + 1]) for i in range(0, half, 2)]
        self.merged += half // 2

    def mark(self, lane: str, status: str, error: str = "") -> None:
        """The lane's open block had an outcome worse than done."""
        blocks = self.lanes.get(lane)
        if blocks and blocks[-1][1] is None:
            block = blocks[-1]
            if _WORST.get(status, 0) > _WORST.get(block[2], 0) or block[2] == "running":
                block[2] = status
            block[4] = block[4] or error

    def end(self, lane: str, t: float, status: str = "done") -> None:
        blocks = self.lanes.get(lane)
        if blocks and blocks[-1][1] is None:
            blocks[-1][1] = t
            if blocks[-1][2] == "running":
                blocks[-1][2] = status

    def view(self, t0: float | None, now: float, names: dict) -> snap.Timeline:
        if t0 is None:
            return {"t0": None, "t1": 0.0, "lanes": [], "more_blocks": 0}
        lanes: list = []  # snap.TimelineLane dicts, with each Block as a list (JSON)
        order = sorted(self.lanes, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
        for key in order:
            blocks = self.lanes[key]
            lanes.append({"key": key, "name": names.get(key, key), "blocks": [
                [round(b[0] - t0, 3), round((b[1] if b[1] is not None else now) - t0, 3),
                 b[2], b[3], b[4][:300]] for b in blocks]})
        return {"t0": t0, "t1": round(now - t0, 3), "lanes": lanes, "more_blocks": self.merged}


def _merged(a: list, b: list) -> list:
    count = a[5] + b[5]
    status = a[2] if _WORST.get(a[2], 0) >= _WORST.get(b[2], 0) else b[2]
    return [a[0], b[1], status, f"{count} items", a[4] or b[4], count]


class Throughput:
    """Items finished per SPARK_BUCKET seconds, for the last minute."""

    def __init__(self):
        self.buckets: collections.OrderedDict[int, int] = collections.OrderedDict()

    def add(self, count: int, t: float) -> None:
        bucket = int(t // SPARK_BUCKET)
        self.buckets[bucket] = self.buckets.get(bucket, 0) + count
        while len(self.buckets) > SPARK_POINTS + 2:
            self.buckets.popitem(last=False)

    def spark(self, now: float, since: float | None) -> list:
        if not self.buckets or since is None:
            return []
        last = int(now // SPARK_BUCKET)
        first = max(last - SPARK_POINTS + 1, int(since // SPARK_BUCKET))
        return [round(self.buckets.get(b, 0) / SPARK_BUCKET, 2) for b in range(first, last + 1)]
