"""The loop inside each worker process: run chunks from the pipe, report through the
channel, answer with results (see `wire.py` for the messages). Also what task code can
ask of its worker: `worker_id()`, `worker_state()`, and the `Worker` class form."""

from __future__ import annotations

import os
import pickle
import signal
import time
import traceback
from types import FrameType
from typing import Any, Callable, NoReturn, cast

import dill
import multiprocess
from multiprocess.util import Finalize

from ..errors import RemoteFailure
from ..progress import reporting
from ..protocol.channel import Outbox, connect
from ..protocol.wire import (CALL_ITEM, CALL_STAR, Each, Function, InitFailed, Loaded, Ready,
                             Resend, Results, SetupFailed, SlotBoard, Stop, Tasks,
                             TeardownFailed, dumps, loads)

_worker_id: int | None = None
_worker_state: dict[Any, Any] = {}
_board: SlotBoard | None = None  # the pool's shared slot board (see wire.py), in a worker
_pid: int | None = None  # this worker's pid (a process forked by a task has another)
IN_WORKER = "POOLBARS_IN_WORKER"  # set in a worker's environment: what it starts inherits it
# the last chunk's (values, failures, events, first): Resend
_last: tuple[list[Any], list[tuple[int, RemoteFailure]], list[tuple[Any, ...]], int] = (
    [], [], [], 0)


def note_command_group(pgid: int) -> None:
    """Tell the parent which process group a command of this task runs in (0: none), so
    it is killed with this worker on a timeout or an interrupt."""
    if _board is not None and _worker_id is not None:
        _board.set_group(_worker_id, pgid)


def worker_id() -> int | None:
    """The number (0, 1, …) of the pool worker running this task; None outside a pool.

    Use it inside a task to pick a per-worker resource (a GPU, a port, a scratch
    directory). Numbers are the workers' slots: a worker that replaces another (after
    a crash, a timeout or `max_tasks_per_child`) has the same number.

    Returns:
        The worker's number, or None in a process that is not a pool worker.

    Example:
        ```python
        import poolbars as pb

        def where(_):
            return pb.worker_id()

        with pb.Pool(2) as pool:
            print(set(pool.map(where, range(8))) <= {0, 1})  # True
        print(pb.worker_id())  # None: the main process is no pool worker
        ```
    """
    return _worker_id


def worker_state() -> dict[Any, Any]:
    """A dict that lives as long as this worker process, across its tasks.

    The place for what is costly to make and can be reused by the next task on the
    same worker: a model, a connection, a cache. Each worker has its own; in the main
    process it is a dict of its own too. For setup with arguments per worker, see
    `Worker` or `Pool(initializer=..., worker_args=...)`.

    Returns:
        This process's dict (the same object on every call).

    Example:
        ```python
        import poolbars as pb

        def tasks_here(_):
            state = pb.worker_state()
            state["tasks"] = state.get("tasks", 0) + 1  # kept for the next task
            return state["tasks"]

        with pb.Pool(1) as pool:
            print(pool.map(tasks_here, range(3)))  # [1, 2, 3]
        ```
    """
    return _worker_state


class Worker:
    """The class form of a task, for costly setup once per worker (a model per GPU).

    Subclass it, write `process(item)` (and `setup`, `teardown` if you need them) and
    pass the class where a function goes: `pool.map(MyWorker, items)`. Each worker
    process makes one instance, calls `setup(**worker_args[i])` once (under the pool's
    `setup_timeout`), then `process(item)` per item, and `teardown()` when the pool
    closes. A worker whose setup raises is retired (its failure has kind `"setup"`) and
    the map goes on with the others; only if every worker's setup fails does the map
    raise that exception. A teardown that raises gives a `RuntimeWarning` and a failure
    of kind `"teardown"`.

    Example:
        ```python
        import poolbars as pb

        class Scale(pb.Worker):
            def setup(self, factor):
                self.factor = factor  # once per worker: load a model here

            def process(self, item):
                return item * self.factor

        with pb.Pool(2, worker_args=[{"factor": 10}, {"factor": 10}]) as pool:
            print(pool.map(Scale, [1, 2, 3]))  # [10, 20, 30]
        ```
    """

    def setup(self, **worker_args: Any) -> None:
        """Prepare this worker: called once, before its first item.

        Does nothing unless you override it.

        Args:
            **worker_args: This worker's dict of `Pool(worker_args=[...])`, as keyword
                arguments (none without `worker_args`).
        """

    def process(self, item: Any) -> Any:
        """Handle one item and return its result: called once per item. Override it.

        Args:
            item: One item of the map's input.

        Returns:
            The item's result (it must pickle to travel back).

        Raises:
            TypeError: The subclass did not define `process`.
        """
        raise TypeError(f"{type(self).__name__} must define process(self, item)")

    def teardown(self) -> None:
        """Release what `setup` took: called when the pool closes or retires the worker."""


def queue_sink(address: Any, authkey: bytes) -> Callable[[list[Any]], None]:
    """Send reporter batches to the channel at `address` as pickled bytes. It connects
    on the first batch (the Reporter sends one at a time): a worker whose tasks report
    nothing never opens a connection, and READY does not wait for the handshake."""
    outbox: Outbox | None = None

    def send(batch: list[Any]) -> None:
        nonlocal outbox
        if outbox is None:
            outbox = connect(address, authkey)
        outbox.put(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    return send


class Stdio:
    """The parent's fds 1 and 2 as they are when a worker starts, sent along to it: the
    warm fork server forks workers with the ones it was started with, and a worker must
    write where its parent writes now (a redirected stderr, a test's capture)."""

    def __reduce__(self) -> tuple[Any, ...]:
        from multiprocess.reduction import DupFd  # valid only while a Process is sent
        return (_std_fds, tuple(DupFd(fd) if _is_open(fd) else None for fd in (1, 2)))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:  # a parent started with its stdout or stderr closed
        return False


def _std_fds(out: Any, err: Any) -> list[int | None]:  # DupFd-s, as multiprocess sends them
    return [None if fd is None else fd.detach() for fd in (out, err)]


def _use_stdio(fds: list[int | None]) -> None:
    for target, fd in zip((1, 2), fds):
        if fd is not None:
            os.dup2(fd, target)
            os.close(fd)


def main(slot: int, conn: Any, address: Any, authkey: bytes, shared: Any,
         initializer: Callable[..., Any] | None = None, initargs: tuple[Any, ...] = (),
         worker_args: dict[str, Any] | None = None, capture_tqdm: bool = True,
         stdio: list[int | None] | None = None) -> None:
    """Run tasks from `conn` until told to stop (the target of every worker process);
    `shared` is the array of the pool's `SlotBoard`; `conn` is a multiprocess Connection
    (untyped: Any); `stdio`, the parent's fds 1 and 2 (a `Stdio` as sent) to write to."""
    global _worker_id, _board
    if stdio is not None:
        _use_stdio(stdio)
    _hold_what_tasks_start()
    _worker_id = slot
    _board = board = SlotBoard.attach(shared)
    reporter = reporting.Reporter(queue_sink(address, authkey), source=slot)
    reporter.start_timer()
    reporting.install(reporter)
    if capture_tqdm:
        from ..progress.tqdm_compat import install_capture
        install_capture()
    worker_args = dict(worker_args or {})
    if initializer is not None:
        try:
            initializer(*initargs, **worker_args)
        except Exception as exc:
            conn.send_bytes(dumps(InitFailed(RemoteFailure.from_exception(exc, skip=1))))
            return
    conn.send_bytes(dumps(Ready(os.getpid())))
    functions: dict[int, Callable[..., Any]] = {}
    instances: list[Worker] = []
    while True:
        message = loads(conn.recv_bytes())
        if isinstance(message, Tasks):
            conn.send_bytes(_run(functions[message.fn_id], message, reporter, board, slot))
            # only now: until its results are sent, a death is one of the chunk's items'
            board.clear(slot)
        elif isinstance(message, Resend):
            _resend(conn, board, slot)
        elif isinstance(message, Function):
            try:
                functions[message.fn_id] = load_target(message.payload, worker_args, instances)
            except Exception as exc:  # a Worker's setup: this worker is retired
                failure = RemoteFailure.from_exception(exc, skip=2)  # from the user's frame
                conn.send_bytes(dumps(SetupFailed(failure)))
                break
            conn.send_bytes(dumps(Loaded(message.fn_id)))
        elif isinstance(message, Stop):
            break
    _tear_down(instances, conn)
    reporter.flush()


def _hold_what_tasks_start() -> None:
    """Make this worker the leader of a process group that holds whatever its tasks start,
    so the pool stops all of it at once (os.killpg), and let tasks start processes."""
    global _pid
    _pid = os.getpid()
    # a worker of a pool run inside a task stays in its outer worker's group, killed whole
    if IN_WORKER not in os.environ:
        try:
            os.setpgid(0, 0)
        except OSError:
            pass  # a session leader cannot: it is stopped as a process only
        os.environ[IN_WORKER] = "1"
    # Ctrl-C reaches the parent's process group; the parent decides, and stops us. A
    # handler, unlike SIG_IGN, is not inherited by what a task runs
    signal.signal(signal.SIGINT, _ignore_sigint_here)
    # a process a task leaves behind must not hold the pool's pipes: the fork server, for
    # one, waits for the last holder of its pipe before it exits
    for name in os.listdir("/dev/fd"):
        if int(name) > 2:
            try:
                os.set_inheritable(int(name), False)
            except OSError:
                pass  # the listing's own descriptor, closed by now
    multiprocess.current_process().daemon = False  # daemonic processes may not have children
    # stop a task's multiprocess children before the exit would join them
    Finalize(None, _kill_children, exitpriority=100)


def _ignore_sigint_here(signum: int, frame: FrameType | None) -> None:
    """Ignore Ctrl-C in the worker; in a process a task forked, do what Python does."""
    if os.getpid() != _pid:
        signal.default_int_handler(signum, frame)


def _kill_children() -> None:
    for child in multiprocess.active_children():
        child.kill()


def load_target(payload: bytes, worker_args: dict[str, Any],
                instances: list[Worker]) -> Callable[..., Any]:
    """The callable to run: a function, or `process` of a set-up Worker instance (what
    its construction or `setup` raises propagates). A function that cannot be loaded
    gives a callable that explains why for every item."""
    try:
        target = dill.loads(payload)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"

        def unusable(*args: Any, **kwargs: Any) -> NoReturn:
            raise RuntimeError(f"the task could not be loaded in the worker ({reason})")
        return unusable
    if isinstance(target, type) and issubclass(target, Worker):
        instance = target()
        instance.setup(**worker_args)
        instances.append(instance)
        return instance.process
    return cast(Callable[..., Any], target)  # dill.loads gives Any


def _tear_down(instances: list[Worker], conn: Any) -> None:
    """Call each Worker's teardown; tell the parent of any that raises."""
    for instance in instances:
        try:
            instance.teardown()
        except Exception as exc:
            try:
                failure = RemoteFailure.from_exception(exc, skip=1)
                conn.send_bytes(dumps(TeardownFailed(failure)))
            except OSError:  # the parent is gone: stderr is all that is left
                # the one-argument form is Python 3.10+: on 3.9 this raises TypeError
                traceback.print_exception(exc)  # type: ignore[call-arg, arg-type]


def _run(fn: Callable[..., Any], tasks: Tasks, reporter: reporting.Reporter,
         board: SlotBoard, slot: int) -> bytes:
    global _last
    first = tasks.first
    _last = ([], [], [], first)  # the previous chunk's are not held while this one runs
    values, failures = run_items(fn, tasks.call, first, tasks.items, reporter,
                                 board.hot(slot), tasks.timed)
    # a death from here on (a result whose pickling kills us) is one of the chunk's items,
    # not the last one run: the parent finds which by running them alone
    board.mark_sending(slot, first)
    # the last state of the chunk's bars travels with its results: it reaches the panel
    # before the parent counts the items done, and costs no extra message
    events = reporter.take()
    _last = (values, failures, events, first)
    try:
        return dumps(Results(values, failures, events))
    except Exception:
        values, failures = _picklable(values, failures)
        _last = (values, failures, events, first)
        return dumps(Results(values, failures, events))


def _resend(conn: Any, board: SlotBoard, slot: int) -> None:
    """Send the last chunk's results again, each value pickled on its own: the parent
    could not load them as a whole, and so fails only the ones it cannot load."""
    values, failures, events, first = _last
    board.mark_sending(slot, first)
    conn.send_bytes(dumps(Each([dumps(value) for value in values], failures, events)))
    board.clear(slot)


def run_items(fn: Callable[..., Any], call: int, first: int, items: list[Any],
              reporter: reporting.Reporter, marks: tuple[Any, int, int],
              timed: bool) -> tuple[list[Any], list[tuple[int, RemoteFailure]]]:
    """Values (None where an item failed) and [(offset, RemoteFailure), …] of `items`,
    run one by one, each marked on the slot board (`marks`: its `hot()`) so a crash or
    timeout names its item."""
    current, at, started_at = marks  # a plain memoryview and offsets: ~20 ns per write
    values: list[Any] = []
    failures: list[tuple[int, RemoteFailure]] = []
    append = values.append
    # a chunk of quick items skips the per-item bookkeeping (~30 ns of ~60) but the mark;
    # its bars belong to the chunk's lane
    each = len(items) == 1 or timed
    for index, item in enumerate(items, first):
        current[at] = index
        if each:
            reporter.task = index
            if timed:
                current[started_at] = time.time_ns() // 1000
        try:
            if call == CALL_ITEM:
                append(fn(item))
            elif call == CALL_STAR:
                append(fn(*item))
            else:
                append(fn(*item[0], **item[1]))
        except SystemExit:
            raise  # the task asked its worker to exit: a crash, with that exit code
        except BaseException as exc:  # KeyboardInterrupt and kin too: this item's error
            append(None)
            failures.append((index - first, RemoteFailure.from_exception(exc, skip=1)))
    reporter.task = None
    return values, failures


def _picklable(values: list[Any], failures: list[tuple[int, RemoteFailure]]
               ) -> tuple[list[Any], list[tuple[int, RemoteFailure]]]:
    """`values` with each one that cannot be sent back replaced by a failure."""
    failed = dict(failures)
    for offset, value in enumerate(values):
        if offset in failed:
            continue
        try:
            dumps(value)
        except Exception as exc:
            failure = RemoteFailure.from_exception(exc)
            failure.message = ("the result could not be pickled to send it back to the "
                               f"parent ({failure.message}); return plain data instead")
            values[offset] = None
            failed[offset] = failure
    return values, sorted(failed.items())

