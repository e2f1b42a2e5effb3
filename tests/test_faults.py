"""Faults the pool must survive: dead workers, timeouts, retries, interrupts, endless
input, bad input, leaks. Each test is bounded by a timeout so a regression fails fast."""

import ctypes
import json
import operator
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import poolbars as pb
from procs import children

pytestmark = pytest.mark.timeout(90)


def crash(how, x, stamp_dir):
    if x == 2:
        with open(os.path.join(stamp_dir, "crashed-at"), "w") as f:
            f.write(repr(time.time()))
        if how == "exit":
            os._exit(1)
        if how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "segfault":
            ctypes.string_at(0)
    return (x, os.getpid())


@pytest.mark.parametrize("how, expect", [("exit", "exited with code 1"),
                                         ("sigkill", "SIGKILL"), ("segfault", "SIGSEGV")])
def test_a_dying_worker_is_detected_reported_replaced_and_the_map_goes_on(tmp_path, how, expect):
    seen = []
    with pb.Pool(2, display=None, on_error="return",
                 on_failure=lambda f: seen.append((time.time(), f))) as pool:
        results = pool.map(lambda x: crash(how, x, str(tmp_path)), range(12))
    crashed_at = float((tmp_path / "crashed-at").read_text())
    (detected, failure), = seen
    assert detected - crashed_at < 1.0
    assert failure.kind == "crashed" and failure.index == 2 and failure.item == "2"
    assert expect in failure.message and "while running it" in failure.message
    if how == "sigkill":
        assert "out-of-memory" in failure.message
    assert isinstance(results[2], pb.Failure)
    assert [r[0] for i, r in enumerate(results) if i != 2] == [i for i in range(12) if i != 2]
    pids = {r[1] for i, r in enumerate(results) if i != 2}
    assert len(pids) >= 2  # a replacement worker ran the rest
    s = pool.stats
    assert (s.done, s.crashed, s.total) == (11, 1, 12)
    snap = pool.snapshot()
    assert snap["overall"]["crashed"] == 1 and snap["failures"][0]["kind"] == "crashed"


def crash_once(x, stamp_dir):
    marker = os.path.join(stamp_dir, f"once-{x}")
    if x == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(3)
    return x * 10


@pytest.mark.parametrize("chunksize", [None, 4])
def test_a_crashed_item_is_retried_when_retries_allow(tmp_path, chunksize):
    # chunksize=4: the crash hits mid-chunk, among quick items; it is still pinned on item 1
    with pb.Pool(2, display=None, retries=1, chunksize=chunksize) as pool:
        assert pool.map(lambda x: crash_once(x, str(tmp_path)), range(6)) == [0, 10, 20, 30, 40, 50]
    assert pool.stats.retried == 1 and pool.stats.crashed == 0 and not pool.failures


def test_a_crash_that_does_not_recur_still_fails_its_item_without_retries(tmp_path):
    with pb.Pool(2, display=None, chunksize=4, on_error="return") as pool:
        results = pool.map(lambda x: crash_once(x, str(tmp_path)), range(8))
    assert isinstance(results[1], pb.Failure) and results[1].kind == "crashed"
    assert [r for i, r in enumerate(results) if i != 1] == [x * 10 for x in range(8) if x != 1]
    assert (pool.stats.done, pool.stats.crashed, pool.stats.retried) == (7, 1, 0)


def sleepy(x):
    if x == 1:
        time.sleep(30)
    return x


def test_a_task_past_its_timeout_is_stopped_and_fails_as_timeout():
    started = time.time()
    seen = []
    with pb.Pool(2, display=None, timeout=1.0, on_error="return",
                 on_failure=lambda f: seen.append(time.time())) as pool:
        results = pool.map(sleepy, range(4))
    assert seen[0] - started < 1.0 + 0.5 + 0.5  # timeout + 0.5 s, plus worker start-up
    assert results[0] == 0 and results[2:] == [2, 3]
    failure = results[1]
    assert failure.kind == "timeout" and "timeout of 1 s" in failure.message
    assert pool.stats.timed_out == 1
    with pytest.raises(pb.TaskTimeout):
        with pb.Pool(1, display=None, timeout=0.5) as pool:
            pool.map(sleepy, [1])


def flaky(x, stamp_dir):
    path = os.path.join(stamp_dir, f"tries-{x}")
    tries = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as f:
        f.write(str(tries))
    if tries < 3:
        raise ConnectionError(f"attempt {tries} failed")
    return x


def test_retries_cover_errors_and_the_failure_records_its_attempts(tmp_path):
    snapshots = []
    with pb.Pool(2, display=None, retries=2) as pool:
        assert pool.map(lambda x: flaky(x, str(tmp_path)), range(3)) == [0, 1, 2]
        snapshots.append(pool.snapshot())
    assert pool.stats.retried == 6 and not pool.failures
    with pb.Pool(2, display=None, retries=1, on_error="return") as pool:
        results = pool.map(lambda x: flaky(x, str(tmp_path / "..")), [7])
    assert results[0].attempts == 2 and results[0].exc_type == "ConnectionError"
    assert pool.stats.failed == 1 and pool.stats.retried == 1


def test_an_exception_keeps_its_remote_traceback():
    def inner(x):
        return {}["missing"]

    with pytest.raises(KeyError) as caught:
        pb.map(lambda x: inner(x), [1], processes=1, display=None)
    exc = caught.value
    assert isinstance(exc, pb.TaskFailed) and "inner" in exc.traceback
    assert "return {}[\"missing\"]" in exc.traceback or "missing" in exc.traceback


INTERRUPT_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import poolbars as pb

    def slow(x):
        time.sleep(0.2)
        return x

    if __name__ == "__main__":
        exited = []
        pool = pb.Pool(2, display="log", on_exit=lambda: exited.append(True))
        try:
            with pool:
                print("READY", flush=True)
                pool.map(slow, range(200))
        except KeyboardInterrupt:
            gone = time.time()
            snap = pool.snapshot()
            print(json.dumps({"interrupted": True, "stats": vars(pool.stats), "on_exit": exited,
                              "so_far": len(pool.results_so_far()), "status": snap["status"],
                              "overall": snap["overall"], "t": gone}), flush=True)
""")


@pytest.mark.parametrize("target", ["parent", "group"])
def test_keyboard_interrupt_stops_every_worker_and_keeps_what_finished(tmp_path, target):
    script = tmp_path / "interrupt.py"
    script.write_text(INTERRUPT_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "READY"
    time.sleep(1.5)  # some items finish
    sent = time.time()
    if target == "parent":
        os.kill(proc.pid, signal.SIGINT)
    else:
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: workers get it too
    out, err = proc.communicate(timeout=30)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["interrupted"] and report["on_exit"] == [True]
    assert report["t"] - sent < 1.0  # every worker gone within a second
    stats = report["stats"]
    assert stats["done"] >= 2 and report["so_far"] == stats["done"]
    assert stats["done"] + stats["cancelled"] == stats["total"] == 200
    assert stats["failed"] == stats["crashed"] == 0  # workers did not turn it into failures
    assert report["status"] == "cancelled"
    assert report["overall"]["cancelled"] == stats["cancelled"]
    assert "KeyboardInterrupt" not in err.split("Traceback")[0] if "Traceback" in err else True
    assert proc.returncode == 0


def test_interrupt_leaves_no_child_process_behind():
    def interrupt_soon():
        time.sleep(1.0)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    before = children()  # e.g. a Jupyter server started by other tests
    threading.Thread(target=interrupt_soon, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        with pb.Pool(2, display=None) as pool:
            pool.map(time.sleep, [0.3] * 100)
    assert children() == before
    assert pool.snapshot()["status"] == "cancelled"
    s = pool.stats
    assert s.done + s.cancelled == s.total == 100


def test_endless_input_keeps_memory_bounded():
    read = [0]
    consumed = 0
    worst = 0

    def endless():
        for n in range(10_000_000):
            read[0] += 1
            yield n

    with pb.Pool(2, display=None, max_in_flight=500) as pool:
        for _value in pool.imap_unordered(lambda x: x, endless()):
            consumed += 1
            worst = max(worst, read[0] - consumed)
            if consumed == 20_000:
                break
    assert worst <= 500
    assert pool.stats.total < 25_000  # only what was read counts as seen


def test_map_reads_a_sized_input_once():
    class Once:
        iterations = 0

        def __len__(self):
            return 50

        def __iter__(self):
            Once.iterations += 1
            return iter(range(50))

    assert pb.map(abs, Once(), processes=2, display=None) == list(range(50))
    assert Once.iterations == 1


def test_small_tasks_are_chunked_and_ordered():
    with pb.Pool(2, display=None) as pool:
        out = pool.map(lambda x: x * x, range(100_000))
        starts = pool.state.version
    assert out == [x * x for x in range(100_000)]
    assert starts < 5_000  # far fewer events than items: chunks, not items, travel


def test_items_that_need_dill_still_work():
    funcs = [lambda k=k: k + 1 for k in range(5)]
    assert pb.map(lambda f: f(), funcs, processes=2, display=None) == [1, 2, 3, 4, 5]


def test_an_item_that_cannot_be_pickled_fails_with_its_index_and_why():
    items = [1, 2, (i for i in range(3)), 4]
    with pb.Pool(2, display=None, on_error="return") as pool:
        results = pool.map(lambda x: x, items)
    failure = results[2]
    assert failure.index == 2 and "item 2 cannot be sent to a worker" in failure.message
    assert "generator" in failure.message and results[3] == 4


@pytest.mark.parametrize("kwargs, match", [
    ({"processes": 0}, "processes=0"),
    ({"processes": 2, "worker_args": [{"gpu": 0}]}, "1 dicts for 2 processes"),
    ({"processes": 2, "retires": 2}, "'retires' \\(did you mean 'retries'\\?\\)"),
    ({"processes": 2, "timeout": -1}, "timeout=-1"),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        pb.Pool(**kwargs)


def init_worker(tag, gpu):
    pb.worker_state()["gpu"] = gpu
    pb.worker_state()["tag"] = tag


def where(x):
    time.sleep(0.1)  # long enough that both workers take items
    return (pb.worker_id(), pb.worker_state()["gpu"], pb.worker_state()["tag"])


class Model(pb.Worker):
    def setup(self, gpu):
        self.gpu = gpu
        self.loaded = os.getpid()

    def process(self, item):
        time.sleep(0.05)
        return (item, self.gpu, self.loaded == os.getpid())


def test_worker_lifecycle_initializer_worker_args_and_worker_class():
    args = [{"gpu": 0}, {"gpu": 1}]
    with pb.Pool(2, display=None, initializer=init_worker, initargs=("t",),
                 worker_args=args) as pool:
        found = set(pool.map(where, range(16)))
    assert found <= {(0, 0, "t"), (1, 1, "t")} and len(found) == 2
    with pb.Pool(2, display=None, worker_args=args) as pool:
        out = pool.map(Model, range(10))
    assert [o[0] for o in out] == list(range(10)) and all(o[2] for o in out)
    assert {o[1] for o in out} == {0, 1}
    assert pb.worker_id() is None


def test_a_failing_initializer_is_reported_not_looped():
    def bad_init():
        raise RuntimeError("no GPU here")

    with pytest.raises(RuntimeError, match="no worker could start.*no GPU here"):
        with pb.Pool(2, display=None, initializer=bad_init) as pool:
            pool.map(abs, range(5))


def test_callbacks_submit_and_starmap():
    ok, exits = [], []
    with pb.Pool(2, display=None, on_success=lambda i, r, w: ok.append((i, r)),
                 on_exit=lambda: exits.append(1)) as pool:
        assert pool.starmap(pow, [(2, 3), (3, 2)]) == [8, 9]
        future = pool.submit(divmod, 17, 5)
        assert future.result(timeout=30) == (3, 2)
        bad = pool.submit(divmod, 1, 0)
        with pytest.raises(ZeroDivisionError):
            bad.result(timeout=30)
    assert sorted(ok[:2]) == [(0, 8), (1, 9)] and exits == [1]


def test_max_tasks_per_child_replaces_workers():
    with pb.Pool(1, display=None, max_tasks_per_child=2, chunksize=1) as pool:
        pids = pool.map(lambda x: os.getpid(), range(6))
    assert len(set(pids)) == 3


def test_counts_always_add_up_and_match_the_panel():
    def mixed(x):
        if x % 10 == 3:
            raise ValueError(x)
        if x == 25:
            os._exit(1)
        return x

    with pb.Pool(2, display=None, on_error="return") as pool:
        results = pool.map(mixed, range(40))
        ordered = list(pool.imap(lambda x: x, range(30)))
    assert ordered == list(range(30)) and len(results) == 40
    s = pool.stats
    assert s.done + s.failed + s.timed_out + s.crashed + s.cancelled == s.total == 70
    o = pool.snapshot()["overall"]
    assert (o["done"], o["failed"], o["crashed"], o["cancelled"]) == (s.done, s.failed,
                                                                        s.crashed, s.cancelled)
    assert o["total"] == s.total and o["running"] == o["pending"] == 0


def test_no_leak_after_many_pools():
    pb.map(abs, [1], processes=1, display=None)  # warm up: the heap and resource tracker
    threads = threading.active_count()
    fds = len(os.listdir("/proc/self/fd"))
    procs = children()
    for _ in range(50):
        with pb.Pool(2, display=None) as pool:
            pool.map(abs, range(4))
    time.sleep(0.2)
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds
    assert children() == procs


def slow_once(x, stamp_dir):
    marker = os.path.join(stamp_dir, f"slow-{x}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(30)
    return x


def test_a_timed_out_item_is_retried_when_retries_allow(tmp_path):
    with pb.Pool(1, display=None, timeout=0.5, retries=1) as pool:
        assert pool.map(lambda x: slow_once(x, str(tmp_path)), [4]) == [4]
    assert pool.stats.retried == 1 and pool.stats.timed_out == 0


def exits_on_six(x):
    if x == 6:
        os._exit(1)
    return x


def test_a_crash_inside_a_chunk_of_quick_items_is_pinned_on_its_item():
    # workers mark every item they start, also in chunks of quick items
    with pb.Pool(2, display=None, chunksize=4, on_error="return") as pool:
        results = pool.map(exits_on_six, range(12))
    assert [r for i, r in enumerate(results) if i != 6] == [i for i in range(12) if i != 6]
    (failure,) = pool.failures
    assert failure.index == 6 and failure.kind == "crashed"
    s = pool.stats
    assert (s.done, s.crashed, s.retried, s.total) == (11, 1, 0, 12)


def raises_on_odd(x):
    if x % 2:
        raise ValueError(x)
    return x


def test_exceptions_inside_a_chunk_of_quick_items_are_each_reported():
    with pb.Pool(2, display=None, chunksize=50, on_error="return") as pool:
        results = pool.map(raises_on_odd, range(100))
    assert results[::2] == list(range(0, 100, 2))
    assert sorted(f.index for f in pool.failures) == list(range(1, 100, 2))
    assert all(isinstance(r, pb.Failure) for r in results[1::2])


def exits_just_after_returning(x, delay):
    if x % 3 == 2:  # the worker dies while, or just after, it sends this result back
        threading.Timer(delay, os._exit, (1,)).start()
        time.sleep(delay * 0.9)
    return x


@pytest.mark.parametrize("delay", [0.0002, 0.001])
def test_a_worker_that_dies_between_items_never_stops_the_map(delay):
    # the dispatcher may find the worker gone as it sends the next chunk (a broken pipe):
    # that chunk goes back in line, the worker is replaced, and the map goes on
    for _ in range(3):
        with pb.Pool(2, display=None, chunksize=1, retries=5, on_error="return") as pool:
            results = pool.starmap(exits_just_after_returning, [(x, delay) for x in range(30)])
        s = pool.stats
        assert s.done + s.crashed == s.total == 30
        assert [r for r in results if not isinstance(r, pb.Failure)] == [
            x for x in range(30) if not isinstance(results[x], pb.Failure)]


def test_a_worker_killed_before_it_starts_its_next_item_blames_no_item():
    with pb.Pool(1, display=None, chunksize=1) as pool:
        (pid,) = pool.map(lambda x: os.getpid(), [0])
        os.kill(pid, signal.SIGSTOP)  # it cannot read what comes next
        try:
            future = pool.submit(operator.mul, 6, 7)
            time.sleep(0.3)  # the item reaches its pipe, and waits there
        finally:
            os.kill(pid, signal.SIGKILL)
        assert future.result(timeout=30) == 42  # run again, by the new worker
    assert pool.stats.crashed == 0 and not pool.failures


def test_leaving_the_with_block_mid_task_starts_no_worker_only_to_stop_it(monkeypatch):
    from poolbars.engine.processes import Workers

    spawned = []
    spawn = Workers.spawn
    monkeypatch.setattr(Workers, "spawn", lambda self, n: spawned.append(n) or spawn(self, n))
    with pytest.raises(RuntimeError, match="leave"):
        with pb.Pool(2, display=None) as pool:
            handle = pool.map_async(time.sleep, [30, 30])
            while pool.snapshot()["overall"]["running"] < 2:
                time.sleep(0.01)
            raise RuntimeError("leave the block while both tasks run")
    assert sorted(spawned) == [0, 1]  # the first two workers, no replacement
    assert pool.stats.cancelled == 2 and handle.not_run == [0, 1]
