"""Retrofitting an unmodified script: `python -m poolbars run` and `pb.install()`.

Real programs written to tmp_path, run as real subprocesses; their real tqdm bars, in the
main process and in children of multiprocessing, concurrent.futures and multiprocess
under every start method, reach a real panel (ours in `--display log`, or a `pb.Panel`
in this test process)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import poolbars as pb

SRC = str(Path(__file__).resolve().parent.parent / "src")

PROGRAM = textwrap.dedent("""
    import os, sys, time
    from tqdm import tqdm, trange

    def work(n):
        for _ in tqdm(range(n), desc=f"child {n}"):
            time.sleep(0.002)
        return n * 2

    def pool_map(lib, method):
        if lib == "futures":
            import concurrent.futures, multiprocessing
            context = multiprocessing.get_context(method)
            with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as ex:
                return list(ex.map(work, [10, 20, 30]))
        mp = __import__(lib)
        with mp.get_context(method).Pool(2) as pool:
            return pool.map(work, [10, 20, 30])

    if __name__ == "__main__":
        lib, method = sys.argv[1], sys.argv[2]
        print(f"main pid {os.getpid()}", flush=True)
        for _ in trange(30, desc="main loop"):
            time.sleep(0.001)
        print("results", pool_map(lib, method), flush=True)
        print("a line to stderr", file=sys.stderr)
""")

ECHO = textwrap.dedent("""
    import json, os, sys
    print(json.dumps({"argv": sys.argv, "name": __name__, "path0": sys.path[0],
                      "chained": os.environ.get("CHAINED_SITECUSTOMIZE")}))
    code = int(os.environ.get("EXIT_WITH", "0"))
    if code < 0:
        raise RuntimeError("the program's own error")
    sys.exit(code)
""")

LINE = re.compile(r"^(\S+) \[(\d+)\] \(done\) · (.+?) · (\d+)/(\d+) it$")


def environment(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_pb(tmp_path, *args, env=None, timeout=180):
    return subprocess.run([sys.executable, "-m", "poolbars", "run", *args], cwd=tmp_path,
                          env=env or environment(), capture_output=True, text=True,
                          timeout=timeout)


def bar_lines(stderr: str) -> list[tuple[str, int, str, int, int]]:
    """(process name, pid, desc, n, total) of every finished-bar line of the log."""
    found = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            name, pid, desc, n, total = match.groups()
            found.append((name, int(pid), desc, int(n), int(total)))
    return found


def write(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_argv_main_path_and_exit_code_are_pythons(tmp_path):
    write(tmp_path, "echo.py", ECHO)
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/mod.py", ECHO)
    for target in (["echo.py"], ["-m", "pkg.mod"]):
        args = [*target, "a b", "--flag", "-m", "x"]
        env = environment(EXIT_WITH="7")
        plain = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=60)
        ran = run_pb(tmp_path, "--display", "log", *args, env=env)
        assert plain.returncode == 7 and ran.returncode == 7, ran.stderr
        seen = json.loads(ran.stdout)
        assert seen == json.loads(plain.stdout)
        assert seen["argv"][1:] == ["a b", "--flag", "-m", "x"] and seen["name"] == "__main__"


def test_an_uncaught_exception_exits_as_in_python(tmp_path):
    write(tmp_path, "echo.py", ECHO)
    ran = run_pb(tmp_path, "--display", "log", "echo.py", env=environment(EXIT_WITH="-1"))
    assert ran.returncode == 1
    assert "RuntimeError: the program's own error" in ran.stderr
    assert "[failed]" not in ran.stdout  # the panel writes to stderr, the program's stdout is its own


def test_ctrl_c_reaches_the_program_and_ends_us_as_it_ends_it(tmp_path):
    write(tmp_path, "wait.py", textwrap.dedent("""
        import time
        from tqdm import tqdm
        try:
            for i in tqdm(range(2000), desc="waiting"):
                if i == 2:
                    print("ready", flush=True)
                time.sleep(0.05)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise
    """))
    proc = subprocess.Popen([sys.executable, "-m", "poolbars", "run", "--display", "log",
                             "wait.py"], cwd=tmp_path, env=environment(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGINT, err
    assert "interrupted" in out and "KeyboardInterrupt" in err
    assert "wait.py [cancelled]" in err


@pytest.mark.parametrize("lib", ["multiprocessing", "futures", "multiprocess"])
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_bars_of_the_main_process_and_its_children_show_once(tmp_path, lib, method):
    write(tmp_path, "program.py", PROGRAM)
    ran = run_pb(tmp_path, "--display", "log", "program.py", lib, method)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout.splitlines()
    main_pid = int(out[0].split()[-1])
    assert out[1:] == ["results [20, 40, 60]"]  # the program's own output, intact
    assert ran.stderr.count("a line to stderr") == 1
    bars = bar_lines(ran.stderr)
    assert ("main", main_pid, "main loop", 30, 30) in bars
    children = sorted((desc, n, total) for name, pid, desc, n, total in bars if pid != main_pid)
    assert children == [("child 10", 10, 10), ("child 20", 20, 20), ("child 30", 30, 30)]
    assert all(name != "main" for name, pid, *_ in bars if pid != main_pid)
    assert len(bars) == 4  # each bar once
    assert "it/s]" not in ran.stderr and "\r" not in ran.stderr  # tqdm itself drew nothing


def panel_env(panel, **extra):
    info = panel.connect_info()
    host, port = info["address"]
    return f"{host}:{port}", environment(POOLBARS_AUTHKEY=info["authkey"].hex(), **extra)


def wait_for_bars(panel, count: int) -> list:
    deadline = time.time() + 10
    while time.time() < deadline and panel.state.bars_finished < count:
        time.sleep(0.05)
    return panel.snapshot()["lanes"]


def test_connect_sends_the_bars_to_a_panel_in_another_process(tmp_path):
    write(tmp_path, "program.py", PROGRAM)
    with pb.Panel(title="retrofit", display=None) as panel:
        address, env = panel_env(panel)
        ran = run_pb(tmp_path, "--connect", address, "program.py", "multiprocessing", "spawn",
                     env=env)
        assert ran.returncode == 0, ran.stderr
        lanes = wait_for_bars(panel, 4)
    main_pid = int(ran.stdout.split()[2])
    shown = sorted((lane["desc"], lane["n"], lane["total"]) for lane in lanes)
    assert shown == [("child 10", 10, 10), ("child 20", 20, 20), ("child 30", 30, 30),
                     ("main loop", 30, 30)]
    names = {lane["desc"]: lane["name"] for lane in lanes}
    assert names["main loop"] == f"main [{main_pid}]"
    assert all(names[f"child {n}"].startswith("SpawnPoolWorker-") for n in (10, 20, 30))
    assert "a line to stderr" in ran.stderr and "(done)" not in ran.stderr  # no panel of ours
    assert "it/s]" not in ran.stderr and "\r" not in ran.stderr  # no tqdm output


def test_install_from_a_sitecustomize_of_ones_own(tmp_path):
    write(tmp_path, "program.py", PROGRAM)
    write(tmp_path, "site/sitecustomize.py", "import poolbars as pb\npb.install()\n")
    with pb.Panel(display=None) as panel:
        address, env = panel_env(panel, POOLBARS_PANEL="")
        env["POOLBARS_PANEL"] = address
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), env["PYTHONPATH"]])
        ran = subprocess.run([sys.executable, "program.py", "multiprocessing", "forkserver"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        lanes = wait_for_bars(panel, 4)
    assert sorted(lane["desc"] for lane in lanes) == ["child 10", "child 20", "child 30",
                                                      "main loop"]
    assert "a line to stderr" in ran.stderr
    assert "it/s]" not in ran.stderr and "\r" not in ran.stderr  # tqdm itself drew nothing


def test_an_existing_sitecustomize_still_runs(tmp_path):
    write(tmp_path, "echo.py", ECHO)
    write(tmp_path, "site/sitecustomize.py",
          "import os\nos.environ['CHAINED_SITECUSTOMIZE'] = 'yes'\n")
    env = environment()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), env["PYTHONPATH"]])
    ran = run_pb(tmp_path, "--display", "log", "echo.py", env=env)
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["chained"] == "yes" and seen["path0"] == str(tmp_path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connect_refuses_to_start_without_a_panel_that_accepts_the_key(tmp_path):
    marker = tmp_path / "started"
    write(tmp_path, "touch.py", f"open({str(marker)!r}, 'w').close()\n")
    with pb.Panel(display=None) as panel:
        address, env = panel_env(panel)
        wrong = run_pb(tmp_path, "--connect", address, "touch.py",
                       env=dict(env, POOLBARS_AUTHKEY=os.urandom(32).hex()))
        missing = run_pb(tmp_path, "--connect", address, "touch.py",
                         env={k: v for k, v in env.items() if k != "POOLBARS_AUTHKEY"})
        not_hex = run_pb(tmp_path, "--connect", address, "touch.py",
                         env=dict(env, POOLBARS_AUTHKEY="secret"))
        bad_address = run_pb(tmp_path, "--connect", "localhost", "touch.py", env=env)
    nobody = run_pb(tmp_path, "--connect", f"127.0.0.1:{free_port()}", "touch.py", env=env)
    assert not marker.exists()
    for ran in (wrong, missing, not_hex, bad_address, nobody):
        assert ran.returncode == 2
    assert "refused POOLBARS_AUTHKEY" in wrong.stderr and ".hex()" in wrong.stderr
    assert "set POOLBARS_AUTHKEY" in missing.stderr
    assert "POOLBARS_AUTHKEY" in not_hex.stderr and "not hex" in not_hex.stderr
    assert "not HOST:PORT" in bad_address.stderr
    assert "no panel answers" in nobody.stderr and "pb.Panel()" in nobody.stderr


def test_a_missing_program_is_named(tmp_path):
    ran = run_pb(tmp_path, "--display", "log", "nope.py")
    assert ran.returncode == 2 and "nope.py: no such file" in ran.stderr
    ran = run_pb(tmp_path, "--display", "log")
    assert ran.returncode == 2 and "no program to run" in ran.stderr


def test_install_names_what_is_missing(monkeypatch):
    monkeypatch.delenv("POOLBARS_PANEL", raising=False)
    monkeypatch.delenv("POOLBARS_AUTHKEY", raising=False)
    with pytest.raises(ValueError, match="set POOLBARS_PANEL"):
        pb.install()
    with pytest.raises(ValueError, match="set POOLBARS_AUTHKEY"):
        pb.install("127.0.0.1:5000")
    with pytest.raises(ValueError, match="not HOST:PORT"):
        pb.install("127.0.0.1", "00ff")
    assert "install" in pb.__all__ and "Raises:" in pb.install.__doc__


def test_in_a_terminal_one_live_panel_and_the_programs_lines_once(tmp_path):
    import pty

    write(tmp_path, "program.py", PROGRAM)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "poolbars", "run", "program.py",
                             "multiprocessing", "spawn"], cwd=tmp_path, env=environment(),
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not chunk:
                break
            screen += chunk
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # drawn live, with cursor moves
    assert text.count("results [20, 40, 60]") == 1 and text.count("a line to stderr") == 1
    assert "main loop" in text and "SpawnPoolWorker-" in text and "program.py" in text
    assert "it/s]" not in text  # tqdm itself drew nothing


def test_forked_children_report_on_connections_of_their_own(tmp_path):
    # the parent is connected (and reporting) when it forks: children sharing its socket
    # would garble the stream; each must open its own
    write(tmp_path, "forks.py", textwrap.dedent("""
        import os, time
        from tqdm import tqdm
        first = tqdm(range(100), desc="parent")
        it = iter(first)
        next(it)
        children = []
        for k in range(3):
            pid = os.fork()
            if pid == 0:
                for _ in tqdm(range(50), desc=f"forked {k}"):
                    time.sleep(0.001)
                os._exit(0)
            children.append(pid)
        for _ in it:
            time.sleep(0.001)
        for pid in children:
            assert os.waitpid(pid, 0)[1] == 0
    """))
    ran = run_pb(tmp_path, "--display", "log", "forks.py")
    assert ran.returncode == 0, ran.stderr
    bars = sorted((desc, n, total) for _, _, desc, n, total in bar_lines(ran.stderr))
    assert bars == [("forked 0", 50, 50), ("forked 1", 50, 50), ("forked 2", 50, 50),
                    ("parent", 100, 100)]
    assert len({pid for _, pid, *_ in bar_lines(ran.stderr)}) == 4


def test_a_module_run_with_m_reports_from_its_spawned_children(tmp_path):
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/program.py", PROGRAM)
    ran = run_pb(tmp_path, "--display", "log", "-m", "pkg.program", "multiprocessing", "spawn")
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout.splitlines()
    main_pid = int(out[0].split()[-1])
    bars = sorted((pid == main_pid, desc, n, total) for _, pid, desc, n, total in
                  bar_lines(ran.stderr))
    assert bars == [(False, "child 10", 10, 10), (False, "child 20", 20, 20),
                    (False, "child 30", 30, 30), (True, "main loop", 30, 30)]
