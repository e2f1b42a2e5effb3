"""Pools on a real Dask LocalCluster with worker processes on loopback."""

import os
import signal
import threading
import time

import distributed  # in the test extra; for users: pip install "poolbars[dask]"
import pytest

import poolbars as pb

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def with_bar(x):
    for _ in pb.track(range(20), desc=f"item {x}"):
        time.sleep(0.002)
    pb.message("done with it")
    if x == 5:
        raise ValueError("five is bad")
    return x * 2


def test_map_imap_and_imap_unordered_run_on_the_cluster_with_inner_bars(client):
    with pb.Pool(cluster=client, display=None, on_error="return") as pool:
        results = pool.map(with_bar, range(12))
        assert list(pool.imap(abs, [-3, -2, -1])) == [3, 2, 1]
        assert sorted(pool.imap_unordered(abs, [-5, -4])) == [4, 5]
    assert [r for i, r in enumerate(results) if i != 5] == [x * 2 for x in range(12) if x != 5]
    assert isinstance(results[5], pb.Failure) and results[5].exc_type == "ValueError"
    assert "five is bad" in results[5].traceback
    assert pool.state.bars_finished == 12 and pool.state.bar_units == 12 * 20
    snap = pool.snapshot()
    assert [lane["name"] for lane in snap["lanes"]] == ["worker 0", "worker 1"]  # one per Dask worker
    assert sum(lane["done"] for lane in snap["lanes"]) == 11 + 3 + 2
    s = pool.stats
    assert (s.total, s.done, s.failed) == (17, 16, 1)


def slow(x):
    time.sleep(0.2)
    return (x, os.getpid())


def test_a_dask_worker_killed_mid_run_loses_nothing(client):
    pids = list(client.run(os.getpid).values())

    def kill_one():
        time.sleep(0.8)
        os.kill(pids[0], signal.SIGKILL)

    threading.Thread(target=kill_one, daemon=True).start()
    with pb.Pool(cluster=client, display=None) as pool:
        results = pool.map(slow, range(20))
    assert [r[0] for r in results] == list(range(20))
    assert pool.stats.done == 20 and not pool.failures
    client.wait_for_workers(2, timeout=60)  # the nanny brings it back for the next test


def test_local_only_options_are_refused_with_a_cluster(client):
    with pytest.raises(ValueError, match="timeout cannot be used with cluster="):
        pb.Pool(cluster=client, timeout=5)
    with pytest.raises(TypeError, match="distributed.Client"):
        pb.Pool(cluster="tcp://127.0.0.1:8786")


def test_a_job_and_its_cancel_sent_back_to_back_are_handled_in_that_order(client):
    """The engine waits on its request queue without putting requests back: a cancel
    right behind its job never runs first (which would leave the job counted forever)."""
    from poolbars.protocol import wire
    from poolbars.engine.backend import EngineOptions
    from poolbars.engine.book import END, Job
    from poolbars.engine.loop import Engine
    from poolbars.panel.session import Session

    session = Session(display=None, serve=True)
    try:
        engine = Engine(EngineOptions(processes=2, cluster=client), session.post,
                        session.channel.address, session.channel.authkey)
        engine.add_function(0, wire.dill_dumps(abs))
        engine.start()
        jobs = []
        for _ in range(20):
            time.sleep(0.06)  # the engine waits on the queue again (its POLL is 0.05 s)
            job = Job(0, wire.CALL_ITEM, range(10), 10, None)
            engine.submit(job)
            engine.cancel(job)
            jobs.append(job)
        for job in jobs:
            outcome = None
            while outcome != END:
                outcome = job.outcomes.get(timeout=30)
        engine.stop("done")
    finally:
        session.close()
    s = engine.stats
    assert engine.error is None and s.total == 20 * 10
    assert s.done + s.failed + s.crashed + s.cancelled == s.total and s.cancelled > 0


def test_a_dask_worker_that_joins_mid_pool_gets_a_worker_lane():
    # an adaptive cluster grows while the pool is open: the new worker's lane is a worker's
    # lane like the others (numbered, counted in the folded line), not a bar's
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        with pb.Pool(cluster=client, display=None, chunksize=1) as pool:
            assert pool.map(abs, range(4)) == [0, 1, 2, 3]
            cluster.scale(2)
            client.wait_for_workers(2, timeout=60)
            time.sleep(1.1)  # the pool asks the scheduler for new workers once a second
            results = pool.map(sleep_then_square, range(24))
        snapshot = pool.snapshot()
    assert results == [x * x for x in range(24)]
    lanes = snapshot["lanes"]
    assert sorted(lane["key"] for lane in lanes) == ["0", "1"], lanes
    assert sum(lane["done"] for lane in lanes) == 28, lanes
    assert all(lane["done"] > 0 for lane in lanes), lanes  # the new worker ran items too
    from poolbars.views import text
    assert text.lanes_summary(snapshot) == "2 workers · 28 done"


def sleep_then_square(x):
    time.sleep(0.05)
    return x * x
