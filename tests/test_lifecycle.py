"""The pool's lifecycle: a closed pool stays closed, iterators outlive nothing silently,
background maps keep positions, an unclosed pool is reaped by the garbage collector,
Ctrl-C twice never hangs, and several threads may share one pool."""

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import poolbars as pb
from procs import alive, descendants, poolbars_threads
from poolbars import results as results_module

pytestmark = pytest.mark.timeout(120)


def slow(x):
    time.sleep(0.05)
    return x


def crash_on_three(x):
    if x == 3:
        os._exit(1)
    return x


# -- a closed pool ----------------------------------------------------------------------


def test_entering_a_closed_pool_raises_at_once_saying_it_is_closed():
    pool = pb.Pool(1, display=None)
    with pool:
        assert pool.map(abs, [-1]) == [1]
    started = time.time()
    with pytest.raises(RuntimeError, match="closed"):
        with pool:
            pytest.fail("the body of a closed pool's `with` must not run")
    assert time.time() - started < 5
    with pytest.raises(RuntimeError, match="closed"):
        pool.start()


@pytest.mark.parametrize("imap", ["imap", "imap_unordered"])
def test_an_iterator_made_inside_the_with_and_read_after_raises(imap):
    with pb.Pool(2, display=None) as pool:
        results = getattr(pool, imap)(slow, range(20))
    with pytest.raises(RuntimeError, match="closed"):
        list(results)


@pytest.mark.parametrize("imap", ["imap", "imap_unordered"])
def test_an_iterator_partly_read_inside_the_with_raises_when_continued_after(imap):
    with pb.Pool(2, display=None) as pool:
        results = getattr(pool, imap)(slow, range(40))
        taken = [next(results) for _ in range(3)]
    got = []
    with pytest.raises(RuntimeError, match="closed") as caught:
        for value in results:
            got.append(value)
    assert len(taken) + len(got) < 40  # it did not stop short silently: it raised
    assert "with" in str(caught.value)  # and says what to do
    if imap == "imap":
        assert taken + got == list(range(len(taken) + len(got)))


def test_an_iterator_read_to_its_end_inside_the_with_just_ends_after():
    with pb.Pool(2, display=None) as pool:
        results = pool.imap(abs, [-1, -2])
        assert [next(results), next(results)] == [1, 2]
    assert list(results) == []


# -- background maps keep positions ---------------------------------------------------


def check_positions(handle, results, n):
    """Every value at its input's position; `not_run` exactly the positions with none."""
    assert len(results) == n
    assert results.not_run == handle.not_run
    assert handle.not_run, "the run was meant to be cut short"
    for position, value in enumerate(results):
        if position in handle.not_run:
            assert value is None
        else:
            assert value == position
    so_far = handle.results_so_far()
    assert set(so_far) == set(range(n)) - set(handle.not_run)
    assert all(so_far[p] == p for p in so_far)


def test_a_cancelled_background_map_keeps_positions_and_lists_what_did_not_run():
    with pb.Pool(2, display=None, chunksize=1) as pool:
        handle = pool.map_async(slow, range(60))
        time.sleep(0.6)
        assert handle.cancel() is True
        results = handle.result(timeout=30)
        check_positions(handle, results, 60)
        s = pool.stats
        assert s.cancelled == len(handle.not_run) and s.done == 60 - len(handle.not_run)


def test_a_stopped_background_map_keeps_positions_around_a_retried_crash():
    # item 3 crashes its worker and goes back in line to be retried: a Stop then leaves
    # a gap in the middle of the input, not only at its end
    with pb.Pool(2, display=None, chunksize=1, retries=1, on_error="return") as pool:
        handle = pool.map_async(crash_on_three, range(40))
        while not pool.stats.retried:
            time.sleep(0.01)
        handle.stop()
        results = handle.result(timeout=30)
    assert len(results) == 40
    for position, value in enumerate(results):
        if position in handle.not_run:
            assert value is None
        elif position != 3 or not isinstance(value, pb.Failure):
            assert value == position


def test_pool_exit_during_a_background_map_keeps_positions():
    with pb.Pool(2, display=None, chunksize=1) as pool:
        handle = pool.map_async(slow, range(60))
        time.sleep(0.6)
    results = handle.result(timeout=30)
    check_positions(handle, results, 60)


def test_the_one_call_background_map_closes_its_own_pool_when_it_ends():
    threads_before = poolbars_threads()
    handle = pb.map(slow, range(6), processes=2, display=None, block=False)
    assert handle.result(timeout=30) == list(range(6))
    assert descendants(os.getpid()) == []  # its workers (and the fork server) are gone
    deadline = time.time() + 10  # connection threads end as their sockets close
    while poolbars_threads() - threads_before and time.time() < deadline:
        time.sleep(0.05)
    assert poolbars_threads() - threads_before == set()


def test_a_done_callback_runs_once_whether_added_before_or_after_the_end():
    calls = []
    with pb.Pool(1, display=None) as pool:
        handle = pool.map_async(slow, range(10))  # ~0.5 s on one worker
        handle.add_done_callback(calls.append)  # before: run in the map's thread
        assert handle.result(timeout=30) == list(range(10))
        assert calls == [handle]
        handle.add_done_callback(calls.append)  # after: run at once
        assert calls == [handle, handle]


def test_a_background_map_that_skips_failures_never_shows_the_placeholder():
    def fails_on_odd(x):
        time.sleep(0.02)
        if x % 2:
            raise ValueError("odd")
        return x

    with pb.Pool(2, display=None, chunksize=1, on_error="skip") as pool:
        handle = pool.map_async(fails_on_odd, range(40))
        seen = []
        while not handle.done():
            seen += handle.results_so_far().values()
        seen += handle.results_so_far().values()
        assert handle.result(timeout=30) == list(range(0, 40, 2))  # as map() gives it
        assert handle.not_run == []
    assert all(type(value) is int for value in seen)
    assert results_module._SKIP not in seen


def test_pool_results_so_far_never_shows_the_placeholder():
    def fails_on_odd(x):
        if x % 2:
            raise ValueError("odd")
        return x

    with pb.Pool(2, display=None, on_error="skip") as pool:
        assert pool.map(fails_on_odd, range(10)) == [0, 2, 4, 6, 8]
        assert pool.results_so_far() == {0: 0, 2: 2, 4: 4, 6: 6, 8: 8}


# -- garbage collection -----------------------------------------------------------------


def test_an_unclosed_pool_is_stopped_by_the_garbage_collector_with_a_resource_warning():
    threads_before = poolbars_threads()
    pool = pb.Pool(2, display=None)
    pool.start()
    assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]
    pids = [slot.process.pid for slot in pool._running.engine.backend.workers.slots]
    assert all(alive(pid) for pid in pids)
    with pytest.warns(ResourceWarning, match="unclosed"):
        del pool
        gc.collect()
    assert not any(alive(pid) for pid in pids)
    deadline = time.time() + 10  # connection threads end as their sockets close
    while poolbars_threads() - threads_before and time.time() < deadline:
        time.sleep(0.05)
    assert poolbars_threads() - threads_before == set()


def test_a_pool_used_outside_a_with_block_and_dropped_is_reaped_too():
    threads_before = poolbars_threads()

    def run():
        pool = pb.Pool(1, display=None)
        assert pool.map(lambda x: x + 1, [1]) == [2]  # starts it by itself
        handle = pool.map_async(abs, [-5])
        assert handle.result(timeout=30) == [5]
        return [slot.process.pid for slot in pool._running.engine.backend.workers.slots]

    with pytest.warns(ResourceWarning, match="unclosed"):
        pids = run()
        gc.collect()
    assert not any(alive(pid) for pid in pids)
    deadline = time.time() + 10
    while poolbars_threads() - threads_before and time.time() < deadline:
        time.sleep(0.05)
    assert poolbars_threads() - threads_before == set()


# -- two Ctrl-C ---------------------------------------------------------------------------

DOUBLE_INTERRUPT = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    import poolbars as pb

    def slow(x):
        time.sleep(0.2)
        return x

    def state():
        return {"stats": vars(pool.stats), "status": pool.snapshot()["status"],
                "threads": [t.name for t in threading.enumerate() if t.name.startswith("poolbars")]}

    if __name__ == "__main__":
        pool = pb.Pool(2, display=None)
        interrupts = 0
        try:
            with pool:
                print("READY", flush=True)
                pool.map(slow, range(200))
        except KeyboardInterrupt:
            interrupts += 1
        while True:  # the pool is closed: a second Ctrl-C that comes now is not its business
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                break
            except KeyboardInterrupt:
                interrupts += 1
        print(json.dumps({"caught": state(), "interrupts": interrupts}), flush=True)
        sys.stdin.readline()  # while the test looks for processes left behind
""")


@pytest.mark.parametrize("gap", [0.0, 0.02, 0.05, 0.1])
def test_two_ctrl_c_never_hang_leave_no_process_and_stats_add_up(tmp_path, gap):
    script = tmp_path / "twice.py"
    script.write_text(DOUBLE_INTERRUPT)
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(1.0)  # some items finish
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(gap)
        os.kill(proc.pid, signal.SIGINT)
        report = json.loads(proc.stdout.readline())  # once the interrupt reached the script
        left = descendants(proc.pid)
        out, err = proc.communicate("\n", timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert report["interrupts"] >= 1
    s = report["caught"]["stats"]
    assert s["done"] + s["failed"] + s["timed_out"] + s["crashed"] + s["cancelled"] == s["total"]
    assert s["total"] == 200 and s["done"] >= 2
    assert report["caught"]["status"] == "cancelled"
    assert left == []  # no worker, no fork server
    assert report["caught"]["threads"] == []  # no thread of the pool's


KERNEL_SETUP = textwrap.dedent("""
    import json, threading, time
    import poolbars as pb

    def slow(x):
        time.sleep(0.2)
        return x

    pool = pb.Pool(2, display=None)
""")


def run_cell(client, code: str) -> tuple[dict, str]:
    """Run `code` in the kernel: (its execute_reply content, what it printed)."""
    printed = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = client.execute_interactive(code, timeout=60, output_hook=hook)
    return reply["content"], "".join(printed)


@pytest.mark.timeout(180)
def test_two_interrupts_of_a_real_kernel_never_hang_it():
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        kernel = manager.provisioner.process.pid
        assert run_cell(client, KERNEL_SETUP)[0]["status"] == "ok"
        msg_id = client.execute("with pool:\n    print('READY', flush=True)\n"
                                "    pool.map(slow, range(200))",
                                stop_on_error=False)  # the next cells run, not aborted
        while True:  # wait until the map runs
            msg = client.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "stream" and "READY" in msg["content"]["text"]:
                break
        time.sleep(1.0)
        manager.interrupt_kernel()
        time.sleep(0.05)
        manager.interrupt_kernel()
        started = time.time()
        while True:
            reply = client.get_shell_msg(timeout=30)  # a hung kernel fails here
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.time() - started < 10
        code = ("s = pool.stats\nprint(json.dumps({'stats': vars(s), "
                "'status': pool.snapshot()['status'], 'threads': [t.name for t in "
                "threading.enumerate() if t.name.startswith('poolbars')]}))")
        content, out = run_cell(client, code)  # the kernel still answers
        assert content["status"] == "ok", content
        report = json.loads(out.strip().splitlines()[-1])
        s = report["stats"]
        assert s["done"] + s["failed"] + s["timed_out"] + s["crashed"] + s["cancelled"] == s["total"]
        assert s["total"] == 200 and report["status"] == "cancelled"
        assert report["threads"] == []
        assert descendants(kernel) == []
        content, out = run_cell(client, "print(pb.map(abs, [-1, -2], processes=2, display=None))")
        assert out.strip() == "[1, 2]"  # and the next pool works
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


class SlowTeardown(pb.Worker):
    def process(self, item):
        return item

    def teardown(self):
        time.sleep(0.8)  # the pool's exit waits for it: a Ctrl-C can land meanwhile


def test_a_ctrl_c_during_close_is_raised_once_the_cleanup_is_done():
    threads_before = poolbars_threads()

    def interrupt_during_close():
        while not pool._closed:
            time.sleep(0.005)
        time.sleep(0.2)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    pb.map(abs, [1], processes=1, display=None)  # what a first pool leaves for good
    fds_before = len(os.listdir("/proc/self/fd"))
    pool = pb.Pool(1, display=None)
    with pytest.raises(KeyboardInterrupt):
        with pool:
            assert pool.map(SlowTeardown, [1, 2, 3]) == [1, 2, 3]
            pids = [slot.process.pid for slot in pool._running.engine.backend.workers.slots]
            threading.Thread(target=interrupt_during_close, daemon=True).start()
    assert not pool._running.engine.alive  # close() was not cut short
    assert not any(alive(pid) for pid in pids)
    deadline = time.time() + 10  # connection threads end as their sockets close
    while poolbars_threads() - threads_before and time.time() < deadline:
        time.sleep(0.05)
    assert poolbars_threads() - threads_before == set()
    assert len(os.listdir("/proc/self/fd")) <= fds_before  # pipes and sockets closed
    s = pool.stats
    assert s.done == s.total == 3
    assert pool.snapshot()["status"] == "done"


# -- several threads ----------------------------------------------------------------------


def run_at_once(target, args) -> None:
    """Run `target(a)` for each of `args`, each in a thread of its own, and wait for all,
    with threads switching often (to meet the races)."""
    threads = [threading.Thread(target=target, args=(a,)) for a in args]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)


def test_several_threads_map_on_one_pool_at_once():
    errors, results = [], {}

    def run(n):
        try:
            offset = n * 1000
            out = []
            for _ in range(5):  # a fresh function each round: registration races too
                out.append(pool.map(lambda x, o=offset: x + o, range(50)))
                out.append(list(pool.imap(lambda x, o=offset: x - o, range(20))))
            results[n] = out
        except BaseException as exc:
            errors.append(exc)

    with pb.Pool(2, display=None) as pool:
        run_at_once(run, range(4))
    assert errors == []
    for n in range(4):
        for round_ in range(5):
            assert results[n][2 * round_] == [x + n * 1000 for x in range(50)]
            assert results[n][2 * round_ + 1] == [x - n * 1000 for x in range(20)]
    s = pool.stats
    assert s.done == s.total == 4 * 5 * 70


def test_threads_that_share_a_pool_before_it_starts_start_it_once():
    dispatchers_before = sum(t.name == "poolbars-dispatcher" for t in threading.enumerate())
    pool = pb.Pool(2, display=None)
    barrier = threading.Barrier(4)
    results, errors = {}, []

    def run(n):
        try:
            barrier.wait()
            results[n] = pool.map(abs, range(-n, 0))
        except BaseException as exc:
            errors.append(exc)

    run_at_once(run, range(1, 5))
    dispatchers = [t for t in threading.enumerate() if t.name == "poolbars-dispatcher"]
    stats = pool.stats
    pool.close()
    assert errors == []
    assert results == {n: list(range(n, 0, -1)) for n in range(1, 5)}
    assert len(dispatchers) - dispatchers_before == 1  # the pool started once
    assert stats.total == 1 + 2 + 3 + 4  # and ran every map


def test_sending_functions_never_swallows_another_threads_output(capfd):
    stop = threading.Event()
    printed = [0]

    def printer():
        while not stop.is_set():
            print(f"line {printed[0]}")
            printed[0] += 1

    def make(k):
        def task(x):  # by value (a closure), so dill inspects its code
            values = [x + k + i for i in range(3)]
            values += [v * 2 for v in values if v % 2]
            return sum(values) + len(str(values)) + abs(k) + max(values) + min(values)
        return task

    interval = sys.getswitchinterval()
    with pb.Pool(1, display=None) as pool:
        thread = threading.Thread(target=printer)
        thread.start()
        sys.setswitchinterval(1e-5)  # switch threads often, as a busy kernel would
        try:
            futures = [pool.submit(make(k), 1) for k in range(300)]  # each sent by value
        finally:
            sys.setswitchinterval(interval)
            stop.set()
            thread.join()
        assert [f.result(timeout=60) for f in futures] == [make(k)(1) for k in range(300)]
    sys.stdout.flush()
    out = capfd.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("line ")]
    assert lines == [f"line {n}" for n in range(printed[0])]


def test_the_globals_found_without_printing_are_the_ones_dill_finds(monkeypatch):
    import dill.detect

    from poolbars.protocol import wire

    monkeypatch.setattr(dill.detect, "nestedglobals", wire._dill_nested_globals)  # the reference

    def nested(x):
        def inner(y):
            return json.dumps(y) + str(os.sep)
        return [inner(v) for v in range(x) if sys.maxsize] + [slow, alive]

    functions = [nested, slow, alive, descendants, lambda: pb.Pool, check_positions,
                 test_two_ctrl_c_never_hang_leave_no_process_and_stats_add_up]
    for fn in functions:
        assert sorted(wire._nested_globals(fn.__code__)) == sorted(
            wire._dill_nested_globals(fn.__code__))
    assert {"json", "os", "sys", "slow", "alive"} <= set(wire._nested_globals(nested))
