"""The fault table: every fault poolbars promises to survive, tried for real, with what
happens, what the user sees and how long it takes. Writes docs/faults.md.

    python bench/faults.py               # every fault, 3 runs each; writes docs/faults.md
    python bench/faults.py --quick       # one run each, prints the table only
    python bench/faults.py --only grand  # the faults whose name contains "grand"

Each scenario checks its own outcome: a fault that does not behave as its row says is
printed as "NOT AS DOCUMENTED" and the script exits with 1, so the table cannot go stale.
Times are wall-clock seconds on this machine (median of the runs; min–max beside it).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import pickle
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import poolbars as pb

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "docs" / "faults.md"
sys.path.insert(0, str(HERE.parent / "tests"))
from procs import alive, children, poolbars_threads  # noqa: E402 (the tests' /proc helpers)


@dataclass
class Outcome:
    """What one try of a fault gave: what happened, what the user saw, seconds taken."""

    happens: str
    sees: str
    seconds: float


class NotAsDocumented(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise NotAsDocumented(what)


# -- helpers ------------------------------------------------------------------------------

def wait_gone(pids, limit: float = 10.0) -> float:
    """Seconds until every pid in `pids` has exited (limit: give up, and say so)."""
    start = time.perf_counter()
    while any(alive(p) for p in pids):
        check(time.perf_counter() - start < limit, f"processes {pids} still alive after {limit} s")
        time.sleep(0.005)
    return time.perf_counter() - start


def read_pids(folder: str, count: int = 1, limit: float = 20.0) -> list[int]:
    start = time.perf_counter()
    while True:
        names = [n for n in os.listdir(folder) if n.endswith(".pid")]
        if len(names) >= count:
            return [int(Path(folder, n).read_text()) for n in names]
        check(time.perf_counter() - start < limit, "the task never started its child")
        time.sleep(0.01)


def run_script(code: str, *, signals=(), after: float = 0.0, env=None,
               timeout: float = 60.0) -> tuple[subprocess.CompletedProcess, float]:
    """Run `code` as a script; send `signals` (SIGINT, …) `after` seconds from its READY
    line, `gap` apart. Returns the finished process and seconds from the first signal
    (or from start) to its exit."""
    folder = tempfile.mkdtemp()
    path = Path(folder, "script.py")
    path.write_text(textwrap.dedent(code))
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=folder,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    start = time.perf_counter()
    if signals:
        line = proc.stdout.readline()
        check(line.startswith("READY"), f"the script did not start: {line!r}")
        time.sleep(after)
        start = time.perf_counter()
        for sig, gap in signals:
            os.killpg(proc.pid, sig)
            time.sleep(gap)
    out, err = proc.communicate(timeout=timeout)
    took = time.perf_counter() - start
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), took


# -- tasks (module level: they reach the workers by reference) ----------------------------

class ShardError(ValueError):
    """An exception class defined in __main__, as a notebook cell or a script does."""

    def __init__(self, shard, reason):
        super().__init__(f"shard {shard} is corrupt: {reason}")


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no str for you")


class Unloadable:
    """Pickles in the worker, cannot be rebuilt in the parent."""

    def __reduce__(self):
        return (_refuse_in_parent, (os.getpid(),))


def _refuse_in_parent(worker_pid):
    if os.getpid() != worker_pid:
        raise RuntimeError("cannot be rebuilt here")
    return Unloadable()


class KillsWhilePickled:
    def __reduce__(self):
        os._exit(7)


def raise_shard(x):
    if x == 2:
        raise ShardError(x, "bad checksum")
    return x


def raise_interrupt(x):
    if x == 2:
        raise KeyboardInterrupt
    return x


def raise_unprintable(x):
    if x == 2:
        raise Unprintable()
    return x


def unloadable_result(x):
    return Unloadable() if x == 2 else x


def dies_sending(x):
    return KillsWhilePickled() if x == 2 else x


def sigkill_at_3(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return x


def child_then_sleep(folder, seconds=60):
    child = subprocess.Popen(["sleep", "600"])
    Path(folder, "tmp").write_text(str(child.pid))
    os.rename(Path(folder, "tmp"), Path(folder, f"{child.pid}.pid"))  # whole, or not there
    time.sleep(seconds)


def detach_and_return(x):
    os.system("sleep 60 &")
    return x


def nested_map(x):
    with pb.Pool(2, display=None) as inner:
        return sum(inner.map(abs, [-x, -1]))


def quick(x):
    return x


def slow(x):
    time.sleep(0.2)
    return x


class FlakyGpu(pb.Worker):
    def setup(self, gpu):
        if gpu == 1:
            raise RuntimeError(f"CUDA error: no device {gpu}")
        self.gpu = gpu

    def process(self, item):
        time.sleep(0.05)  # long enough that every worker is sent work, and set up
        return item * 10


class BadSetup(pb.Worker):
    def setup(self, gpu):
        raise ShardError(gpu, "no driver")

    def process(self, item):
        return item


class HangingSetup(pb.Worker):
    def setup(self):
        time.sleep(3600)

    def process(self, item):
        return item


class BadTeardown(pb.Worker):
    def process(self, item):
        return item

    def teardown(self):
        raise OSError("could not release the device")


def hostile_task(x):
    pb.message("\x1b[2J\x1b]0;pwned\x07[link=http://x]click[/link] [/bold]\rforged line\n")
    for _ in pb.track(range(3), desc="\x1b[31mred[/]" + "d" * 1_000_000):
        pass
    with pb.bar(total=float("nan"), desc="nan") as bar:
        bar.update(float("inf"))
        bar.update(10 ** 400)
    return x


def closes_fds(x):
    if x == 2:
        os.closerange(3, 1024)
    return x


def map_in_thread(pool, start, out):
    out[start] = pool.map(quick, range(start, start + 200))


def reads_until_raise(k):
    for i in range(100):
        if i == k:
            raise OSError(f"read error at {i}")
        yield i


# -- the faults ----------------------------------------------------------------------------

def f_killed_worker():
    seen, start = [], time.perf_counter()
    with pb.Pool(2, display=None, on_error="return",
                 on_failure=lambda f: seen.append(time.perf_counter())) as pool:
        results = pool.map(sigkill_at_3, range(8))
    f = pool.failures
    check(len(f) == 1 and f[0].index == 3 and f[0].kind == "crashed", f"failures {f}")
    check([r for i, r in enumerate(results) if i != 3] == [0, 1, 2, 4, 5, 6, 7], "results")
    return Outcome("item 3 alone fails as `crashed`; the worker is replaced; the map goes on",
                   f"`{f[0].error}`", seen[0] - start)


def f_main_class():
    start = time.perf_counter()
    try:
        with pb.Pool(2, display=None) as pool:
            pool.map(raise_shard, range(4))
    except ShardError as exc:
        took = time.perf_counter() - start
        check(isinstance(exc, pb.TaskFailed) and "bad checksum" in str(exc), repr(exc))
        check("raise ShardError" in exc.traceback, "worker traceback kept")
        return Outcome("raised as the task's own class (defined in `__main__`, extra "
                       "`__init__` arguments), also a `pb.TaskFailed`",
                       f"`except ShardError` catches `{exc}`; worker traceback as cause", took)
    raise NotAsDocumented("ShardError was not raised as ShardError")


def f_base_exception():
    start = time.perf_counter()
    with pb.Pool(2, display=None, on_error="return") as pool:
        pool.map(raise_interrupt, range(4))
    took = time.perf_counter() - start
    f = pool.failures
    check(len(f) == 1 and f[0].kind == "error" and f[0].exc_type == "KeyboardInterrupt",
          f"failures {f}")
    check(pool.stats.crashed == 0, "no crash")
    return Outcome("the item fails as `error`; the worker lives on",
                   f"`{f[0].error or f[0].exc_type}` in `pool.failures`", took)


def f_unprintable():
    start = time.perf_counter()
    with pb.Pool(2, display=None, on_error="return") as pool:
        pool.map(raise_unprintable, range(4))
    f = pool.failures
    check(len(f) == 1 and f[0].kind == "error" and pool.stats.done == 3, f"failures {f}")
    return Outcome("the item fails as `error` with a stand-in message; nothing re-runs",
                   f"`{f[0].error}`", time.perf_counter() - start)


def f_unloadable_result():
    start = time.perf_counter()
    with pb.Pool(1, display=None, on_error="return", chunksize=4) as pool:
        results = pool.map(unloadable_result, range(4))
    f = pool.failures
    check(len(f) == 1 and f[0].index == 2, f"failures {f}")
    check([results[i] for i in (0, 1, 3)] == [0, 1, 3], f"results {results}")
    return Outcome("that item alone fails, at its index; its chunk's others keep their "
                   "results", f"`{f[0].error[:90]}`", time.perf_counter() - start)


def f_dies_sending():
    start = time.perf_counter()
    with pb.Pool(1, display=None, on_error="return", chunksize=4) as pool:
        pool.map(dies_sending, range(4))
    f = pool.failures
    check(len(f) == 1 and f[0].index == 2 and f[0].kind == "crashed", f"failures {f}")
    return Outcome("the crash is pinned on the item whose result killed the worker; no "
                   "other item fails", f"`{f[0].error[:90]}`", time.perf_counter() - start)


def _grandchild_scenario(stop, timeout=None):
    """A task starts `sleep 600` and sleeps; `stop(pool, handle)` ends it somehow. Seconds
    from that call until the grandchild is gone."""
    folder = tempfile.mkdtemp()
    with pb.Pool(1, display=None, on_error="return", timeout=timeout) as pool:
        handle = pool.map_async(child_then_sleep, [folder])
        pid = read_pids(folder)[0]
        start = time.perf_counter()
        stop(pool, handle)
    took = wait_gone([pid]) + time.perf_counter() - start
    return took


def f_grandchild_timeout():
    def stop(pool, handle):
        handle.result(timeout=30)
    took = _grandchild_scenario(stop, timeout=1.0)
    return Outcome("the timed-out task's worker and the `sleep` it started are killed",
                   "`TaskTimeout` in `pool.failures`; no process left", took)


def f_grandchild_cancel():
    def stop(pool, handle):
        handle.cancel()
    took = _grandchild_scenario(stop)
    return Outcome("`handle.cancel()` kills the worker and the `sleep` it started",
                   "the item counts as cancelled; no process left", took)


def f_grandchild_exit():
    def stop(pool, handle):
        pass  # leaving the `with` block with the task still running
    took = _grandchild_scenario(stop)
    return Outcome("leaving `with` stops the worker and the `sleep` it started",
                   "the running item counts as cancelled; no process left", took)


CTRL_C_SCRIPT = """
    import os, subprocess, sys, time
    import poolbars as pb

    def task(folder):
        child = subprocess.Popen(["sleep", "600"])
        open(os.path.join(folder, f"{child.pid}.pid"), "w").write(str(child.pid))
        time.sleep(600)

    if __name__ == "__main__":
        folder = sys.argv[0].rsplit("/", 1)[0]
        with pb.Pool(2, display=None) as pool:
            handle = pool.map_async(task, [folder, folder])
            while len([n for n in os.listdir(folder) if n.endswith(".pid")]) < 2:
                time.sleep(0.01)
            print("READY", flush=True)
            try:
                handle.result()
            except KeyboardInterrupt:
                stats = pool.stats
                raise
"""


def _ctrl_c(signals):
    proc, took = run_script(CTRL_C_SCRIPT, signals=signals, after=0.1)
    folder = Path(proc.args[1]).parent
    pids = [int(p.read_text()) for p in folder.glob("*.pid")]
    check(proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr, proc.stderr[-500:])
    check(not any(alive(p) for p in pids), f"grandchildren {pids} left")
    return took


def f_ctrl_c_group():
    took = _ctrl_c([(signal.SIGINT, 0)])
    return Outcome("Ctrl-C to the process group: workers and the `sleep`s they started are "
                   "killed", "`KeyboardInterrupt`; no process left", took)


def f_double_ctrl_c():
    took = _ctrl_c([(signal.SIGINT, 0.05), (signal.SIGINT, 0)])
    return Outcome("two Ctrl-C 50 ms apart: the second never hangs the exit",
                   "`KeyboardInterrupt`; no process left", took)


def f_detached():
    with pb.Pool(2, display=None) as pool:
        pool.map(detach_and_return, range(2))
        start = time.perf_counter()
    took = time.perf_counter() - start
    check(took < 2.0, f"exit took {took:.2f} s")
    return Outcome("leaving `with` does not wait for a task's detached `sleep 60 &`",
                   "the block ends at once", took)


def f_nested():
    start = time.perf_counter()
    try:
        with pb.Pool(1, display=None) as pool:
            result = pool.map(nested_map, [3])
        sees = f"works: {result}"
    except pb.TaskFailed as exc:
        check("nested" in str(exc).lower(), repr(exc))
        sees = f"`{str(exc).splitlines()[0][:90]}`"
    return Outcome("a pool inside a task works or is refused at once", sees,
                   time.perf_counter() - start)


def _refused(action, error: type, happens: str, needle: str = "") -> Outcome:
    """Time `action` until it raises `error` (whose text holds `needle`), as the row says."""
    start = time.perf_counter()
    try:
        action()
    except error as exc:
        check(needle in str(exc), repr(exc))
        return Outcome(happens, f"`{type(exc).__name__}: {str(exc)[:100]}`",
                       time.perf_counter() - start)
    raise NotAsDocumented(f"not refused: {happens}")


def f_closed_pool():
    pool = pb.Pool(1, display=None)
    with pool:
        pass
    return _refused(pool.__enter__, RuntimeError, "entering a closed pool raises at once",
                    "closed")


def f_imap_after_close():
    with pb.Pool(1, display=None) as pool:
        results = pool.imap(quick, range(100))
        next(results)
    return _refused(lambda: list(results), RuntimeError,
                    "iterating an `imap` after its pool closed raises", "closed")


def f_handle_cancel():
    with pb.Pool(2, display=None) as pool:
        handle = pool.map_async(slow, range(20))
        time.sleep(0.5)
        start = time.perf_counter()
        handle.cancel()
        results = handle.result(timeout=30)
        took = time.perf_counter() - start
    check(len(results) == 20, f"{len(results)} results")
    ran = [i for i in range(20) if i not in handle.not_run]
    check(all(results[i] == i for i in ran), "values at their positions")
    return Outcome("`cancel()` kills what runs; `result()` keeps every value at its place",
                   f"{len(ran)} values, `not_run` lists the other {len(handle.not_run)}", took)


def f_gc_unclosed():
    pool = pb.Pool(2, display=None)
    pool.start()
    pool.map(quick, range(4))
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del pool
        gc.collect()
    kinds = {w.category.__name__ for w in caught}
    took = wait_gone(children()) + time.perf_counter() - start
    check("ResourceWarning" in kinds, f"warnings {kinds}")
    check(not poolbars_threads(), f"threads left: {poolbars_threads()}")
    return Outcome("a pool collected unclosed stops its workers and threads",
                   "`ResourceWarning`", took)


def f_start_fails():
    start = time.perf_counter()
    try:
        with pb.Pool(2, display=None, worker_args=[{"gpu": 0}, {"gpu": 1}]) as pool:
            pool.map(BadSetup, range(4))
    except ShardError as exc:
        took = time.perf_counter() - start
        check(isinstance(exc, pb.TaskFailed), "also TaskFailed")
        check(not children() and not poolbars_threads(), "nothing left")
        return Outcome("every worker's setup raises: the map raises the setup's own type",
                       f"`{type(exc).__name__}: {exc}`; nothing left running", took)
    raise NotAsDocumented("the setup's error was not raised as its own type")


def f_setup_hangs():
    start = time.perf_counter()
    try:
        with pb.Pool(1, display=None, timeout=1) as pool:
            pool.map(HangingSetup, range(2))
    except pb.TaskFailed as exc:
        took = time.perf_counter() - start
        check(not children(), "nothing left")
        return Outcome("a setup that hangs is stopped after its own allowance",
                       f"`{type(exc).__name__}: {str(exc)[:80]}`", took)
    raise NotAsDocumented("a hanging setup did not raise")


def f_setup_some():
    start = time.perf_counter()
    with pb.Pool(3, display=None, worker_args=[{"gpu": g} for g in range(3)]) as pool:
        results = pool.map(FlakyGpu, range(12))
    took = time.perf_counter() - start
    check(results == [i * 10 for i in range(12)], f"results {results}")
    setup = [f for f in pool.failures if f.kind == "setup"]
    check(len(setup) == 1 and setup[0].worker == 1, f"failures {pool.failures}")
    return Outcome("the worker whose setup failed is retired; the map finishes on the others",
                   f"lane `setup failed`; `{setup[0].error}` (kind `setup`)", took)


def f_teardown_raises():
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pb.Pool(1, display=None) as pool:
            pool.map(BadTeardown, range(2))
    took = time.perf_counter() - start
    found = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    check(found and "release the device" in str(found[0].message), f"warnings {caught}")
    return Outcome("a raising `teardown` is reported, the pool still closes",
                   f"`RuntimeWarning: {str(found[0].message)[:80]}`", took)


def f_timeout_excludes_setup():
    class SlowSetup(pb.Worker):
        def setup(self):
            time.sleep(1.5)

        def process(self, item):
            return item
    start = time.perf_counter()
    with pb.Pool(1, display=None, timeout=1) as pool:
        results = pool.map(SlowSetup, range(3))
    check(results == [0, 1, 2] and not pool.failures, f"failures {pool.failures}")
    return Outcome("a 1.5 s setup under `timeout=1` is not counted against the task",
                   "every item done", time.perf_counter() - start)


def f_input_raises():
    with pb.Pool(2, display=None) as pool:
        got = []
        start = time.perf_counter()
        try:
            for value in pool.imap(quick, reads_until_raise(5)):
                got.append(value)
        except OSError as exc:
            took = time.perf_counter() - start
            check(got == [0, 1, 2, 3, 4], f"got {got}")
            check(pool.stats.total == 5, f"total {pool.stats.total}")
            return Outcome("`imap` yields the items read before the input raised, then raises",
                           f"`{type(exc).__name__}: {exc}` after 5 results", took)
    raise NotAsDocumented("the input's error was not raised")


def f_hostile_text():
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        with pb.Pool(1, display="log", title="\x1b[2J[bold]t[/bold]") as pool:
            pool.map(hostile_task, range(2))
            size = len(json.dumps(pool.snapshot()))
    took = time.perf_counter() - start
    text = out.getvalue()
    check("\x1b" not in text and "\x07" not in text and "\r" not in text, "control characters")
    check("\\x1b[2J[bold]t[/bold]" in text, "the title printed literally")
    check(size < 200_000, f"snapshot of {size} bytes")
    return Outcome("ESC, BEL, CR and markup in task text are printed inert; a 1 MB "
                   "description is capped; NaN/inf/10**400 updates do not raise",
                   f"literal text; snapshot {size / 1000:.0f} kB", took)


def f_silent_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        remote = pb.connect(server.getsockname(), os.urandom(32))
        with remote.bar(total=3, desc="goes on") as bar:
            bar.update(3)
    took = time.perf_counter() - start
    server.close()
    check(len(caught) == 1, f"warnings {[str(w.message) for w in caught]}")
    return Outcome("`pb.connect()` to a server that never answers gives up; the job goes on",
                   f"one warning: `{str(caught[0].message)[:80]}`", took)


def f_journal_seed():
    code = """
        import sys
        import poolbars as pb
        calls = 0
        def work(x):
            return sorted(x)
        if __name__ == "__main__":
            with pb.Pool(2, display=None, journal="run.jsonl") as pool:
                pool.map(work, [{"a", "b", str(i)} for i in range(50)])
            print(pool.stats.done - len(pool.report().tasks))
    """
    folder = tempfile.mkdtemp()
    path = Path(folder, "script.py")
    path.write_text(textwrap.dedent(code))
    start = time.perf_counter()
    runs = [subprocess.run([sys.executable, str(path)], cwd=folder, capture_output=True,
                           text=True, env={**os.environ, "PYTHONHASHSEED": seed}, timeout=60)
            for seed in ("1", "2")]
    took = time.perf_counter() - start
    check(all(r.returncode == 0 for r in runs), runs[-1].stderr[-500:])
    restored = int(runs[1].stdout.split()[-1])
    check(restored == 50, f"the second run restored {restored} of 50")
    return Outcome("an unchanged script resumes under another hash seed",
                   "the second run restores all 50 items", took / 2)


def f_journal_torn():
    folder = tempfile.mkdtemp()
    journal = Path(folder, "run.jsonl")
    with pb.Pool(1, display=None, journal=journal) as pool:
        pool.map(quick, range(6))
    with open(journal, "a") as f:
        f.write('{"torn')  # a crash mid-write
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pb.Pool(1, display=None, journal=journal) as pool:
            results = pool.map(quick, range(6))
    check(results == list(range(6)), f"results {results}")
    said = [str(w.message) for w in caught]
    return Outcome("a torn last line is skipped, never glued to the next record",
                   f"`{said[0][:80]}`" if said else "resumes", time.perf_counter() - start)


def f_closed_fds():
    start = time.perf_counter()
    with pb.Pool(1, display=None, on_error="return", chunksize=4) as pool:
        pool.map(closes_fds, range(4))
    f = pool.failures
    check(len(f) == 1 and f[0].index == 2 and f[0].kind == "crashed", f"failures {f}")
    return Outcome("the crash is pinned on the task that closed its worker's pipes",
                   f"`{f[0].error[:90]}`", time.perf_counter() - start)


def f_threads():
    out = {}
    with pb.Pool(2, display=None) as pool:
        start = time.perf_counter()
        threads = [threading.Thread(target=map_in_thread, args=(pool, n * 1000, out))
                   for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - start
    check(all(out[n * 1000] == list(range(n * 1000, n * 1000 + 200)) for n in range(4)),
          "every thread's results")
    return Outcome("four threads map on one pool at once", "each gets its own results",
                   took)


def f_log_message():
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        with pb.Pool(1, display="log") as pool:
            pb.message("loading the data")
            pool.map(quick, range(2))
    check("main: loading the data" in out.getvalue(), out.getvalue()[-300:])
    return Outcome("`pb.message()` in the main process with the log view is printed",
                   "`main: loading the data`", time.perf_counter() - start)


def _silent_peer(hang_up: bool) -> tuple:
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            held.append(conn) if not hang_up else conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def f_hang_up_server():
    listener, _ = _silent_peer(hang_up=True)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pb.connect(listener.getsockname(), os.urandom(32)).close()
    took = time.perf_counter() - start
    listener.close()
    check([w.category for w in caught] == [RuntimeWarning], f"warnings {caught}")
    return Outcome("`pb.connect()` to a server that hangs up gives up at once",
                   f"one warning: `{str(caught[0].message)[:80]}`", took)


def _threads_gone(before: set) -> float:
    start = time.perf_counter()
    while any(t not in before for t in threading.enumerate()):
        check(time.perf_counter() - start < 20, "threads left")
        time.sleep(0.01)
    return time.perf_counter() - start


def f_silent_client():
    with pb.Panel(display=None) as panel:
        before = set(threading.enumerate())
        sock = socket.create_connection(panel.connect_info()["address"])
        start = time.perf_counter()
        while set(threading.enumerate()) <= before:  # the panel takes the connection
            check(time.perf_counter() - start < 5, "the connection was never served")
            time.sleep(0.001)
        took = time.perf_counter() - start + _threads_gone(before)
        sock.close()
    return Outcome("a connection that never speaks is let go", "its thread ends", took)


def f_closed_remote():
    with pb.Panel(display=None) as panel:
        before = set(threading.enumerate())
        remote = pb.connect(**panel.connect_info())
        with remote.bar(3) as bar:
            bar.update(3)
        start = time.perf_counter()
        remote.close()
        took = time.perf_counter() - start + _threads_gone(before)
    return Outcome("a closed `Remote` releases its threads, here and in the panel",
                   "no thread left", took)


def f_malformed_batch():
    from poolbars.protocol import channel

    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        outbox = channel.connect(info["address"], info["authkey"])
        start = time.perf_counter()
        outbox.put(pickle.dumps([("bar", "x", 1)]))
        while panel.snapshot()["overall"]["dropped"] < 1:
            check(time.perf_counter() - start < 10, "never counted")
            time.sleep(0.001)
        took = time.perf_counter() - start
        outbox.close()
        remote = pb.connect(**info)
        with remote.bar(2, desc="after") as bar:
            bar.update(2)
        remote.close()
        while panel.state.bars_finished < 1:
            check(time.perf_counter() - start < 10, "the panel stopped serving")
            time.sleep(0.01)
    return Outcome("a malformed batch from an authenticated peer is dropped whole; the "
                   "panel serves everyone else", "`overall.dropped` counts it", took)


def _report_bars(info, name, bars=6):
    remote = pb.connect(**info, name=name)
    for _ in range(bars):
        with remote.bar(20, desc=name) as bar:
            for _ in range(20):
                bar.update(1)
                time.sleep(0.002)
    remote.close()


def f_fifty_reporters():
    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        start = time.perf_counter()
        threads = [threading.Thread(target=_report_bars, args=(info, f"r{i}"))
                   for i in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while panel.state.bars_finished < 300:
            check(time.perf_counter() - start < 60, "bars never finished")
            time.sleep(0.01)
        took = time.perf_counter() - start
        with panel.state.lock:
            states = {(lane.state, bar.n, bar.closed)
                      for lane in panel.state.lanes.values() for bar in lane.bars.values()}
    check(states == {("done", 20, True)}, f"states {states}")
    return Outcome("50 concurrent reporters × 6 bars: each bar ends in its last state",
                   "every lane `done` at its final count", took)


def f_bad_authkey():
    return _refused(lambda: pb.connect(("127.0.0.1", 9), "not-hex"), ValueError,
                    "an authkey string that is not hex is refused before connecting")


def f_journal_changed_item():
    folder = tempfile.mkdtemp()
    journal = Path(folder, "run.jsonl")
    items = list(range(10_000))
    with pb.Pool(2, display=None, journal=journal) as pool:
        pool.map(quick, items)
    items[5_000] = -1
    return _refused(lambda: _journaled_map(journal, items), ValueError,
                    "a change to item 5,000 of 10,000 is found; nothing runs")


def f_journal_damaged():
    folder = tempfile.mkdtemp()
    journal = Path(folder, "run.jsonl")
    with pb.Pool(1, display=None, journal=journal) as pool:
        pool.map(quick, range(6))
    lines = journal.read_text().splitlines(keepends=True)
    lines[2] = "not json at all\n"
    journal.write_text("".join(lines))
    return _refused(lambda: _journaled_map(journal, range(6)), ValueError,
                    "a damaged line inside a journal is refused before anything starts",
                    "line 3")


def _journaled_map(journal, items) -> list:
    with pb.Pool(2, display=None, journal=journal) as pool:
        return pool.map(quick, items)

FAULTS = [
    ("§1", "a task's exception class lives in `__main__`", f_main_class,
     "map call to raise"),
    ("§1", "a task raises `KeyboardInterrupt`", f_base_exception,
     "the whole `with` block"),
    ("§1", "an exception whose `__str__` raises", f_unprintable,
     "the whole `with` block"),
    ("§1", "a result that cannot be unpickled in the parent", f_unloadable_result,
     "the whole `with` block"),
    ("§1", "a worker dies while pickling item 2's result", f_dies_sending,
     "the whole `with` block"),
    ("§1", "a task closes its worker's file descriptors", f_closed_fds,
     "the whole `with` block"),
    ("§1", "a worker is SIGKILLed mid-task", f_killed_worker,
     "map call to the failure recorded"),
    ("§2", "a timed-out task's grandchild process", f_grandchild_timeout,
     "task running to grandchild gone, the 1 s timeout included"),
    ("§2", "a cancelled task's grandchild process", f_grandchild_cancel,
     "`cancel()` to grandchild gone"),
    ("§2", "pool exit with a task's grandchild running", f_grandchild_exit,
     "leaving `with` to grandchild gone"),
    ("§2", "Ctrl-C to the process group, grandchildren running", f_ctrl_c_group,
     "SIGINT to the script's exit"),
    ("§2", "a task detaches `sleep 60 &`", f_detached,
     "leaving `with` to the block's end"),
    ("§2", "a pool created inside a task", f_nested,
     "the whole outer `with` block"),
    ("§3", "`with pool:` a second time", f_closed_pool,
     "`with` to raise"),
    ("§3", "an `imap` iterated after its pool closed", f_imap_after_close,
     "next read to raise"),
    ("§3", "`handle.cancel()` mid-map", f_handle_cancel,
     "`cancel()` to `result()` returned"),
    ("§3", "a pool garbage-collected unclosed", f_gc_unclosed,
     "`del pool; gc.collect()` to workers gone"),
    ("§3", "`Worker.setup` raises in every worker", f_start_fails,
     "`with` to raise"),
    ("§3", "`Worker.setup` hangs past `timeout`", f_setup_hangs,
     "`with` to raise; the default allowance is max(10 s, 10 × timeout)"),
    ("§3", "a slow `setup` with a short `timeout`", f_timeout_excludes_setup,
     "the whole `with` block"),
    ("§3", "two Ctrl-C in quick succession", f_double_ctrl_c,
     "first SIGINT to the script's exit"),
    ("§3", "`map` from four threads on one pool", f_threads,
     "threads started to all joined"),
    ("§4", "the input iterator raises at item 5", f_input_raises,
     "first read to raise"),
    ("§5", "`Worker.setup` fails on one worker of three", f_setup_some,
     "the whole `with` block"),
    ("§5", "`Worker.teardown` raises", f_teardown_raises,
     "the whole `with` block"),
    ("§6", "task text with ESC, BEL, CR, markup, 1 MB, NaN", f_hostile_text,
     "the whole `with` block"),
    ("§6", "`pb.message()` in the main process, log view", f_log_message,
     "the whole `with` block"),
    ("§7", "`pb.connect()` to a server that never answers", f_silent_server,
     "`pb.connect()` to its return; the handshake allows 5 s"),
    ("§7", "`pb.connect()` to a server that hangs up", f_hang_up_server,
     "`pb.connect()` to its return"),
    ("§7", "a connection to a panel that never speaks", f_silent_client,
     "connection served to its thread's end; the handshake allows 5 s"),
    ("§7", "`Remote.close()`", f_closed_remote,
     "`close()` to every thread gone"),
    ("§7", "a malformed batch from an authenticated peer", f_malformed_batch,
     "`put` to counted"),
    ("§7", "50 concurrent reporters", f_fifty_reporters,
     "threads started to every bar shown in its last state"),
    ("§7", "an authkey string that is not hex", f_bad_authkey,
     "`pb.connect()` to raise"),
    ("§8", "the same script re-run under another hash seed", f_journal_seed,
     "one run of the script, in a new interpreter"),
    ("§8", "item 5,000 of a journaled input changed", f_journal_changed_item,
     "`with` to raise"),
    ("§8", "a journal whose last line was torn by a crash", f_journal_torn,
     "the whole second `with` block"),
    ("§8", "a damaged line inside a journal", f_journal_damaged,
     "`with` to raise"),
]


def measure(fn, runs: int) -> tuple[Outcome | None, list[float], str | None]:
    outcomes = []
    for _ in range(runs):
        try:
            outcomes.append(fn())
        except NotAsDocumented as exc:
            return None, [], f"NOT AS DOCUMENTED: {exc}"
        except Exception as exc:  # an unexpected error is a finding too
            return None, [], f"NOT AS DOCUMENTED: {type(exc).__name__}: {exc}"
    return outcomes[-1], [o.seconds for o in outcomes], None


def seconds(times: list[float]) -> str:
    median = statistics.median(times)
    if len(times) == 1:
        return f"{median:.2f} s"
    return f"{median:.2f} s ({min(times):.2f}–{max(times):.2f})"


def table(rows: list[tuple]) -> str:
    lines = ["| § | fault | what happens | what the user sees | how long | timed |",
             "|---|---|---|---|---|---|"]
    for section, fault, outcome, times, problem, clock in rows:
        if problem:
            lines.append(f"| {section} | {fault} | **{problem}** | | | |")
        else:
            sees = outcome.sees.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {section} | {fault} | {outcome.happens} | {sees} | "
                         f"{seconds(times)} | {clock} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run each, print only")
    parser.add_argument("--only", help="only the faults whose function name contains this")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    rows, began = [], time.perf_counter()
    for section, fault, fn, clock in FAULTS:
        if args.only and args.only not in fn.__name__:
            continue
        outcome, times, problem = measure(fn, runs)
        rows.append((section, fault, outcome, times, problem, clock))
        print(f"{fn.__name__:28s} {problem or seconds(times)}", file=sys.stderr, flush=True)
    report = "\n\n".join([
        "# Faults and what poolbars does about them",
        f"`python bench/faults.py`, {time.strftime('%Y-%m-%d')}, "
        f"{time.perf_counter() - began:.0f} s; {runs} run{'s' if runs > 1 else ''} each "
        "(median, min–max). Each row is checked by the script as it runs: a fault that "
        "does not behave as written makes it fail.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, poolbars {pb.__version__}.",
        table(rows)])
    print(report)
    if not args.quick and not args.only:
        OUT.write_text(report + "\n")
    return 1 if any(row[4] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
