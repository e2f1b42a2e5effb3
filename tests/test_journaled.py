"""journaled_map: a map call read through a real journal file and run by a JobRunner on
real workers — what the journal holds is restored, the rest runs and is written down,
also when the map raises."""

import time

import pytest

import poolbars as pb
from poolbars.protocol import wire
from poolbars.errors import Failure
from poolbars.record.journal import Journal, JournaledInput
from poolbars.record.journaled import journaled_map, put_down
from poolbars.results import Results
from poolbars.runner import JobRunner, JobSettings

pytestmark = pytest.mark.timeout(120)

PLAIN = JobSettings(retries=0, timeout=None, max_in_flight=None, on_success=None,
                    on_failure=None)


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise ValueError("three")
    time.sleep(0.01)
    return x * x


def run(tmp_path, fn, items, policy="return", number=1, ran=None):
    """One journaled map call on a fresh pool; (results, items it ran, sorted)."""
    ran = [] if ran is None else ran  # the indices that finished well, as they do
    settings = PLAIN._replace(on_success=lambda index, result, worker: ran.append(index))
    with pb.Pool(2, display=None) as pool:
        journal = Journal(tmp_path / "j.jsonl")
        try:
            results = Results("return" if policy == "raise" else policy)
            out = journaled_map(JobRunner(pool._running.engine), journal, number, fn, items,
                                wire.CALL_ITEM, results, policy, settings)
        finally:
            journal.close()
    return out, sorted(ran)


def test_a_second_run_restores_every_item_and_runs_none(tmp_path):
    assert run(tmp_path, square, range(8)) == ([x * x for x in range(8)], list(range(8)))
    assert run(tmp_path, square, range(8)) == ([x * x for x in range(8)], [])


def test_a_failed_item_is_not_written_down_and_runs_again(tmp_path):
    out, ran = run(tmp_path, fail_on_three, range(6))
    assert isinstance(out[3], Failure) and ran == [0, 1, 2, 4, 5]
    out, ran = run(tmp_path, fail_on_three, range(6))
    assert isinstance(out[3], Failure) and ran == []  # only item 3 ran, and failed again


def test_under_raise_what_finished_is_written_down_before_the_failure_is_raised(tmp_path):
    first: list = []
    with pytest.raises(ValueError, match="three"):
        run(tmp_path, fail_on_three, range(6), policy="raise", ran=first)
    out, again = run(tmp_path, fail_on_three, range(6))
    assert first and not set(first) & set(again)  # what finished first is never run again
    assert out[:3] == [0, 1, 4] and out[4:] == [16, 25]


def test_put_down_places_a_run_in_the_whole_input_and_records_only_good_items(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    results = Results("return")
    stored = journal.begin(1, "print")
    source = JournaledInput(journal, 1, stored, ["a", "b", "c"], lambda count: None,
                            results.runs)
    assert list(source) == ["a", "b", "c"]  # nothing stored: every item goes to the job
    failure = Failure(1, "'b'", "error", "ValueError", "bad", "", 1)
    assert put_down(source, results, 1, [failure, "C"]) is failure
    assert results.runs == {1: [failure], 2: ["C"]}
    journal.close()
    assert set(Journal(tmp_path / "j.jsonl").maps[1]["done"]) == {2}  # only "C" recorded
