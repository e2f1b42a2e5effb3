"""The run record: what ran where and when, as plain dataclasses (`Pool.report()`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..protocol.kinds import status as status_of


@dataclass
class TaskRecord:
    """One item of one map: where and when it ran and how it ended."""

    map: int  # which map call of the pool (1, 2, …)
    index: int  # its position in that map's input
    label: str  # a short repr of the item ("#index" for items that ran in a chunk)
    worker: int | str | None
    start: float  # seconds since the epoch (for a chunk: when the chunk started)
    end: float
    status: str  # done, failed, timeout, crashed
    attempts: int
    inner_n: float | None = None  # the final count of the task's bar, if it had one
    inner_total: float | None = None
    error: str = ""
    meta: dict | None = None  # the `meta` of the task's bar, if it had one (bounded)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class WorkerRecord:
    """A failure of a worker itself, not of an item: its initializer or `Worker.setup`
    (kind "setup": the worker was retired) or its `Worker.teardown` (kind "teardown")."""

    worker: int | None
    kind: str
    exc_type: str
    message: str
    traceback: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunReport:
    """A pool's run: title, status, timing, counts, and a record per settled item."""

    title: str
    status: str
    started: float | None
    ended: float | None
    stats: dict
    tasks: list[TaskRecord] = field(default_factory=list)
    truncated: int = 0  # settled runs not kept (past the record's bound)
    workers: list[WorkerRecord] = field(default_factory=list)  # worker-level failures

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"title": self.title, "status": self.status, "started": self.started,
                "ended": self.ended, "stats": self.stats, "truncated": self.truncated,
                "tasks": [task.to_dict() for task in self.tasks],
                "workers": [record.to_dict() for record in self.workers]}

    def to_records(self) -> list[dict]:
        """One flat dict per task: `pandas.DataFrame(report.to_records())`."""
        return [task.to_dict() for task in self.tasks]

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)


def meta_dict(pairs) -> dict | None:
    """A bar's meta from its (key, JSON text) pairs: each value as it was given, or its
    text where the panel clipped it (None: the bar had no meta)."""
    if not pairs:
        return None
    meta = {}
    for key, text in pairs:
        try:
            meta[key] = json.loads(text)
        except ValueError:  # clipped: no longer JSON
            meta[key] = text
    return meta


def build(title: str, status: str, started, ended, stats: dict, runs: list, inner: dict,
          dropped: int, positions: dict, worker_failures=()) -> RunReport:
    """`positions`: {map number: input position of each item sent}, for maps that skipped
    items (a resumed journal); others ran their input in order. `worker_failures`: the
    `Failure`s of workers themselves (setup, teardown)."""
    tasks = []
    for job, position, first, count, worker, start, end, attempt, label, failed in runs:
        where = positions.get(job)
        for offset in range(count):
            kind, error, attempts = failed.get(offset, ("done", "", attempt))
            n, total, meta = inner.get(first + offset, (None, None, ()))
            index = position + offset if where is None else where[position + offset]
            tasks.append(TaskRecord(
                job, index, label if label is not None else f"#{index}", worker, start, end,
                status_of(kind), attempts, n, total, error, meta_dict(meta)))
    tasks.sort(key=lambda t: (t.map, t.index))
    workers = [WorkerRecord(f.worker, f.kind, f.exc_type, f.message, f.traceback)
               for f in worker_failures]
    return RunReport(title, status, started, ended, stats, tasks, dropped, workers)
