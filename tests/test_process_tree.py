"""A task's whole process tree is the pool's to stop: a timeout, `cancel()`, Ctrl-C and
pool exit stop what a task started (a subprocess, a multiprocessing or multiprocess
Process); what a task left behind never makes the pool wait; a pool inside a task works.

Tasks write the pids of what they start into files; the tests look them up in /proc
(a descendant is reparented when its worker dies, so it is no longer our child)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import poolbars as pb
from procs import alive

pytestmark = pytest.mark.timeout(60)

KINDS = ("popen", "multiprocessing", "multiprocess")
GONE_WITHIN = 10.0  # the issue says 2 s; this only catches a hang (figures: see the report)
SIGINT_BIT = 1 << (signal.SIGINT - 1)


def start_tree(pid_dir: str) -> int:
    """Start one descendant of each kind, write `<kind>.pid` (or `<kind>.error`)."""
    import multiprocessing

    import multiprocess

    starters = {
        "popen": lambda: subprocess.Popen(["sleep", "60"]).pid,
        "multiprocessing": lambda: _started(multiprocessing.get_context("fork")),
        "multiprocess": lambda: _started(multiprocess.get_context("fork")),
    }
    for kind, start in starters.items():
        try:
            text, name = str(start()), f"{kind}.pid"
        except Exception as exc:
            text, name = f"{type(exc).__name__}: {exc}", f"{kind}.error"
        with open(os.path.join(pid_dir, name + ".tmp"), "w") as f:
            f.write(text)
        os.rename(os.path.join(pid_dir, name + ".tmp"), os.path.join(pid_dir, name))
    return os.getpid()


def _started(ctx) -> int:
    # its pid is written once it runs its target: a signal that reaches a forked child
    # before its bootstrap has begun is lost to multiprocessing itself, pool or not
    ready = ctx.Event()
    process = ctx.Process(target=_sleep_when_ready, args=(ready,))
    process.start()
    ready.wait(10)
    return process.pid


def _sleep_when_ready(ready) -> None:
    ready.set()
    time.sleep(60)


def hold_tree(pid_dir: str) -> int:
    """Start the descendants, then keep running (until stopped)."""
    start_tree(pid_dir)
    time.sleep(60)
    return os.getpid()


def sigint_ignored(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        line = next(line for line in f if line.startswith("SigIgn:"))
    return bool(int(line.split()[1], 16) & SIGINT_BIT)


@pytest.fixture
def tree(tmp_path):
    """A directory for the pid files; whatever they name is killed after the test."""
    yield tmp_path
    for path in tmp_path.glob("*.pid"):
        pid = int(path.read_text())
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def started(pid_dir, within: float = 20.0) -> dict:
    """{kind: pid} of what the task started, once it has written all its files."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        names = {p.name for p in pid_dir.iterdir()}
        if all(f"{k}.pid" in names or f"{k}.error" in names for k in KINDS):
            break
        time.sleep(0.02)
    return {p.stem: int(p.read_text()) for p in pid_dir.glob("*.pid")}


def all_started(pid_dir) -> None:
    """The task could start a descendant of every kind."""
    errors = {p.stem: p.read_text() for p in pid_dir.glob("*.error")}
    assert not errors, f"the task could not start: {errors}"
    assert {p.stem for p in pid_dir.glob("*.pid")} == set(KINDS)


def gone_after(pids: dict, since: float) -> float:
    """Seconds from `since` until none of `pids` runs (fails past GONE_WITHIN)."""
    while time.time() - since < GONE_WITHIN:
        if not any(alive(pid) for pid in pids.values()):
            return time.time() - since
        time.sleep(0.01)
    left = {kind: pid for kind, pid in pids.items() if alive(pid)}
    pytest.fail(f"still running {GONE_WITHIN:g} s later: {left}")


# -- timeouts, cancel, pool exit --------------------------------------------------------

def test_a_timeout_stops_the_task_s_descendants(tree):
    with pb.Pool(1, display=None, timeout=3.0, on_error="return") as pool:
        result, = pool.map(hold_tree, [str(tree)])
        settled = time.time()
        pids = started(tree, within=0)
        assert isinstance(result, pb.Failure) and result.kind == "timeout"
        print("timeout: descendants gone", gone_after(pids, settled), "s after the item failed")
    all_started(tree)


def test_cancel_stops_the_task_s_descendants(tree):
    with pb.Pool(1, display=None) as pool:
        handle = pool.map_async(hold_tree, [str(tree)])
        pids = started(tree)
        cancelled = time.time()
        handle.cancel()
        print("cancel: descendants gone", gone_after(pids, cancelled), "s after cancel()")
    assert pool.stats.cancelled == 1
    all_started(tree)


def test_leaving_the_with_block_stops_what_a_finished_task_left_running(tree):
    with pb.Pool(1, display=None) as pool:
        pool.map(start_tree, [str(tree)])
        pids = started(tree, within=0)
        leaving = time.time()
    print("exit: descendants gone", gone_after(pids, leaving), "s after leaving `with`")
    all_started(tree)


def test_an_exception_in_the_with_block_stops_the_running_task_s_descendants(tree):
    with pytest.raises(ValueError, match="the caller failed"):
        with pb.Pool(1, display=None) as pool:
            pool.map_async(hold_tree, [str(tree)])
            pids = started(tree)
            raising = time.time()
            raise ValueError("the caller failed")
    print("exception: descendants gone", gone_after(pids, raising), "s after the raise")
    all_started(tree)


# -- Ctrl-C -------------------------------------------------------------------------------

INTERRUPT_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    import poolbars as pb
    from test_process_tree import hold_tree

    if __name__ == "__main__":
        try:
            with pb.Pool(2, display=None) as pool:
                pool.map(hold_tree, [sys.argv[1]])
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
""")


@pytest.mark.parametrize("target", ["parent", "group"])
def test_ctrl_c_stops_the_task_s_descendants(tree, tmp_path_factory, target):
    script = tmp_path_factory.mktemp("script") / "interrupt.py"
    script.write_text(INTERRUPT_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tree),
                             os.path.dirname(__file__)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        pids = started(tree)
        sent = time.time()
        if target == "parent":
            os.kill(proc.pid, signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "INTERRUPTED" in out, err
    print(f"Ctrl-C to the {target}: descendants gone", gone_after(pids, sent), "s after it")
    all_started(tree)


def test_grandchildren_do_not_inherit_an_ignored_sigint(tree):
    with pb.Pool(1, display=None) as pool:
        pool.map(start_tree, [str(tree)])
        pids = started(tree, within=0)
        assert not sigint_ignored(pids["popen"])  # exec'd: SigIgn as a fresh process
        for pid in pids.values():  # each dies of Ctrl-C, as it would outside a pool
            os.kill(pid, signal.SIGINT)
        gone_after(pids, time.time())
    all_started(tree)


# -- nothing a task leaves behind makes the pool wait -----------------------------------

def detach(command: str) -> None:
    os.system(command)


@pytest.mark.parametrize("how", ["sleep 30 &", "setsid sleep 30 &"])
def test_leaving_the_with_block_never_waits_on_a_detached_descendant(tree, how):
    pid_file = tree / "detached.pid"
    with pb.Pool(1, display=None) as pool:
        pool.map(detach, [f"{how} echo $! > {pid_file}"])
        leaving = time.time()
    took = time.time() - leaving
    print(f"{how!r}: leaving `with` took {took:.3f} s")
    assert took < GONE_WITHIN
    if not how.startswith("setsid"):  # still in the task's process group: stopped with it
        gone_after({"detached": int(pid_file.read_text())}, leaving)


# -- a pool inside a task ---------------------------------------------------------------

def abs_and_pid(x):
    return abs(x), os.getpid()


def inner_with(x):
    with pb.Pool(2, display=None) as pool:
        return pool.map(abs_and_pid, [-x, -2 * x])


def inner_map(x):
    return pb.map(abs_and_pid, [-x, -2 * x], 2, display=None)


@pytest.mark.parametrize("inner", [inner_with, inner_map])
def test_a_pool_inside_a_task_works_and_leaves_nothing_behind(inner):
    started_at = time.time()
    with pb.Pool(2, display=None) as pool:
        results = pool.map(inner, [1, 3])
        leaving = time.time()
    print(f"{inner.__name__}: {leaving - started_at:.2f} s")
    assert [[value for value, _ in inner] for inner in results] == [[1, 2], [3, 6]]
    gone_after({f"inner worker {pid}": pid for inner in results for _, pid in inner}, leaving)


def inner_hold(pid_dir: str) -> None:
    """Run a pool inside the task whose tasks note their pids and keep running."""
    with pb.Pool(2, display=None) as pool:
        pool.map(_note_pid_and_hold, [(pid_dir, "inner-0"), (pid_dir, "inner-1")])


def _note_pid_and_hold(args) -> None:
    pid_dir, name = args
    with open(os.path.join(pid_dir, name + ".pid"), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)


def test_a_timeout_stops_a_pool_running_inside_the_task_with_its_workers(tree):
    with pb.Pool(1, display=None, timeout=4.0, on_error="return") as pool:
        result, = pool.map(inner_hold, [str(tree)])
        settled = time.time()
        assert isinstance(result, pb.Failure) and result.kind == "timeout"
        pids = {p.stem: int(p.read_text()) for p in tree.glob("inner-*.pid")}
        assert len(pids) == 2
        print("inner pool's workers gone", gone_after(pids, settled), "s after the timeout")


def test_a_command_ends_with_its_own_process_not_with_what_it_left_in_the_background(tree):
    pid_file = tree / "background.pid"
    with pb.Pool(1, display=None) as pool:
        started_at = time.time()
        result, = pool.run_commands([f"sleep 30 & echo $! > {pid_file}; echo PROGRESS: 1"])
        took = time.time() - started_at
    print(f"a command with a background child: {took:.3f} s")
    assert result.ok and took < GONE_WITHIN
    gone_after({"background": int(pid_file.read_text())}, time.time())
