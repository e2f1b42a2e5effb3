"""JobRunner: a started pool's map calls, run on a real dispatcher and real worker
processes — jobs, settled runs with the callbacks and on_error applied, imap's orders,
submit's future, cancelling, and a job cut short by the pool's close."""

import threading
import time

import pytest

import poolbars as pb
from poolbars.protocol import wire
from poolbars.errors import Failure
from poolbars.results import Results
from poolbars.runner import CLOSED_UNDER_JOB, JobRunner, JobSettings, length_of

pytestmark = pytest.mark.timeout(120)

PLAIN = JobSettings(retries=0, timeout=None, max_in_flight=None, on_success=None,
                    on_failure=None)


def fail_on_three(x):
    if x == 3:
        raise ValueError("three")
    return x * 10


def slow(x):
    time.sleep(0.05 if x else 0.5)  # the first one slower: later ones settle first
    return x


@pytest.fixture
def runner():
    """A runner of its own on a started pool's dispatcher (the pool maps nothing itself,
    so the function ids are this runner's alone)."""
    with pb.Pool(2, display=None) as pool:
        yield JobRunner(pool._running.engine)


def test_collect_gives_map_s_list_with_callbacks_and_the_policy_applied(runner):
    succeeded, failed = [], []
    settings = PLAIN._replace(on_success=lambda i, r, w: succeeded.append((i, r)),
                              on_failure=failed.append)
    results = Results("return")
    out = runner.collect(fail_on_three, range(6), wire.CALL_ITEM, results, settings)
    assert out[:3] == [0, 10, 20] and out[4:] == [40, 50]
    assert isinstance(out[3], Failure) and out[3].index == 3
    assert sorted(succeeded) == [(0, 0), (1, 10), (2, 20), (4, 40), (5, 50)]
    assert [f.index for f in failed] == [3]
    with pytest.raises(ValueError, match="three"):
        runner.collect(fail_on_three, range(6), wire.CALL_ITEM, Results("raise"), PLAIN)


def test_in_order_keeps_input_order_and_unordered_gives_every_result(runner):
    assert list(runner.in_order(slow, range(6), "raise", PLAIN)) == list(range(6))
    assert sorted(runner.unordered(slow, range(6), "raise", PLAIN)) == list(range(6))
    assert list(runner.in_order(fail_on_three, range(5), "skip", PLAIN)) == [0, 10, 20, 40]


def test_a_function_is_sent_once_and_one_that_cannot_be_sent_is_refused(runner):
    assert runner.register(abs) == runner.register(abs)
    pending = (i for i in range(3))  # a generator: dill cannot pickle it
    with pytest.raises(TypeError, match="cannot be sent to the workers"):
        runner.register(lambda x, pending=pending: x)


def test_submit_gives_a_future_and_calls_the_callbacks(runner):
    seen = []
    done = threading.Event()

    def on_success(index, result, worker):
        seen.append((index, result, worker))
        done.set()

    future = runner.submit(divmod, (7, 2), {}, PLAIN._replace(on_success=on_success))
    assert future.result(timeout=30) == (3, 1)
    assert done.wait(10) and seen == [(None, (3, 1), None)]


def test_stopping_early_cancels_the_job(runner):
    job = runner.job(slow, range(50), wire.CALL_ITEM, PLAIN)
    settled = runner.settled(job, Results("raise"), PLAIN)
    next(settled)
    settled.close()
    assert job.withdrawn  # asked to cancel
    for position, values in runner.rest(job):  # what settled before the cancel took effect
        assert values == list(range(position, position + len(values)))
    assert job.ended  # rest() stopped at the job's END


def test_a_job_cancelled_as_the_pool_closes_raises_unless_partial(runner):
    for partial in (False, True):
        job = runner.job(slow, range(20), wire.CALL_ITEM, PLAIN)
        settled = runner.settled(job, Results("raise"), PLAIN, partial=partial)
        next(settled)
        runner.closed = True
        runner.cancel(job)
        if partial:
            list(settled)  # ends short, quietly
        else:
            with pytest.raises(RuntimeError, match="the pool closed before this map"):
                list(settled)
        runner.closed = False
    assert "inside the pool's `with` block" in CLOSED_UNDER_JOB


def test_length_of_is_a_hint():
    assert length_of([1, 2]) == 2
    assert length_of(x for x in []) is None
