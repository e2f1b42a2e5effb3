"""Many faults at once, drawn from a seeded plan: whatever the mix, every item ends in
exactly one state, results stay in place, and the panel agrees with the pool."""

import os
import random
import signal
import time

import pytest

import poolbars as pb

pytestmark = pytest.mark.timeout(180)

FAULTS = ["error", "exit", "sigkill", "crash once", "past the timeout"]


def task(x, plan, stamps):
    fault = plan.get(x)
    if fault == "error":
        raise ValueError(f"bad {x}")
    if fault == "exit":
        os._exit(3)
    if fault == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "crash once":
        stamp = os.path.join(stamps, str(x))
        if not os.path.exists(stamp):
            open(stamp, "w").close()
            os._exit(1)
    if fault == "past the timeout":
        time.sleep(5)
    return x


# between them: every fault; retries or not; chunks fixed or adaptive
@pytest.mark.parametrize("seed", [1, 2, 4, 5])
def test_a_random_mix_of_faults_leaves_every_item_accounted_for(seed, tmp_path):
    rnd = random.Random(seed)
    n = rnd.choice([40, 120])
    plan = {x: rnd.choice(FAULTS) for x in rnd.sample(range(n), n // 12)}
    retries, chunksize = rnd.choice([0, 1]), rnd.choice([None, 1, 4])
    with pb.Pool(rnd.choice([1, 2, 3]), display=None, retries=retries, timeout=1.0,
                 on_error="return", chunksize=chunksize) as pool:
        results = pool.starmap(task, [(x, plan, str(tmp_path)) for x in range(n)])
    s = pool.stats
    assert s.done + s.failed + s.timed_out + s.crashed == s.total == n and s.cancelled == 0
    assert s.failed == sum(1 for fault in plan.values() if fault == "error")
    assert s.timed_out == sum(1 for fault in plan.values() if fault == "past the timeout")
    for x, result in enumerate(results):  # in place; only a planned fault fails an item
        if isinstance(result, pb.Failure):
            assert result.index == x and x in plan
        else:
            assert result == x
    failed = {x for x, r in enumerate(results) if isinstance(r, pb.Failure)}
    assert sorted(f.index for f in pool.failures) == sorted(failed)
    overall = pool.snapshot()["overall"]
    assert (overall["done"], overall["failed"], overall["timed_out"], overall["crashed"]) == (
        s.done, s.failed, s.timed_out, s.crashed)
