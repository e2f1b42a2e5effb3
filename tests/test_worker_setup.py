"""Worker setup and teardown (the GPU case): a worker whose initializer or
`Worker.setup` fails is retired and the map finishes on the others; a pool none of
whose workers can start raises the setup's own error and leaves nothing behind; a
failing teardown is reported; `timeout=` never counts start-up or setup."""

import time

import pytest

import poolbars as pb
from procs import children, poolbars_threads

pytestmark = pytest.mark.timeout(120)

GPUS = [{"gpu": 0}, {"gpu": 1}, {"gpu": 2}]


class NoSuchGPU(RuntimeError):
    """What a setup raises for a device it cannot use."""


class Model(pb.Worker):
    def setup(self, gpu):
        if gpu == 1:
            raise NoSuchGPU(f"gpu {gpu} is out of memory")
        self.gpu = gpu

    def process(self, item):
        time.sleep(0.01)
        return (item, pb.worker_id(), self.gpu)


def pick_gpu(gpu):
    if gpu == 1:
        raise NoSuchGPU(f"gpu {gpu} is out of memory")
    pb.worker_state()["gpu"] = gpu


def on_gpu(item):
    time.sleep(0.01)
    return (item, pb.worker_id(), pb.worker_state()["gpu"])


def run_on_three_gpus(form, display=None):
    if form == "class":
        with pb.Pool(3, display=display, worker_args=GPUS) as pool:
            return pool, pool.map(Model, range(30))
    with pb.Pool(3, display=display, worker_args=GPUS, initializer=pick_gpu) as pool:
        return pool, pool.map(on_gpu, range(30))


@pytest.mark.parametrize("form", ["class", "initializer"])
def test_a_worker_whose_setup_fails_is_retired_and_the_others_finish_the_map(form):
    pool, out = run_on_three_gpus(form)
    assert [o[0] for o in out] == list(range(30))
    assert {o[1] for o in out} <= {0, 2} and {o[2] for o in out} <= {0, 2}  # never worker 1
    s = pool.stats
    assert s.total == s.done == 30 and s.failed == s.crashed == s.cancelled == 0
    [failure] = pool.failures
    assert (failure.kind, failure.index, failure.worker) == ("setup", None, 1)
    assert failure.exc_type == "NoSuchGPU" and "gpu 1 is out of memory" in failure.message
    assert "NoSuchGPU" in failure.traceback and "gpu 1" in failure.traceback
    lane = next(lane for lane in pool.snapshot()["lanes"] if lane["key"] == "1")
    assert lane["state"] == "setup failed" and "gpu 1 is out of memory" in lane["message"]
    [row] = pool.snapshot()["failures"]
    assert (row["kind"], row["index"], row["worker"]) == ("setup", None, "worker 1")
    report = pool.report()
    [record] = report.workers
    assert (record.kind, record.worker, record.exc_type) == ("setup", 1, "NoSuchGPU")
    assert "gpu 1 is out of memory" in record.message and record.traceback
    assert len(report.tasks) == 30 and {t.status for t in report.tasks} == {"done"}
    assert report.to_dict()["workers"][0]["kind"] == "setup"


@pytest.mark.parametrize("form", ["class", "initializer"])
def test_the_log_view_shows_a_setup_failure_once(form, capsys):
    run_on_three_gpus(form, display="log")
    err = capsys.readouterr().err
    assert err.count("✗ setup") == 1, err
    assert "could not be set up" not in err and "✗ error" not in err, err


class Unusable(pb.Worker):
    def setup(self, gpu):
        raise NoSuchGPU(f"gpu {gpu} is out of memory")

    def process(self, item):
        return item


def no_gpu(gpu):
    raise NoSuchGPU(f"gpu {gpu} is out of memory")


@pytest.mark.parametrize("form", ["class", "initializer"])
def test_a_pool_none_of_whose_workers_can_start_raises_the_setup_error(form):
    before = children()
    options = {"initializer": no_gpu} if form == "initializer" else {}
    fn = Unusable if form == "class" else abs
    with pytest.raises(NoSuchGPU, match="out of memory") as caught:
        with pb.Pool(2, display=None, worker_args=GPUS[:2], **options) as pool:
            pool.map(fn, range(10))
    assert isinstance(caught.value, pb.TaskFailed) and caught.value.kind == "setup"
    assert "NoSuchGPU" in caught.value.traceback
    assert [f.kind for f in pool.failures] == ["setup", "setup"]
    assert pool.stats.done == 0
    time.sleep(0.2)
    assert children() == before and not poolbars_threads()
    with pb.Pool(2, display=None) as pool:  # the next pool works
        assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]


class Leaky(pb.Worker):
    def process(self, item):
        return item

    def teardown(self):
        raise OSError("could not release the device")


def test_a_teardown_that_raises_is_reported_with_a_warning_and_a_record():
    with pytest.warns(RuntimeWarning, match=r"worker \d.*teardown.*OSError: could not "
                                            "release the device"):
        with pb.Pool(2, display=None) as pool:
            assert pool.map(Leaky, range(6)) == list(range(6))
    records = pool.report().workers
    assert {r.kind for r in records} == {"teardown"} and len(records) >= 1
    assert all(r.exc_type == "OSError" and "release the device" in r.message
               and "teardown" in r.traceback for r in records)
    assert pool.stats.done == 6 and pool.failures == []


class SlowSetup(pb.Worker):
    def setup(self):
        time.sleep(1.5)

    def process(self, item):
        return item * 2


def slow_init():
    time.sleep(1.5)


@pytest.mark.parametrize("form", ["class", "initializer"])
def test_timeout_counts_the_task_only_not_a_slow_setup(form):
    options = {"initializer": slow_init} if form == "initializer" else {}
    fn = SlowSetup if form == "class" else (lambda x: x * 2)
    with pb.Pool(2, display=None, timeout=0.5, **options) as pool:
        assert pool.map(fn, range(8)) == [x * 2 for x in range(8)]
    assert pool.stats.timed_out == 0 and pool.failures == []


class Hangs(pb.Worker):
    def setup(self):
        time.sleep(3600)

    def process(self, item):
        return item


def hang():
    time.sleep(3600)


@pytest.mark.parametrize("form", ["class", "initializer"])
def test_a_setup_that_hangs_fails_the_pool_within_its_allowance(form):
    before = children()
    options = {"initializer": hang} if form == "initializer" else {}
    fn = Hangs if form == "class" else abs
    began = time.monotonic()
    with pytest.raises(pb.TaskFailed, match="setup_timeout") as caught:
        with pb.Pool(2, display=None, timeout=0.5, setup_timeout=2, **options) as pool:
            pool.map(fn, range(4))
    took = time.monotonic() - began
    assert isinstance(caught.value, pb.TaskTimeout) and caught.value.kind == "setup"
    assert took < 20, took
    time.sleep(0.2)
    assert children() == before and not poolbars_threads()


def test_a_worker_retired_after_max_tasks_per_child_reports_its_teardown_too():
    with pytest.warns(RuntimeWarning, match="teardown"):
        with pb.Pool(1, display=None, max_tasks_per_child=2, chunksize=1) as pool:
            assert pool.map(Leaky, range(6)) == list(range(6))
    records = pool.report().workers
    assert [r.kind for r in records] == ["teardown"] * 3  # one per worker process


SLOW_MODULE = '''
import time
time.sleep(1.5)  # a heavy import (torch, a model registry, ...)


def double(x):
    return x * 2
'''


def test_timeout_does_not_count_the_import_of_the_tasks_module(tmp_path, monkeypatch):
    (tmp_path / "slow_to_import_module.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))  # before the pool: its workers get it too
    from slow_to_import_module import double

    with pb.Pool(2, display=None, timeout=0.5) as pool:
        assert pool.map(double, range(8)) == [x * 2 for x in range(8)]
    assert pool.stats.timed_out == 0 and pool.failures == []


def test_without_setup_timeout_the_allowance_comes_from_timeout(monkeypatch):
    from poolbars.engine import watch

    monkeypatch.setattr(watch, "SETUP_MIN_SECONDS", 2.0)  # the real floor is 10 s
    began = time.monotonic()
    with pytest.raises(pb.TaskTimeout, match=r"within 3 s \(setup_timeout\)"):
        with pb.Pool(1, display=None, timeout=0.3) as pool:  # 10 × 0.3 s = 3 s
            pool.map(Hangs, range(2))
    assert time.monotonic() - began < 20
    with pb.Pool(1, display=None) as pool:  # no timeout: no limit, and nothing hangs here
        assert pool.map(SlowSetup, [1]) == [2]


def slow_start(folder, seconds):
    import os
    with open(os.path.join(folder, f"{os.getpid()}.started"), "w"):
        pass
    time.sleep(seconds)
    with open(os.path.join(folder, f"{os.getpid()}.ready"), "w"):
        pass


def test_a_worker_still_starting_when_the_pool_closes_is_stopped_not_waited_for(tmp_path):
    """It has run nothing: closing a quick pool does not wait for its start-up (a pool
    that keeps a worker busy starting, here its initializer, ends it where it is)."""
    before = children()
    with pb.Pool(1, display=None, initializer=slow_start, initargs=(str(tmp_path), 0.5)):
        deadline = time.time() + 30
        while not list(tmp_path.glob("*.started")) and time.time() < deadline:
            time.sleep(0.01)
    time.sleep(1.0)  # longer than the initializer would have taken
    assert [p.suffix for p in tmp_path.iterdir()] == [".started"]
    assert children() == before and not poolbars_threads()
