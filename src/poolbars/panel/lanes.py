"""The panel's rows: a `Lane` per pool worker or per bar reported from outside a pool, and
`Lanes`, the lookup that finds (or makes) the lane an event is about.

Written only by PanelState's fold (the collector thread), through these methods: which
lane a bar or message of a source's task lands on, a worker lane's state, and the
messages that overtook their task's START (held until it comes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

from . import snapshot as snap
from .limits import MAX_EARLY, clip

# workers send and the panel redraws every 0.1 s: a lane whose tasks are quicker than two
# of those would be blank at most redraws, so it keeps its latest news across tasks
QUICK_TASK_SECONDS = 0.2
SETUP_FAILED: snap.WorkerState = "setup failed"  # the state of a worker retired by a failed setup
# a worker lane in one of these has no task
TASKLESS: tuple[snap.WorkerState, ...] = ("idle", "exited", "crashed", "starting")
LIVE: tuple[snap.WorkerState, ...] = ("busy", "idle", "starting")  # a worker not gone
Chunk = list[Any]  # a worker's running chunk: [first, count, label, settled]
# what `Panel.clear(status=)` removes: the lane states each status names
GONE: tuple[snap.WorkerState, ...] = ("exited", "crashed", SETUP_FAILED)  # a worker no more
CLEARABLE: dict[str, tuple[snap.LaneState, ...]] = {
    "done": ("done",),  # bars that finished (closed)
    "exited": GONE,  # the lanes of pool workers that are gone
    "all": ("done", *GONE),
}


@dataclass
class BarState:
    desc: str = ""
    n: Optional[float] = 0  # None: no finite number a view can show
    total: Optional[float] = None
    unit: str = "it"
    postfix: tuple[tuple[str, str], ...] = ()
    closed: bool = False
    meta: tuple[tuple[str, str], ...] = ()  # (key, JSON text) pairs, clipped


@dataclass
class Lane:
    """One row of the panel: a pool worker, or a bar reported from outside a pool."""

    key: str
    name: str
    state: snap.LaneState
    is_worker: bool = True
    pid: Optional[int] = None
    task: Optional[int] = None
    label: Optional[str] = None
    started: Optional[float] = None
    message: str = ""
    done: int = 0
    failed: int = 0  # items that ended badly here: errors, timeouts, crashes
    first: Optional[float] = None  # when this lane's first task started (its rate's clock)
    updated: Optional[float] = None  # when this lane last had news of its task
    bars: dict[int, BarState] = field(default_factory=dict)
    # messages that overtook their task's START (they come by another path, once): by task
    early: dict[int, str] = field(default_factory=dict)

    def switch_task(self, index: Optional[int], label: Optional[str],
                    t: Optional[float]) -> None:
        quick = t is not None and self.started is not None and t - self.started < QUICK_TASK_SECONDS
        self.task, self.label, self.started, self.updated = index, label, t, t
        if not quick:
            self.message, self.bars = "", {}
        elif self.bars:  # the message and the bar shown stay (as ended) until the task's own
            key, bar = self._primary()  # type: ignore[misc]  # bars is not empty: never None
            bar.closed = True
            self.bars = {key: bar}
        if self.early and index is not None:  # (None: the lane goes idle)
            if index in self.early:
                self.message = self.early[index]
            self.early = {task: text for task, text in self.early.items() if task > index}

    def hold_early(self, task: int, text: str) -> None:
        """Keep the message of a task this lane has not started yet, for its START."""
        if len(self.early) >= MAX_EARLY:
            del self.early[min(self.early)]
        self.early[task] = text

    def primary_bar(self) -> Optional[BarState]:
        """The bar to draw: the outermost open one, else the last one closed."""
        shown = self._primary()
        return None if shown is None else shown[1]

    def _primary(self) -> Optional[tuple[int, BarState]]:
        for key, bar in self.bars.items():
            if not bar.closed:
                return key, bar
        return next(reversed(self.bars.items()), None)


class Lanes(dict[str, Lane]):
    """The lanes of a panel by key (a worker's number, or "source:bar"), in the order
    they appeared."""

    def set_worker(self, worker: int, state: snap.WorkerState,
                   pid: Optional[int] = None) -> Lane:
        """Worker `worker`'s lane (made if new), now in `state` unless its setup failed."""
        key = str(worker)
        lane = self.get(key)
        if lane is None:
            lane = self[key] = Lane(key, f"worker {worker}", state)
        if lane.state == SETUP_FAILED:
            return lane  # final: that worker was retired, and its lane says why
        lane.state = state
        if pid is not None:
            lane.pid = pid
        if state in TASKLESS:
            lane.switch_task(None, None, None)
        return lane

    def workers_exited(self) -> None:
        """The run is over: each worker lane still live shows its worker exited."""
        for lane in self.values():
            if lane.is_worker and lane.state in LIVE:
                lane.state = "exited"
                lane.switch_task(None, None, None)

    def for_task(self, source: Any, bar_id: Optional[int], task: Optional[int],
                 t: Optional[float], chunks: dict[str, Chunk], create: bool = True
                 ) -> Optional[Lane]:
        """The lane that shows `task` of `source` (`chunks`: what each worker runs), or
        None for a late event."""
        worker_lane = self.get(str(source)) if isinstance(source, int) else None
        if worker_lane is not None:
            if task is None or task == worker_lane.task:
                return worker_lane
            chunk = chunks.get(worker_lane.key)
            current = worker_lane.task
            if (chunk is not None and task is not None and chunk[0] <= task < chunk[0] + chunk[1]
                    and (current is None or task > current)):
                # a later item of the chunk began (items of a chunk run in order)
                worker_lane.switch_task(task, f"#{task}", t)
                return worker_lane
            return None  # an item that already finished: its lane moved on
        key = f"{source}:{bar_id}"
        lane = self.get(key)
        if lane is None and create:
            lane = self[key] = Lane(key, str(source), "running", is_worker=False, started=t)
        return lane

    def show_message(self, source: Any, task: Optional[int], text: str,
                     chunks: dict[str, Chunk]) -> None:
        """Show `text` on the lane of `task` of `source`, or hold it there for the task's
        START, which is still on the way."""
        lane = self.for_task(source, None, task, None, chunks, create=False)
        if lane is None and not isinstance(source, int):
            lane = self.latest_of(source) or self.for_task(source, None, task, None, chunks)
        if lane is not None:
            lane.message = clip(text)
            lane.updated = time.time()
            return
        worker_lane = self.get(str(source)) if isinstance(source, int) else None
        if worker_lane is not None and task is not None and (
                worker_lane.task is None or task > worker_lane.task):
            worker_lane.hold_early(task, clip(text))

    def clear_finished(self, status: str) -> list[str]:
        """Remove the finished lanes `status` names (see CLEARABLE); their keys."""
        states = CLEARABLE[status]
        gone = [key for key, lane in self.items() if lane.state in states]
        for key in gone:
            del self[key]
        return gone

    def keep_finished(self, count: int) -> None:
        """Remove all but the `count` bars that finished last."""
        finished = [lane for lane in self.values() if not lane.is_worker and lane.state == "done"]
        if len(finished) > count:
            finished.sort(key=lambda lane: lane.updated or 0.0)
            for lane in finished[:len(finished) - count]:
                del self[lane.key]

    def latest_of(self, source: Any) -> Optional[Lane]:
        """The lane of `source`'s bar made last (a message of a bar-only source goes there)."""
        prefix = f"{source}:"
        for key in reversed(self):
            if key.startswith(prefix):
                return self[key]
        return None
