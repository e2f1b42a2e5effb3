"""External commands: real subprocesses speaking the PROGRESS/TOTAL/STATUS/MESSAGE protocol."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

import poolbars as pb

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "protocol_worker.py")
pytestmark = pytest.mark.timeout(120)


def test_commands_drive_their_bars_and_exit_codes_decide():
    with pb.Pool(2, display=None) as pool:
        results = pool.run_commands([
            [sys.executable, EXAMPLE, "--name", "a", "--steps", "30"],
            [sys.executable, EXAMPLE, "--name", "b", "--steps", "30", "--fail"],
            f"{sys.executable} {EXAMPLE} --name c --steps 10",
        ])
    ok, failed, shell = results
    assert ok.exit_code == 0 and ok.ok and ok.duration > 0 and ok.malformed == 0
    assert ok.log_tail == ["log: a wrote batch 1", "log: a wrote batch 2", "log: a wrote batch 3"]
    assert failed.exit_code == 3 and not failed.ok and failed.malformed == 1
    assert failed.log_tail[-1] == "error: b lost its connection at step 15"
    assert shell.exit_code == 0
    (failure,) = pool.failures
    assert failure.exc_type == "CommandFailed" and "exit code 3" in failure.message
    assert "lost its connection" in failure.traceback  # the log tail, shown on its row
    state = pool.state
    assert state.bar_units == 30 + 15 + 10  # PROGRESS lines drove the bars
    assert state.snapshot()["overall"]["failed"] == 1


def test_a_command_past_its_timeout_is_killed_with_its_process_group(tmp_path):
    marker = tmp_path / "still-here"
    script = f"sleep 31.25; touch {marker}"
    with pb.Pool(1, display=None) as pool:
        started = time.time()
        (result,) = pool.run_commands([script], timeout=1)
    assert time.time() - started < 10
    assert result.exit_code is None and result.error.startswith("timeout")
    alive = subprocess.run(["pgrep", "-f", "sleep 31.25"], capture_output=True, text=True)
    assert alive.stdout.strip() == ""


def test_retries_and_malformed_lines_never_crash_the_run(tmp_path):
    counter = tmp_path / "count"
    flaky = (f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; "
             "echo 'PROGRESS: lots'; echo 'TOTAL:'; echo 'STATUS:'; "
             "[ $n -ge 1 ] && echo 'PROGRESS: 5' && exit 0; exit 1")
    with pb.Pool(1, display=None) as pool:
        (result,) = pool.run_commands([flaky], retries=2)
    assert result.exit_code == 0 and result.malformed == 3  # "lots", empty TOTAL, empty STATUS
    assert pool.stats.retried == 1


def test_bad_commands_are_explained():
    with pb.Pool(1, display=None) as pool:
        with pytest.raises(TypeError, match="argv list"):
            pool.run_commands([["python", 3]])
        with pytest.raises(ValueError, match="timeout=0"):
            pool.run_commands(["true"], timeout=0)
