"""The journal: resume after a failure or a killed parent, refuse a foreign journal."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import poolbars as pb

pytestmark = pytest.mark.timeout(120)


def flaky_seven(x, ok_marker):
    if x == 7 and not os.path.exists(ok_marker):
        raise ValueError("seven")
    return x * 10


def test_a_rerun_skips_finished_items_and_returns_their_stored_results(tmp_path):
    journal, ok = tmp_path / "run.jsonl", str(tmp_path / "ok")
    ran = tmp_path / "ran"
    ran.mkdir()

    def work(x):
        (ran / str(x)).touch()
        return flaky_seven(x, ok)

    with pb.Pool(2, display=None, journal=journal, on_error="return") as pool:
        first = pool.map(work, range(20))
    assert isinstance(first[7], pb.Failure)
    for f in ran.iterdir():
        f.unlink()
    open(ok, "w").close()
    with pb.Pool(2, display=None, journal=journal) as pool:
        second = pool.map(work, range(20))
    assert second == [x * 10 for x in range(20)]
    assert sorted(int(f.name) for f in ran.iterdir()) == [7]  # only the failed item ran
    assert pool.snapshot()["overall"]["done"] == 20 and pool.stats.done == 20
    # the run record names the item by its place in the whole input, not in the re-run
    (task,) = pool.report().tasks
    assert (task.index, task.status, task.label) == (7, "done", "7")


def test_a_journal_from_another_function_is_refused_unless_forced(tmp_path):
    journal = tmp_path / "j"
    journal.mkdir()  # a directory holds journal.jsonl
    with pb.Pool(1, display=None, journal=journal) as pool:
        pool.map(abs, [-1, -2])
    with pytest.raises(ValueError, match="different function or input.*resume='force'"):
        with pb.Pool(1, display=None, journal=journal) as pool:
            pool.map(lambda x: x, [-1, -2])
    with pb.Pool(1, display=None, journal=journal, resume="force") as pool:
        assert pool.map(lambda x: x, [-1, -2]) == [1, 2]  # the stored results
    with pb.Pool(1, display=None, journal=journal, resume=False) as pool:
        assert pool.map(lambda x: x, [-1, -2]) == [-1, -2]  # started afresh


KILLED = textwrap.dedent("""
    import sys, time
    import poolbars as pb

    def slow(x):
        time.sleep(0.05)
        return x * x

    if __name__ == "__main__":
        with pb.Pool(2, display=None, journal=sys.argv[1],
                     on_success=lambda i, r, w: print(i, time.time(), flush=True)) as pool:
            pool.map(slow, range(400))
""")


def test_a_killed_parent_loses_at_most_the_last_batch(tmp_path):
    script, journal = tmp_path / "killed.py", tmp_path / "run.jsonl"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(journal)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    reported = []
    while len(reported) < 60:
        index, when = proc.stdout.readline().split()
        reported.append((int(index), float(when)))
    killed_at = time.time()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with open(journal) as f:
        written = {json.loads(line)["i"] for line in f if '"i"' in line}
    settled_before = {i for i, when in reported if when < killed_at - 0.6}
    assert settled_before <= written  # older than one fsync batch: kept
    rerun = subprocess.run([sys.executable, str(script), str(journal)], capture_output=True,
                           text=True, timeout=60)
    assert rerun.returncode == 0
    ran_again = {int(line.split()[0]) for line in rerun.stdout.splitlines()}
    assert ran_again == set(range(400)) - written  # only what the journal did not have
    with open(journal) as f:
        assert len({json.loads(line)["i"] for line in f if '"i"' in line}) == 400
