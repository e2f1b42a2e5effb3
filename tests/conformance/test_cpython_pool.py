"""Conformance: CPython's own tests of `multiprocessing.Pool`, ported to poolbars.

Source: Lib/test/_test_multiprocessing.py of CPython 3.11, classes `_TestPool`,
`_TestPoolWorkerErrors` and `_TestPoolWorkerLifetime`. Written fresh against poolbars'
API; each test names the test it comes from and keeps what that test asserts. Where
poolbars differs on purpose (README, "Differences from multiprocessing.Pool"), the port
asserts poolbars' side of the difference and says so.

How the stdlib's calls map here: `apply`/`apply_async` -> `submit()` (a
`concurrent.futures.Future`); `map_async(...).get()` -> `map_async(...).result()`;
`map(..., chunksize=n)` -> `Pool(chunksize=n)`; `maxtasksperchild` ->
`max_tasks_per_child`; `callback`/`error_callback` -> `on_success`/`on_failure` or the
future's `add_done_callback`; `terminate()`/`join()` -> `close()` (or leaving `with`).

Not ported, and why:
- `_TestPool.test_starmap_async`: poolbars has no `starmap_async` (only `map_async`).
- `_TestPool.test_async`'s `assertTimingAlmostEqual`: timings are not the point of a test
  here; the port checks that the result waited for the task.
- `_TestPool.test_map_no_failfast`'s "waited for all jobs" (> 0.9 s): poolbars'
  `on_error="raise"` fails fast on purpose; the port keeps the test's real subject (no
  deadlock with a 1 MB exception) and checks `on_error="return"` runs every item.
- `_TestPool.test_release_task_refs`, the result half: the pool keeps the latest map's
  results for `results_so_far()`; the port checks inputs are released at once and the
  results when the next map starts.
- `_TestPool.test_make_pool`'s `len(p._pool)`: a private attribute; the port counts the
  worker lanes of the panel instead.
- `_TestPoolWorkerLifetime.test_pool_worker_lifetime`'s `_repopulate_pool()`: private;
  the port counts the worker processes that ran the tasks instead.
- The test classes' 'threads' and 'manager' variants (ThreadPool, manager pools): poolbars
  has process pools only.
"""

import concurrent.futures
import contextlib
import gc
import functools
import io
import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref

import pytest

import poolbars as pb
from procs import alive
from poolbars.errors import RemoteTraceback

pytestmark = pytest.mark.timeout(30)


def sqr(x, wait=0.0):
    time.sleep(wait)
    return x * x


def mul(x, y):
    return x * y


def identity(x):
    return x


def raise_large_valueerror(wait):
    time.sleep(wait)
    raise ValueError("x" * 1024 ** 2)


def raise_123():
    raise RuntimeError(123)  # some comment


def raise_foo():
    raise RuntimeError("foo")


def raising():
    raise KeyError("key")


def unpicklable_result():
    return (i for i in range(3))  # not even dill pickles a generator


def sqr_and_pid(x):
    return x * x, os.getpid()


class CountedObject:
    n_instances = 0

    def __new__(cls):
        cls.n_instances += 1
        return object.__new__(cls)

    def __del__(self):
        type(self).n_instances -= 1


class SayWhenError(ValueError):
    pass


def exception_throwing_generator(total, when):
    if when == -1:
        raise SayWhenError("Somebody said when")
    for i in range(total):
        if i == when:
            raise SayWhenError("Somebody said when")
        yield i


def taken_until(iterator, error):
    """The values `iterator` gives before it raises `error` (which it must)."""
    out = []
    with pytest.raises(error):
        for value in iterator:
            out.append(value)
    return out


# -- _TestPool -------------------------------------------------------------------------


def test_apply():
    """CPython _TestPool.test_apply: apply(sqr, (5,)) and apply(sqr, (), {'x': 3}) give
    sqr's results (poolbars: submit)."""
    with pb.Pool(2, display=None) as pool:
        assert pool.submit(sqr, 5).result() == sqr(5)
        assert pool.submit(sqr, x=3).result() == sqr(x=3)


def test_map():
    """CPython _TestPool.test_map: map equals the builtin map, also with chunksize=20."""
    with pb.Pool(2, display=None) as pool:
        assert pool.map(sqr, list(range(10))) == list(map(sqr, range(10)))
    with pb.Pool(2, display=None, chunksize=20) as pool:
        assert pool.map(sqr, list(range(100))) == list(map(sqr, range(100)))


def test_starmap():
    """CPython _TestPool.test_starmap: starmap equals itertools.starmap, also with
    chunksize=20."""
    tuples = list(zip(range(10), range(9, -1, -1)))
    with pb.Pool(2, display=None) as pool:
        assert pool.starmap(mul, tuples) == list(itertools.starmap(mul, tuples))
    tuples = list(zip(range(100), range(99, -1, -1)))
    with pb.Pool(2, display=None, chunksize=20) as pool:
        assert pool.starmap(mul, tuples) == list(itertools.starmap(mul, tuples))


def test_map_async():
    """CPython _TestPool.test_map_async: map_async(...).get() equals the builtin map."""
    with pb.Pool(2, display=None) as pool:
        assert pool.map_async(sqr, list(range(10))).result() == list(map(sqr, range(10)))


def test_map_async_callbacks():
    """CPython _TestPool.test_map_async_callbacks: the success callback sees the result
    [1] of map_async(int, ['1']), the error callback the ValueError of ['a']. poolbars'
    callbacks are per item and per pool: on_success(index, value, worker) and
    on_failure(Failure)."""
    calls = []
    with pb.Pool(2, display=None, on_success=lambda i, v, w: calls.append(("ok", i, v)),
                 on_failure=lambda failure: calls.append(("failed", failure))) as pool:
        assert pool.map_async(int, ["1"]).result() == [1]
        assert calls == [("ok", 0, 1)]
        handle = pool.map_async(int, ["a"])
        with pytest.raises(ValueError):
            handle.result()
    assert len(calls) == 2
    kind, failure = calls[1]
    assert kind == "failed" and failure.exc_type == "ValueError" and failure.index == 0


def test_map_unpicklable():
    """CPython _TestPool.test_map_unplicklable (issue #19425): an item that cannot be
    pickled raises its error instead of hanging the map."""
    class A:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pb.Pool(2, display=None) as pool:
        with pytest.raises(RuntimeError, match="cannot pickle"):
            pool.map(sqr, [A()] * 10)


def test_map_chunksize():
    """CPython _TestPool.test_map_chunksize: map_async over [] with chunksize=1 does not
    stall: its result comes within the timeout."""
    with pb.Pool(2, display=None, chunksize=1) as pool:
        assert pool.map_async(sqr, []).result(timeout=10) == []


def test_map_handle_iterable_exception():
    """CPython _TestPool.test_map_handle_iterable_exception: map over an input that
    raises SayWhenError (at its first item, twice to show it is reentrant; at item 3;
    from __next__ of an object with __len__) raises SayWhenError."""
    with pb.Pool(2, display=None, chunksize=1) as pool:
        with pytest.raises(SayWhenError):
            pool.map(sqr, exception_throwing_generator(1, -1))
        with pytest.raises(SayWhenError):
            pool.map(sqr, exception_throwing_generator(1, -1))
        with pytest.raises(SayWhenError):
            pool.map(sqr, exception_throwing_generator(10, 3))

        class SpecialIterable:
            def __iter__(self):
                return self

            def __next__(self):
                raise SayWhenError

            def __len__(self):
                return 1

        with pytest.raises(SayWhenError):
            pool.map(sqr, SpecialIterable())
        with pytest.raises(SayWhenError):
            pool.map(sqr, SpecialIterable())


def test_async():
    """CPython _TestPool.test_async: apply_async(sqr, (7, TIMEOUT1)).get() is 49 once the
    task has run (poolbars: submit(...).result())."""
    with pb.Pool(2, display=None) as pool:
        started = time.monotonic()
        assert pool.submit(sqr, 7, 0.2).result() == 49
        assert time.monotonic() - started >= 0.2


def test_async_timeout():
    """CPython _TestPool.test_async_timeout: get(timeout=...) on a task that runs longer
    raises a timeout error. The stdlib's is multiprocessing.TimeoutError (not a builtin
    TimeoutError); a poolbars future raises concurrent.futures.TimeoutError, a map
    handle the builtin TimeoutError."""
    with pb.Pool(2, display=None) as pool:
        future = pool.submit(sqr, 6, 60)
        with pytest.raises(concurrent.futures.TimeoutError):  # TimeoutError from 3.11
            future.result(timeout=0.2)
        with pytest.raises(TimeoutError):
            pool.map_async(time.sleep, [60]).result(timeout=0.2)
        left = time.monotonic()
    assert time.monotonic() - left < 10  # leaving the block stops the running task
    assert future.cancelled()


def test_imap():
    """CPython _TestPool.test_imap: imap gives sqr's results in order, by list() and by
    next() until StopIteration, also with chunksize=100."""
    with pb.Pool(2, display=None) as pool:
        assert list(pool.imap(sqr, list(range(10)))) == list(map(sqr, range(10)))
        it = pool.imap(sqr, list(range(10)))
        for i in range(10):
            assert next(it) == i * i
        with pytest.raises(StopIteration):
            next(it)
    with pb.Pool(2, display=None, chunksize=100) as pool:
        it = pool.imap(sqr, list(range(1000)))
        for i in range(1000):
            assert next(it) == i * i
        with pytest.raises(StopIteration):
            next(it)


@pytest.mark.parametrize("chunksize", [1, 2, 4])
def test_imap_handle_iterable_exception(chunksize):
    """CPython _TestPool.test_imap_handle_iterable_exception: imap over an input that
    raises SayWhenError raises it at the first next() if the input fails at once (twice:
    reentrant), else after the results of the items before the failure, in order.

    CPython yields only whole chunks before the failure (6 values for a failure at item
    7 with chunksize 2, 4 with chunksize 4); poolbars' contract (issue 10, section 4) is
    all of items 0..k-1, whatever the chunk size."""
    with pb.Pool(2, display=None, chunksize=chunksize) as pool:
        for _ in range(2):
            with pytest.raises(SayWhenError):
                next(pool.imap(sqr, exception_throwing_generator(1, -1)))
        got = taken_until(pool.imap(sqr, exception_throwing_generator(10, 3)), SayWhenError)
        assert got == [i * i for i in range(3)]
        got = taken_until(pool.imap(sqr, exception_throwing_generator(20, 7)), SayWhenError)
        assert got == [i * i for i in range(7)]


def test_imap_unordered():
    """CPython _TestPool.test_imap_unordered: imap_unordered gives every result once, in
    any order, also with chunksize=100."""
    with pb.Pool(2, display=None) as pool:
        assert sorted(pool.imap_unordered(sqr, list(range(10)))) == list(map(sqr, range(10)))
    with pb.Pool(2, display=None, chunksize=100) as pool:
        got = sorted(pool.imap_unordered(sqr, list(range(1000))))
        assert got == list(map(sqr, range(1000)))


@pytest.mark.parametrize("chunksize", [1, 2])
def test_imap_unordered_handle_iterable_exception(chunksize):
    """CPython _TestPool.test_imap_unordered_handle_iterable_exception: SayWhenError from
    the input is raised by imap_unordered (at the first next() if the input fails at
    once, twice), and every value given before it is one of the expected, given once.
    poolbars' contract is stronger: exactly the results of items 0..k-1 come first."""
    with pb.Pool(2, display=None, chunksize=chunksize) as pool:
        for _ in range(2):
            with pytest.raises(SayWhenError):
                next(pool.imap_unordered(sqr, exception_throwing_generator(1, -1)))
        for total, when in ((10, 3), (20, 7)):
            got = taken_until(pool.imap_unordered(sqr, exception_throwing_generator(
                total, when)), SayWhenError)
            assert sorted(got) == [i * i for i in range(when)]


def test_make_pool():
    """CPython _TestPool.test_make_pool: Pool(-1) and Pool(0) raise ValueError; Pool(3)
    has 3 worker processes (counted here as the panel's worker lanes)."""
    for processes in (-1, 0):
        with pytest.raises(ValueError):
            pb.Pool(processes, display=None)
    with pb.Pool(3, display=None) as pool:
        pool.map(sqr, range(6))
    assert len(pool.state.snapshot()["lanes"]) == 3


def test_terminate():
    """CPython _TestPool.test_terminate: terminating a pool with 10,000 "forever" tasks
    in flight returns (does not hang). poolbars: close() stops them; every item is
    accounted for as cancelled."""
    pool = pb.Pool(3, display=None, chunksize=1)
    pool.start()
    handle = pool.map_async(time.sleep, [60] * 10_000)
    time.sleep(0.5)  # let the workers start their tasks
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 10
    handle.result(timeout=10)
    stats = pool.stats
    assert stats.done == 0 and stats.cancelled == stats.total == 10_000


def test_empty_iterable():
    """CPython _TestPool.test_empty_iterable (issue 12157): map, imap, imap_unordered and
    map_async over [] give []."""
    with pb.Pool(1, display=None) as pool:
        assert pool.map(sqr, []) == []
        assert list(pool.imap(sqr, [])) == []
        assert list(pool.imap_unordered(sqr, [])) == []
        assert pool.map_async(sqr, []).result() == []


def test_context():
    """CPython _TestPool.test_context: `with Pool(2) as p` runs map_async; after the block
    the pool refuses work (stdlib: ValueError "Pool not running"; poolbars: RuntimeError
    saying it is closed, a deliberate difference)."""
    values = list(range(10))
    with pb.Pool(2, display=None) as pool:
        assert pool.map_async(sqr, values).result() == [sqr(i) for i in values]
    with pytest.raises(RuntimeError, match="closed"):
        pool.map_async(sqr, values)


def test_context_imap_iterated_after_the_block():
    """CPython _TestPool.test_context, for an imap begun in the block and iterated after
    it: the pool is not running, so iterating raises (poolbars: RuntimeError saying it
    is closed; issue 10, section 3) rather than stopping short. The stdlib's iterator
    waits for results that never come."""
    with pb.Pool(2, display=None) as pool:
        # items slow enough that the block ends with most not run (a map that finished
        # before the block ended is whole: reading it after is fine)
        it = pool.imap(functools.partial(sqr, wait=0.2), list(range(10)))
        assert next(it) == 0
    with pytest.raises(RuntimeError, match="closed"):
        list(it)


def test_traceback():
    """CPython _TestPool.test_traceback: a task's RuntimeError(123) reaches the caller
    with args (123,), a RemoteTraceback cause holding the task's source line, and that
    line in what sys.excepthook prints. An error of the input itself is raised as is,
    without a remote cause. (stdlib: `type(exc) is RuntimeError`; poolbars raises a
    subclass that is also a pb.TaskFailed, a deliberate difference.)"""
    with pb.Pool(1, display=None) as pool:
        with pytest.raises(RuntimeError) as caught:
            pool.submit(raise_123).result()
        exc = caught.value
        assert isinstance(exc, pb.TaskFailed)
        assert exc.args == (123,)
        assert type(exc.__cause__) is RemoteTraceback
        assert "raise RuntimeError(123)  # some comment" in exc.__cause__.text
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed):
            sys.excepthook(type(exc), exc, exc.__traceback__)
        assert "raise RuntimeError(123)  # some comment" in printed.getvalue()
    with pb.Pool(1, display=None, chunksize=1) as pool:
        with pytest.raises(SayWhenError) as caught:
            pool.map(sqr, exception_throwing_generator(1, -1))
        assert type(caught.value) is SayWhenError
        assert caught.value.__cause__ is None


def test_traceback_of_an_exception_class_from_main(tmp_path):
    """CPython _TestPool.test_traceback, with the task and its exception class defined in
    `__main__` (a script, as in a notebook): the caller catches the class itself and its
    base, with args and the task's source line kept (issue 10, section 1)."""
    script = tmp_path / "main_error.py"
    script.write_text(textwrap.dedent("""
        import poolbars as pb

        class SayWhenError(ValueError):
            pass

        def task(x):
            raise SayWhenError(x)  # said here

        if __name__ == "__main__":
            with pb.Pool(1, display=None) as pool:
                try:
                    pool.map(task, [123])
                except SayWhenError as exc:
                    assert isinstance(exc, ValueError) and isinstance(exc, pb.TaskFailed)
                    assert exc.args == (123,), exc.args
                    assert "raise SayWhenError(x)  # said here" in exc.traceback
                    print("caught")
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=20)
    assert done.stdout.strip() == "caught", done.stderr[-2000:]


def test_wrapped_exception():
    """CPython _TestPool.test_wrapped_exception (issue #20980): apply of a task raising
    RuntimeError('foo') raises RuntimeError."""
    with pb.Pool(1, display=None) as pool:
        with pytest.raises(RuntimeError, match="foo"):
            pool.submit(raise_foo).result()


def test_map_no_failfast():
    """CPython _TestPool.test_map_no_failfast (issue #23992): a map whose tasks raise a
    1 MB ValueError raises ValueError, and closing the pool afterwards does not
    deadlock. poolbars fails fast under on_error="raise" (a deliberate difference); the
    stdlib's run-everything behaviour is on_error="return"."""
    started = time.monotonic()
    with pytest.raises(ValueError):
        with pb.Pool(2, display=None) as pool:
            pool.map(raise_large_valueerror, [0, 1])
    assert time.monotonic() - started < 20
    with pb.Pool(2, display=None, on_error="return") as pool:
        results = pool.map(raise_large_valueerror, [0, 0.5])
    assert [r.exc_type for r in results] == ["ValueError", "ValueError"]
    assert all(len(r.message) == 1024 ** 2 for r in results)


def test_release_task_refs():
    """CPython _TestPool.test_release_task_refs (issue #29861): the pool does not keep a
    map's input objects alive, nor the copies it returned (poolbars keeps the latest
    map's results for results_so_far() and lets them go at the next map)."""
    with pb.Pool(2, display=None) as pool:
        objs = [CountedObject() for _ in range(10)]
        refs = [weakref.ref(o) for o in objs]
        results = pool.map(identity, objs)
        assert len(results) == 10
        del objs, results
        gc.collect()
        time.sleep(0.1)  # let the dispatcher thread drop its references
        assert {ref() for ref in refs} == {None}
        pool.map(identity, [0])
        gc.collect()
        assert CountedObject.n_instances == 0


def test_enter():
    """CPython _TestPool.test_enter (bpo-35477): entering a pool that is no longer running
    raises (stdlib: ValueError; poolbars: RuntimeError saying it is closed)."""
    pool = pb.Pool(1, display=None)
    with pool:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        with pool:
            pass


def test_resource_warning():
    """CPython _TestPool.test_resource_warning: a running pool that is garbage-collected
    unclosed emits a ResourceWarning; poolbars also stops its workers and threads."""
    threads_before = set(threading.enumerate())
    pool = pb.Pool(1, display=None)
    pool.start()
    pid = pool.submit(os.getpid).result()
    ref = weakref.ref(pool)
    try:
        with pytest.warns(ResourceWarning):
            del pool
            gc.collect()
        assert ref() is None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                alive(pid) or set(threading.enumerate()) - threads_before):
            time.sleep(0.05)
        assert not alive(pid)
        assert not set(threading.enumerate()) - threads_before
    finally:
        leftover = ref()
        if leftover is not None:  # the test failed: do not leave its pool running
            leftover.close()


# -- _TestPoolWorkerErrors ---------------------------------------------------------------


def test_async_error_callback():
    """CPython _TestPoolWorkerErrors.test_async_error_callback: apply_async of a task
    raising KeyError: get() raises KeyError and the error callback received a KeyError.
    poolbars: the future's done-callback sees it, and on_failure gets its Failure."""
    failures, seen = [], []
    with pb.Pool(2, display=None, on_failure=failures.append) as pool:
        future = pool.submit(raising)
        future.add_done_callback(lambda f: seen.append(f.exception()))
        with pytest.raises(KeyError):
            future.result()
    assert len(seen) == 1 and isinstance(seen[0], KeyError)
    assert [f.exc_type for f in failures] == ["KeyError"]


def test_unpickleable_result():
    """CPython _TestPoolWorkerErrors.test_unpickleable_result: a result that cannot be
    pickled fails its task with an error that says so (stdlib: MaybeEncodingError), 20
    times over, and the pool loses no worker process."""
    with pb.Pool(2, display=None) as pool:
        for _ in range(20):
            future = pool.submit(unpicklable_result)
            with pytest.raises(pb.TaskFailed):
                future.result()
            assert "could not be pickled" in pool.failures[-1].message
        assert pool.map(sqr, range(10)) == [i * i for i in range(10)]
    assert pool.stats.crashed == 0 and pool.stats.failed == 20


# -- _TestPoolWorkerLifetime -------------------------------------------------------------


def test_pool_worker_lifetime():
    """CPython _TestPoolWorkerLifetime.test_pool_worker_lifetime: with 3 workers and
    maxtasksperchild=10, 100 tasks give the right results and the workers are replaced
    (new pids). Counted here: no process ran more than 10 tasks."""
    with pb.Pool(3, display=None, max_tasks_per_child=10) as pool:
        futures = [pool.submit(sqr_and_pid, i) for i in range(100)]
        results = [f.result() for f in futures]
    assert [value for value, _ in results] == [sqr(i) for i in range(100)]
    per_pid = {}
    for _, pid in results:
        per_pid[pid] = per_pid.get(pid, 0) + 1
    assert len(per_pid) >= 10 and max(per_pid.values()) <= 10


def test_pool_worker_lifetime_early_close():
    """CPython _TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close (issue
    #10332): with maxtasksperchild=1, tasks submitted before the pool is closed still
    give their results, and closing does not hang. poolbars cancels pending work when
    the pool closes (a deliberate difference), so the port takes the results first, then
    closes with more tasks pending: each of those ends cancelled or done, never stuck."""
    with pb.Pool(3, display=None, max_tasks_per_child=1) as pool:
        futures = [pool.submit(sqr, i, 0.3) for i in range(6)]
        assert [f.result(timeout=20) for f in futures] == [sqr(i) for i in range(6)]
        pending = [pool.submit(sqr, i, 0.3) for i in range(6)]
        closing = time.monotonic()
    assert time.monotonic() - closing < 10
    for future in pending:
        assert future.done()
        assert future.cancelled() or future.result() == sqr(pending.index(future))


def test_pool_maxtasksperchild_invalid():
    """CPython _TestPoolWorkerLifetime.test_pool_maxtasksperchild_invalid: 0, -1, 0.5 and
    "12" are refused with ValueError."""
    for value in (0, -1, 0.5, "12"):
        with pytest.raises(ValueError, match="max_tasks_per_child"):
            pb.Pool(3, display=None, max_tasks_per_child=value)


def test_worker_finalization_via_atexit_handler_of_multiprocessing(tmp_path):
    """CPython _TestPoolWorkerLifetime.test_worker_finalization_via_atexit_handler_of_
    multiprocessing (bpo-38744, bpo-39360): a script that leaves a pool open in a global
    object, after a map, exits with code 0 (and does not hang)."""
    script = tmp_path / "unclosed.py"
    script.write_text(textwrap.dedent("""
        import poolbars as pb
        problem = None
        class A:
            def __init__(self):
                self.pool = pb.Pool(1, display=None)
        def test():
            global problem
            problem = A()
            problem.pool.map(float, tuple(range(10)))
        if __name__ == "__main__":
            test()
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=20)
    assert done.returncode == 0, done.stderr

