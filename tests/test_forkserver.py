"""The warm fork server: it outlives the pools that use it (the next pool reuses it),
`pb.shutdown()` stops it (the next pool starts it again), and an interpreter that used a
pool exits promptly and leaves no process behind — also with a pool still open. Real
fork servers, real pools, real interpreters; the processes are read in /proc."""

import os
import subprocess
import sys
import textwrap
import time

import multiprocess
import pytest
from multiprocess import forkserver as mp_forkserver

import poolbars as pb
from poolbars.engine import forkserver
from procs import alive, children, descendants, fork_servers

pytestmark = pytest.mark.timeout(120)


def _server_pid():
    return mp_forkserver._forkserver._forkserver_pid  # multiprocess's own record of it


def _start_server(ctx) -> int:
    process = ctx.Process(target=abs, args=(-1,))
    process.start()  # the first forkserver process starts the server
    process.join()
    return _server_pid()


def _pool_run() -> list:
    with pb.Pool(2, display=None) as pool:
        return pool.map(abs, range(-3, 3))


def test_the_server_stays_warm_after_the_last_pool_and_shutdown_stops_it():
    ctx = multiprocess.get_context("forkserver")
    forkserver.pool_opened(ctx, True)
    pid = _start_server(ctx)
    forkserver.pool_closed(True)
    assert alive(pid)  # warm for the next pool
    pb.shutdown()
    assert not alive(pid) and _server_pid() is None
    assert fork_servers(os.getpid()) == []
    pb.shutdown()  # nothing to stop: nothing happens


def test_later_pools_reuse_the_warm_server_and_a_pool_after_shutdown_starts_a_new_one():
    assert _pool_run() == [3, 2, 1, 0, 1, 2]
    first = _server_pid()
    assert fork_servers(os.getpid()) == [first]
    assert _pool_run() == [3, 2, 1, 0, 1, 2]
    assert _server_pid() == first  # the second pool started no server
    assert children() == []  # no worker left: only the warm server, which children() skips
    pb.shutdown()
    assert not alive(first) and fork_servers(os.getpid()) == []
    assert _pool_run() == [3, 2, 1, 0, 1, 2]  # a new pool after shutdown works
    again = _server_pid()
    assert again != first and alive(again)
    pb.shutdown()
    assert not alive(again)


def test_shutdown_while_a_pool_is_open_returns_and_the_pool_goes_on():
    """The choice: shutdown() never blocks and never breaks an open pool. The server is
    told to stop (its pipe closed, forgotten), keeps serving the open pool's workers, and
    exits once they have; the pool's close reaps it."""
    with pb.Pool(2, display=None) as pool:
        assert pool.map(abs, [-1, -2]) == [1, 2]
        pid = _server_pid()
        pb.shutdown()
        assert _server_pid() is None
        assert pool.map(abs, range(-20, 0)) == list(range(20, 0, -1))
    assert not alive(pid)
    assert descendants(os.getpid()) == [] and fork_servers(os.getpid()) == []


def test_a_forked_child_neither_uses_nor_holds_its_parent_s_server():
    _pool_run()
    pid = _server_pid()
    child = os.fork()
    if child == 0:  # the child: a pool of its own, then out without atexit hooks
        code = 1
        try:
            code = 0 if _pool_run() == [3, 2, 1, 0, 1, 2] and _server_pid() != pid else 2
            pb.shutdown()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _server_pid() == pid and alive(pid)  # the parent's stays warm
    assert _pool_run() == [3, 2, 1, 0, 1, 2]
    pb.shutdown()
    assert not alive(pid)


EXITING = textwrap.dedent("""
    import sys
    import poolbars as pb
    from multiprocess import forkserver

    if __name__ == "__main__":
        pool = pb.Pool(2, display=None)
        with pool:
            pool.map(abs, range(-4, 4))
        opened = pb.Pool(2, display=None)
        opened.start()
        opened.map(abs, [-1])
        pids = [forkserver._forkserver._forkserver_pid]
        pids += [slot.process.pid for slot in opened._running.engine.backend.workers.slots]
        print(" ".join(map(str, pids)), flush=True)
        if sys.argv[1] == "shutdown-while-open":
            pb.shutdown()
        if sys.argv[1] == "close":
            opened.close()
""")


@pytest.mark.parametrize("how", ["close", "open-at-exit", "shutdown-while-open"])
def test_an_interpreter_that_used_pools_exits_promptly_and_leaves_no_process(tmp_path, how):
    script = tmp_path / "exiting.py"
    script.write_text(EXITING)
    started = time.time()
    run = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    print(f"{how}: the script ran and exited in {time.time() - started:.2f} s")
    assert run.returncode == 0, run.stderr
    pids = [int(pid) for pid in run.stdout.split()]
    assert len(pids) == 3 and all(pids)
    deadline = time.time() + 10  # reparented processes may take a moment to be reaped
    while any(alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if alive(pid)] == []  # the server and the open pool's workers


CLOSED_STDIO = textwrap.dedent("""
    import sys
    import poolbars as pb

    if __name__ == "__main__":
        results = []
        for _ in range(2):  # the second pool's workers come from the warm server
            with pb.Pool(2, display=None) as pool:
                results += pool.map(abs, [-1, -2])
        with open(sys.argv[1], "w") as f:
            f.write(repr(results))
""")


@pytest.mark.parametrize("closed", ["1", "2"])
def test_workers_start_when_the_parent_runs_with_stdout_or_stderr_closed(tmp_path, closed):
    """Each worker gets the parent's current fds 1 and 2; a closed one is not sent."""
    script, out = tmp_path / "closed.py", tmp_path / "out.txt"
    script.write_text(CLOSED_STDIO)
    run = subprocess.run(["sh", "-c", f'"{sys.executable}" "{script}" "{out}" {closed}>&-'],
                         timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.returncode == 0
    assert out.read_text() == "[1, 2, 1, 2]"


# -- the main module, loaded once in the server ------------------------------------------------

MAIN = textwrap.dedent("""
    import os, sys
    import poolbars as pb
    from helper import square  # next to the script: the server has the script's sys.path

    with open(sys.argv[1], "a") as f:  # the top level: counted, with the argv it ran with
        f.write(f"{__name__} {sys.argv[2]}\\n")
    print("top level", flush=False)  # unflushed in the server: workers must not repeat it


    def cube(x):
        return x ** 3


    if __name__ == "__main__":
        results = []
        for _ in range(3):
            with pb.Pool(4, display=None) as pool:
                results.append(pool.map(square, range(6)) + pool.map(cube, [2]))
        print(results, flush=True)
""")


def _env(tmp_path) -> dict:
    """The script's environment, marked: every process it starts inherits the mark."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TEST_MARK": str(tmp_path)}


def _run_main(tmp_path, *how: str, more: tuple = ()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *how, str(tmp_path / "ran.txt"), "argv-ok", *more],
                          capture_output=True, text=True, timeout=90, cwd=tmp_path,
                          env=_env(tmp_path))


def _left_behind(tmp_path) -> list:
    """Live processes with the mark of `_env(tmp_path)` (the script's fork server, its
    workers, anything else it started), after up to 10 s to exit."""
    mark = f"TEST_MARK={tmp_path}\0".encode()
    deadline = time.time() + 10
    while True:
        found = []
        for name in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if mark in f.read() and alive(int(name)):
                        found.append(int(name))
            except OSError:
                continue
        if not found or time.time() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["script", "-m module", "script, 300 KB of arguments"])
def test_the_main_module_runs_once_in_the_server_not_in_each_worker(tmp_path, how):
    """Three pools of 4 workers: the main module's top level runs in the parent (as
    `__main__`) and once in the fork server (as `__mp_main__`, with the parent's sys.argv
    (also one too long for a command line) and sys.path), and no worker runs it again;
    its functions work in the workers."""
    (tmp_path / "helper.py").write_text("def square(x):\n    return x * x\n")
    (tmp_path / "prog.py").write_text(MAIN)
    more = tuple(f"/data/photos/{i:06d}-holiday.jpg" for i in range(10_000)) if "KB" in how else ()
    run = _run_main(tmp_path, *(["-m", "prog"] if "-m" in how else ["prog.py"]), more=more)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == repr([[0, 1, 4, 9, 16, 25, 8]] * 3)
    assert run.stdout.count("top level") == 2  # the parent's, the server's: none repeated
    ran = (tmp_path / "ran.txt").read_text().splitlines()
    assert sorted(ran) == ["__main__ argv-ok", "__mp_main__ argv-ok"]
    assert _left_behind(tmp_path) == []


UNGUARDED = textwrap.dedent("""
    import sys
    import poolbars as pb

    with open(sys.argv[1], "a") as f:
        f.write(f"{__name__}\\n")
    with pb.Pool(2, display=None) as pool:  # no `if __name__ == "__main__":` guard
        print(pool.map(abs, [-1, -2]))
""")


def test_a_main_module_without_the_guard_fails_as_before_and_leaves_no_process(tmp_path):
    """The server cannot load it (it would start a pool): it goes on without it, each
    worker loads it and fails, and the pool says why, as it did before the preload."""
    (tmp_path / "prog.py").write_text(UNGUARDED)
    run = _run_main(tmp_path, "prog.py")
    assert run.returncode == 1
    assert "`if __name__ == \"__main__\":`" in run.stderr.splitlines()[-1]
    assert "__mp_main__" in (tmp_path / "ran.txt").read_text()
    assert _left_behind(tmp_path) == []


READS_STDIN = textwrap.dedent("""
    import sys
    import poolbars as pb

    line = sys.stdin.readline()  # the top level reads stdin, which the caller keeps open
    with open(sys.argv[1], "a") as f:
        f.write(f"{__name__} {line!r}\\n")

    if __name__ == "__main__":
        with pb.Pool(2, display=None) as pool:
            print(pool.map(abs, [-1, -2]), flush=True)
""")


def test_the_server_loads_the_main_module_with_stdin_empty_as_a_worker_would(tmp_path):
    """Its top level reads stdin: in the parent it gets the line; in the server, as in a
    worker, it reads nothing at once (never the parent's input, never waiting for it)."""
    (tmp_path / "prog.py").write_text(READS_STDIN)
    ran = tmp_path / "ran.txt"
    with subprocess.Popen([sys.executable, "prog.py", str(ran)], cwd=tmp_path, text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          env=_env(tmp_path)) as run:
        run.stdin.write("hello\n")
        run.stdin.flush()  # and kept open: a read of it would wait
        try:
            assert run.wait(timeout=60) == 0
        finally:
            run.kill()
        assert run.stdout.read() == "[1, 2]\n"
    assert sorted(ran.read_text().splitlines()) == ["__main__ 'hello\\n'", "__mp_main__ ''"]
    assert _left_behind(tmp_path) == []
