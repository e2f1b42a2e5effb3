"""The journal: resume after a failure or a killed parent, refuse a foreign journal."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import poolbars as pb
from poolbars.protocol import wire

pytestmark = pytest.mark.timeout(120)


def flaky_seven(x, ok_marker):
    if x == 7 and not os.path.exists(ok_marker):
        raise ValueError("seven")
    return x * 10


def square(x):
    return x * x


def _flaky(tmp_path):
    """(work, heal, ran): `work` fails on 7 until `heal()`; `ran()` lists the items run
    since it was last asked."""
    ok, ran = tmp_path / "ok", tmp_path / "ran"
    ran.mkdir()

    def work(x):
        (ran / str(x)).touch()
        return flaky_seven(x, str(ok))

    def taken():
        items = sorted(int(f.name) for f in ran.iterdir())
        for f in ran.iterdir():
            f.unlink()
        return items

    return work, ok.touch, taken


def test_a_rerun_skips_finished_items_and_returns_their_stored_results(tmp_path):
    journal = tmp_path / "run.jsonl"
    work, heal, ran = _flaky(tmp_path)
    with pb.Pool(2, display=None, journal=journal, on_error="return") as pool:
        first = pool.map(work, range(20))
    assert isinstance(first[7], pb.Failure)
    ran()
    heal()
    with pb.Pool(2, display=None, journal=journal) as pool:
        second = pool.map(work, range(20))
    assert second == [x * 10 for x in range(20)]
    assert ran() == [7]  # only the failed item ran
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
    with open(journal) as f:  # a line the kill tore (no newline yet) is not written
        written = {json.loads(line)["i"] for line in f if '"i"' in line and line[-1] == "\n"}
    settled_before = {i for i, when in reported if when < killed_at - 0.6}
    assert settled_before <= written  # older than one fsync batch: kept
    rerun = subprocess.run([sys.executable, str(script), str(journal)], capture_output=True,
                           text=True, timeout=60)
    assert rerun.returncode == 0
    ran_again = {int(line.split()[0]) for line in rerun.stdout.splitlines()}
    assert ran_again == set(range(400)) - written  # only what the journal did not have
    with open(journal) as f:
        assert len({json.loads(line)["i"] for line in f if '"i"' in line}) == 400


RESUMED = textwrap.dedent("""
    import json, sys, tempfile
    import poolbars as pb

    COLOURS = {"red", "green", "blue", "cyan", "magenta", "yellow"}  # its order follows the seed
    WEIGHTS = dict.fromkeys(COLOURS, 1)  # and so does this dict's


    class Palette:  # a class of __main__: it goes by value, with the function
        def __init__(self, names):
            self.names = set(names)

        def warm(self):
            return sorted(self.names & {"red", "yellow", "magenta"})


    def tally():
        tempfile.mkstemp(dir=CALLS)


    def scorer(bonus):
        palette = Palette(COLOURS)

        def score(item):  # a closure over an object that holds a set
            tally()
            name, colours = item
            colours = colours() if callable(colours) else colours
            return [name, sorted(set(colours) & COLOURS), palette.warm(),
                    sum(WEIGHTS.get(c, 0) for c in colours) + bonus]
        return score


    if __name__ == "__main__":
        JOURNAL, CALLS = sys.argv[1], sys.argv[2]
        items = [("set", {"red", "blue", "teal"}), ("frozen", frozenset({"green", "cyan"})),
                 ("dict", dict.fromkeys({"blue", "cyan", "olive"}, 0)),
                 ("nested", {"k": {"red", "yellow"}, "j": 1}),
                 ("lambda", lambda: {"magenta", "red"})]  # pickle refuses it: dill takes it
        with pb.Pool(2, display=None, journal=JOURNAL) as pool:
            first = pool.map(lambda item: [item[0], len(COLOURS), tally()], items)
            second = pool.map(scorer(10), items)
        print(json.dumps([first, second]))
""")


@pytest.mark.timeout(180)
def test_an_unchanged_script_resumes_whatever_the_hash_seed_and_its_path(tmp_path):
    journal, calls = tmp_path / "run.jsonl", tmp_path / "calls"
    calls.mkdir()
    outputs, counts = [], []
    for run, seed in enumerate(["1", "2", "3"]):
        # a notebook's cells are compiled from a file in a folder named after its kernel
        script = tmp_path / f"kernel_{run}" / "cell.py"
        script.parent.mkdir()
        script.write_text(RESUMED)
        done = subprocess.run([sys.executable, str(script), str(journal), str(calls)],
                              env={**os.environ, "PYTHONHASHSEED": seed},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
        counts.append(len(list(calls.iterdir())))
    assert counts == [10, 10, 10]  # the re-runs restored everything: no call ran again
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_map_that_raises_keeps_every_item_that_finished_also_in_the_failing_chunk(tmp_path):
    journal = tmp_path / "run.jsonl"
    work, heal, ran = _flaky(tmp_path)
    # one worker, chunks of five: item 7 fails in the chunk 5..9, whose other items finish
    with pytest.raises(ValueError, match="seven"):
        with pb.Pool(1, display=None, journal=journal, chunksize=5) as pool:
            pool.map(work, range(10))
    assert ran() == list(range(10))
    heal()
    with pb.Pool(1, display=None, journal=journal, chunksize=5) as pool:
        assert pool.map(work, range(10)) == [x * 10 for x in range(10)]
    assert ran() == [7]  # only the failed item ran


def _rerun(journal, items, resume=True):
    """map(square, items) on the journal: (results, positions that ran, stats)."""
    ran = []
    with pb.Pool(1, display=None, journal=journal, resume=resume,
                 on_success=lambda i, r, w: ran.append(i)) as pool:
        results = pool.map(square, items)
    return results, sorted(ran), (pool.stats.total, pool.stats.done)


def test_a_change_to_any_item_of_the_input_is_refused(tmp_path):
    journal = tmp_path / "run.jsonl"
    items = list(range(10_000))
    assert _rerun(journal, items)[0] == [x * x for x in items]
    items[5000] = -1  # far past the first thousand
    refused = r"different function or input for map #1.*item 5000.*resume='force'"
    with pytest.raises(ValueError, match=refused):
        _rerun(journal, items)
    # a generator is checked the same way, item by item as it is read
    generated = tmp_path / "generated.jsonl"
    assert _rerun(generated, (x for x in range(3000)))[1] == list(range(3000))
    with pytest.raises(ValueError, match=r"item 2500"):
        _rerun(generated, (-1 if x == 2500 else x for x in range(3000)))
    assert _rerun(generated, (x for x in range(3000)))[1] == []  # the journal is intact
    # resume=False starts afresh; resume="force" takes each record at its position
    assert _rerun(journal, items, resume="force")[0][5000] == 5000 * 5000
    assert _rerun(journal, items, resume=False) == ([x * x for x in items], list(range(10_000)),
                                                    (10_000, 10_000))


def test_records_that_do_not_fit_the_input_never_add_or_shift_results(tmp_path):
    journal = tmp_path / "run.jsonl"
    assert _rerun(journal, range(10))[1] == list(range(10))
    # under force, a shorter input takes the records of its own positions only
    assert _rerun(journal, range(6), "force") == ([x * x for x in range(6)], [], (6, 6))
    assert _rerun(journal, (x for x in range(4)), "force") == ([0, 1, 4, 9], [], (4, 4))
    # and a longer one runs what the journal lacks
    assert _rerun(journal, range(13), "force") == ([x * x for x in range(13)], [10, 11, 12],
                                                   (13, 13))
    with open(journal, "a") as f:  # records at positions this input does not have
        for position in (13, 40):
            blob = base64.b64encode(wire.dumps(-1)).decode()
            f.write(json.dumps({"map": 1, "i": position, "h": "0", "r": blob}) + "\n")
    assert _rerun(journal, range(13)) == ([x * x for x in range(13)], [], (13, 13))


def test_a_torn_last_line_is_left_out_with_a_warning_and_never_glued_to_the_next(tmp_path):
    journal = tmp_path / "run.jsonl"
    _rerun(journal, range(6))
    lines = journal.read_text().splitlines(keepends=True)  # a header, then one line per item
    torn = json.loads(lines[-1])["i"]
    journal.write_text("".join(lines[:-1]) + lines[-1][:25])  # the parent died writing it
    warning = rf"{re.escape(str(journal))}, line 7.*torn"
    with pytest.warns(RuntimeWarning, match=warning):
        assert _rerun(journal, range(6))[:2] == ([x * x for x in range(6)], [torn])
    # a third run reads every record back (no warning: warnings of poolbars are errors here)
    assert _rerun(journal, range(6))[:2] == ([x * x for x in range(6)], [])
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(r["i"] for r in records if "i" in r) == list(range(6))


@pytest.mark.parametrize("damage", ["garbage\n", '{"map": 1, "i": -4, "r": 7}\n'])
def test_a_damaged_line_inside_the_journal_is_an_error_naming_file_and_line(tmp_path, damage):
    journal = tmp_path / "run.jsonl"
    _rerun(journal, range(6))
    lines = journal.read_text().splitlines(keepends=True)
    lines[2] = damage
    journal.write_text("".join(lines))
    with pytest.raises(ValueError, match=rf"{re.escape(str(journal))}, line 3: .*resume=False"):
        _rerun(journal, range(6))


def _overall(pool):
    overall = pool.snapshot()["overall"]
    return overall["done"], overall["failed"], overall["pending"], overall["total"]


@pytest.mark.parametrize("given", [list, iter], ids=["sized", "generator"])
def test_a_resumed_run_counts_the_restored_items_in_the_panels_total(tmp_path, given):
    journal = tmp_path / "run.jsonl"
    work, heal, ran = _flaky(tmp_path)
    with pb.Pool(2, display=None, journal=journal, on_error="return") as pool:
        pool.map(work, given(range(12)))
    assert _overall(pool) == (11, 1, 0, 12)
    with pytest.raises(ValueError, match="seven"):  # a resume that fails again
        with pb.Pool(2, display=None, journal=journal) as pool:
            pool.map(work, given(range(12)))
    assert _overall(pool) == (11, 1, 0, 12)  # the 11 restored are done
    heal()
    with pb.Pool(2, display=None, journal=journal) as pool:
        assert pool.map(work, given(range(12))) == [x * 10 for x in range(12)]
    assert _overall(pool) == (12, 0, 0, 12)
    assert (pool.stats.total, pool.stats.done) == (12, 12)
