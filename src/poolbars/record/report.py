"""The run record: what ran where and when, as plain dataclasses (`Pool.report()`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..protocol.kinds import status as status_of


@dataclass
class TaskRecord:
    """One item of one map: where and when it ran and how it ended (a `RunReport`'s tasks).

    A record poolbars fills, one per settled item; items restored from a journal have
    none (they ran in an earlier run).

    Attributes:
        map: Which map call of the pool it belongs to (1, 2, …).
        index: Its position in that map's input.
        label: A short repr of the item (`"#index"` for items that ran in a chunk).
        worker: The worker that ran it (a number, or a Dask worker's name).
        start: When it started, in seconds since the epoch (for a chunk: when the chunk
            started).
        end: When it ended, in seconds since the epoch.
        status: How it ended: `"done"`, `"failed"`, `"timeout"` or `"crashed"`.
        attempts: How many times it ran.
        inner_n: The final count of the task's inner bar, if it had one.
        inner_total: The total of the task's inner bar, if it had one.
        error: `"ExcType: message"` of its failure ("" if it succeeded).
        meta: The `meta` of the task's bar, if it had one (bounded).
    """

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
        """The record as a plain dict, JSON-ready.

        Returns:
            `{field: value}` for each attribute above.
        """
        return asdict(self)


@dataclass
class WorkerRecord:
    """A failure of a worker itself, not of an item (a `RunReport`'s workers).

    Its initializer or `Worker.setup` failed (kind `"setup"`: the worker was retired)
    or its `Worker.teardown` did (kind `"teardown"`). A record poolbars fills.

    Attributes:
        worker: The worker's number.
        kind: `"setup"` or `"teardown"`.
        exc_type: The exception's type name.
        message: The exception's message.
        traceback: The worker's traceback, as text.
    """

    worker: int | None
    kind: str
    exc_type: str
    message: str
    traceback: str

    def to_dict(self) -> dict:
        """The record as a plain dict, JSON-ready.

        Returns:
            `{field: value}` for each attribute above.
        """
        return asdict(self)


@dataclass
class RunReport:
    """A pool's run: title, status, timing, counts, and a record per settled item.

    What `Pool.report()` returns, during or after the run. A record poolbars fills:
    read it, save it with `to_json()`, or study it with pandas
    (`pandas.DataFrame(report.to_records())`, one row per task).

    Attributes:
        title: The pool's title.
        status: `"running"`, `"done"`, `"failed"` or `"cancelled"`.
        started: When the pool started, in seconds since the epoch.
        ended: When it closed, or None while it runs.
        stats: The pool's `Stats` as a dict.
        tasks: One `TaskRecord` per settled item, by map and index.
        truncated: Settled items not kept, past the record's bound.
        workers: One `WorkerRecord` per failure of a worker's own setup or teardown.

    Example:
        ```python
        import poolbars as pb

        with pb.Pool(2) as pool:
            pool.map(abs, [-1, -2, -3])
        report = pool.report()
        print(report.status, len(report.tasks), report.tasks[0].status)  # done 3 done
        ```
    """

    title: str
    status: str
    started: float | None
    ended: float | None
    stats: dict
    tasks: list[TaskRecord] = field(default_factory=list)
    truncated: int = 0  # settled runs not kept (past the record's bound)
    workers: list[WorkerRecord] = field(default_factory=list)  # worker-level failures

    def to_dict(self) -> dict:
        """The whole report as plain dicts and lists, JSON-ready.

        Returns:
            `{"title", "status", "started", "ended", "stats", "truncated", "tasks",
                "workers"}`, each task and worker record as a dict.
        """
        return {"title": self.title, "status": self.status, "started": self.started,
                "ended": self.ended, "stats": self.stats, "truncated": self.truncated,
                "tasks": [task.to_dict() for task in self.tasks],
                "workers": [record.to_dict() for record in self.workers]}

    def to_records(self) -> list[dict]:
        """One flat dict per task, for `pandas.DataFrame(report.to_records())`.

        Returns:
            A list of the tasks' dicts (see `TaskRecord`).
        """
        return [task.to_dict() for task in self.tasks]

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON text (`to_dict()` through `json.dumps`).

        Args:
            **kwargs: Options of `json.dumps` (`indent=2`, …).

        Returns:
            The JSON text.

        Raises:
            TypeError: An option `json.dumps` does not take.
        """
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
