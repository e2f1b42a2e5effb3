"""Conformance: mpire's pool tests, ported to poolbars.

Source: tests/test_pool.py of mpire (sybrenjansen/mpire). Written fresh against
poolbars' API; each test names the test it comes from and keeps what it asserts.

How mpire's options map here: `n_jobs` -> `processes`; `max_tasks_active` ->
`max_in_flight`; `worker_lifespan` -> `max_tasks_per_child`; `chunk_size` ->
`chunksize` (a Pool option); `task_timeout` -> `timeout`; `worker_init` -> `initializer`
(and `Worker.setup`); `worker_exit` -> `Worker.teardown`; `pass_worker_id` ->
`pb.worker_id()`; `use_worker_state` -> `pb.worker_state()` (always on);
`progress_bar` -> `display`. mpire's `map` unpacks tuple items into arguments: that is
poolbars' `starmap`; for `imap` the task takes the tuple.

Not ported, and why:
- `MapTest.test_numpy_input`, `ProgressBarTest.test_valid_progress_bars_numpy_input`:
  `concatenate_numpy_output` has no equivalent, and numpy is not a test dependency.
- `n_splits` (in `test_all_maps`), `map_unordered`, `iterable_len`: no equivalent
  (`imap_unordered` covers unordered results; the length of a sized input is read).
- `SharedObjectsTest` as such: there is no `shared_objects`; the port passes them with
  `initargs` into `worker_state()` (`test_shared_objects_by_initializer`).
- `InitFuncTest`/`ExitFuncTest`/... `test_start_methods`: each class's run over the start
  methods is folded into `test_start_methods` and `test_pool_in_thread`; 'threading' is
  not a poolbars start method.
- `ExitFuncTest.test_no_exit_func`, `test_exit_func_big_payload`: there are no exit
  results (`get_exit_results`); teardown's effects are checked through files instead.
- `KeepAliveTest.test_dont_keep_alive`: a poolbars pool always keeps its workers between
  maps; a new Pool gives new workers.
- `CPUPinningTest` (`cpu_ids`), `OrderTasksTest` (`order_tasks`),
  `ProgressBarTest.test_invalid_progress_bar_position`: no such options.
- `DaemonTest.test_deamon_nested_workerpool` (`daemon=`): no such option; the nested
  case is `test_non_daemon_nested_workerpool`.
- `TimeoutTest.test_worker_exit_timeout`'s TimeoutError: there is no teardown timeout; a
  teardown that hangs is killed when the pool closes, so the port checks closing is
  bounded and the results are right.
- mpire's `start_method="threading"`: poolbars runs processes only.
- Sizes, to keep the suite short: `test_exceptions` runs 4 of mpire's 8 settings (each of
  n_jobs, max_tasks_active, worker_lifespan and the progress bar is still varied), and
  the results beyond a pipe's capacity are 4 of 1 MB rather than 13.
"""

import os
import signal
import sys
import threading
import time
import types

import multiprocess
import pytest

import poolbars as pb

pytestmark = pytest.mark.timeout(30)

TEST_DATA = list(enumerate([1, 2, 3, 5, 6, 9, 37, 42, 1337, 0, 3, 5, 0]))


def square(idx, x):
    return idx, x * x


def square_pair(pair):
    return square(*pair)


def extremely_large_output(pair):
    return pair[0], os.urandom(1024 * 1024)


def subtract(x, y):
    return x - y


DESIRED = [square(*pair) for pair in TEST_DATA]


def lines_of(path: str) -> list[str]:
    """The lines written to the file `path` so far ([] if none)."""
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def lines(path) -> list[str]:
    return lines_of(str(path))


def append_line(path: str, text: str) -> None:
    with open(path, "a") as f:
        f.write(text + "\n")


def generator(iterable):
    yield from iterable


# -- MapTest ----------------------------------------------------------------------------


@pytest.mark.parametrize("processes, max_in_flight, max_tasks_per_child, chunksize", [
    (None, None, None, None), (1, None, None, None), (2, None, None, None),
    (2, 2, None, None), (2, None, 2, None), (2, None, None, 3), (2, None, 1, 3)])
def test_all_maps(processes, max_in_flight, max_tasks_per_child, chunksize):
    """mpire MapTest.test_all_maps: map, imap and imap_unordered equal the builtin map
    (unordered: once sorted), return a list / a generator, work for a list, a generator
    and an empty list, and for results beyond a pipe's capacity (1 MB each), with
    max_tasks_active, worker_lifespan and chunk_size set."""
    with pb.Pool(processes, display=None, max_in_flight=max_in_flight,
                 max_tasks_per_child=max_tasks_per_child, chunksize=chunksize) as pool:
        for source in (TEST_DATA, generator(TEST_DATA)):
            results = pool.starmap(square, source)
            assert isinstance(results, list) and results == DESIRED
        for source in (TEST_DATA, generator(TEST_DATA)):
            results = pool.imap(square_pair, source)
            assert isinstance(results, types.GeneratorType) and list(results) == DESIRED
        for source in (TEST_DATA, generator(TEST_DATA)):
            results = pool.imap_unordered(square_pair, source)
            assert isinstance(results, types.GeneratorType)
            assert sorted(results) == DESIRED
        assert pool.starmap(square, []) == []
        assert list(pool.imap(square_pair, [])) == []
        assert list(pool.imap_unordered(square_pair, [])) == []
        for mapping in (pool.map, pool.imap, pool.imap_unordered):
            big = list(mapping(extremely_large_output, TEST_DATA[:4]))
            assert len(big) == 4
            assert all(len(payload) == 1024 * 1024 for _, payload in big)


def test_dictionary_input():
    """mpire MapTest.test_dictionary_input: a dict of keyword arguments is passed as
    keywords (subtract(x=5, y=2) == 3, subtract(y=5, x=2) == -3); a missing or unknown
    keyword raises TypeError. poolbars passes keywords through submit()."""
    with pb.Pool(1, display=None) as pool:
        assert pool.submit(subtract, **{"x": 5, "y": 2}).result() == 3
        assert pool.submit(subtract, **{"y": 5, "x": 2}).result() == -3
        with pytest.raises(TypeError):
            pool.submit(subtract, **{"x": 5, "z": 2}).result()
        with pytest.raises(TypeError):
            pool.submit(subtract, **{"x": 5, "y": 2, "z": 2}).result()


def start_methods():
    return [m for m in ("fork", "forkserver", "spawn") if m in
            multiprocess.get_all_start_methods()]


@pytest.mark.parametrize("start_method", start_methods())
def test_start_methods(start_method):
    """mpire MapTest.test_start_methods (and each class's test_start_methods, folded in):
    every start method gives the same results for map, imap and imap_unordered, and the
    worker ids are in range."""
    with pb.Pool(2, display=None, start_method=start_method) as pool:
        assert pool.starmap(square, TEST_DATA) == DESIRED
        assert list(pool.imap(square_pair, TEST_DATA)) == DESIRED
        assert sorted(pool.imap_unordered(square_pair, TEST_DATA)) == DESIRED
        assert set(pool.map(lambda _: pb.worker_id(), range(10))) <= {0, 1}


# -- PoolInThreadTest -----------------------------------------------------------------------


@pytest.mark.parametrize("start_method", start_methods())
def test_pool_in_thread(start_method):
    """mpire PoolInThreadTest.test_start_methods: a pool started in a thread that is not
    the main thread works, for every start method."""
    outcome = []

    def in_thread():
        try:
            assert threading.current_thread() is not threading.main_thread()
            with pb.Pool(2, display=None, start_method=start_method) as pool:
                outcome.append(pool.map(abs, [-1, -2, 3]))
        except BaseException as exc:  # the main thread asserts on it
            outcome.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(20)
    assert outcome == [[1, 2, 3]]


# -- WorkerIDTest, SharedObjectsTest, WorkerStateTest --------------------------------------


def id_in_range(processes):
    wid = pb.worker_id()
    return isinstance(wid, int) and 0 <= wid < processes


@pytest.mark.parametrize("processes", [1, 3])
def test_worker_id(processes):
    """mpire WorkerIDTest.test_by_constructor / test_by_config_function: each task sees
    an integer worker id in range(n_jobs); outside a pool there is none."""
    with pb.Pool(processes, display=None) as pool:
        assert pool.map(id_in_range, [processes] * 10) == [True] * 10
    assert pb.worker_id() is None


def keep_shared(shared):
    pb.worker_state()["shared"] = shared


def sees_shared(expected):
    return pb.worker_state()["shared"] == expected


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("shared", [(37, 42), {"1", "2", "3"}])
def test_shared_objects_by_initializer(processes, shared):
    """mpire SharedObjectsTest.test_by_constructor: every task sees the shared objects
    given to the pool (poolbars: initargs, kept in worker_state())."""
    with pb.Pool(processes, display=None, initializer=keep_shared,
                 initargs=(shared,)) as pool:
        assert pool.map(sees_shared, [shared] * 10) == [True] * 10


def count_in_state(arg):
    state, wid = pb.worker_state(), pb.worker_id()
    ok = isinstance(state, dict)
    state.setdefault("worker_id", set()).add(wid)
    ok &= state["worker_id"] == {wid}  # a worker's state is its own
    state.setdefault("args", []).append(arg)
    return wid, len(state["args"]), ok


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("n_tasks", [0, 1, 150])
def test_worker_state(processes, n_tasks):
    """mpire WorkerStateTest.test_by_constructor: a worker's state persists across its
    tasks and is its own (chunk_size=2): the last count each worker reports adds up to
    the number of tasks."""
    with pb.Pool(processes, display=None, chunksize=2) as pool:
        results = pool.map(count_in_state, range(n_tasks))
    per_worker = {}
    for wid, processed, ok in results:
        assert ok
        per_worker[wid] = max(per_worker.get(wid, 0), processed)
    assert sum(per_worker.values()) == n_tasks


# -- InitFuncTest ---------------------------------------------------------------------------


def init_state(path, workers=1):
    """Count this call in `path`; the first `workers` calls wait for each other (mpire's
    barrier), so every first worker has run it before any task does."""
    append_line(path, str(os.getpid()))
    deadline = time.monotonic() + 10
    while len(lines_of(path)) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    pb.worker_state()["test"] = 42


def add_test(x):
    return pb.worker_state()["test"] + x


def init_error(*_):
    raise ValueError(":(")


def test_no_init_func():
    """mpire InitFuncTest.test_no_init_func: without an init function, a task reading
    worker_state['test'] raises KeyError."""
    with pb.Pool(2, display=None) as pool:
        with pytest.raises(KeyError):
            pool.map(add_test, range(10))


@pytest.mark.parametrize("processes", [1, 3])
def test_init_func(tmp_path, processes):
    """mpire InitFuncTest.test_init_func: the init function runs once per worker (the
    count equals n_jobs) and what it puts in the worker state reaches every task."""
    calls = tmp_path / "init"
    with pb.Pool(processes, display=None, chunksize=1, initializer=init_state,
                 initargs=(str(calls), processes)) as pool:
        assert pool.map(add_test, range(10)) == list(range(42, 52))
    assert len(lines(calls)) == processes


@pytest.mark.parametrize("processes", [1, 3])
def test_init_func_worker_lifespan(tmp_path, processes):
    """mpire InitFuncTest.test_worker_lifespan: with worker_lifespan=1 and chunk_size=1
    every new worker runs the init function: between 10 and 10 + n_jobs calls for 10
    tasks."""
    calls = tmp_path / "init"
    with pb.Pool(processes, display=None, chunksize=1, max_tasks_per_child=1,
                 initializer=init_state, initargs=(str(calls), processes)) as pool:
        assert pool.map(add_test, range(10)) == list(range(42, 52))
    assert 10 <= len(lines(calls)) <= 10 + processes


@pytest.mark.timeout(20)
def test_init_func_error():
    """mpire InitFuncTest.test_error: an init function that raises ValueError makes the
    map raise ValueError (and the pool shuts down)."""
    with pytest.raises(ValueError, match=":\\("):
        with pb.Pool(2, display=None, initializer=init_error) as pool:
            pool.map(add_test, range(10))


# -- ExitFuncTest ---------------------------------------------------------------------------


class Summing(pb.Worker):
    """Counts what it processed; teardown writes the count (mpire's worker_exit)."""

    def setup(self, path):
        self.path = path
        self.count = 0
        append_line(path + ".setup", str(os.getpid()))

    def process(self, x):
        self.count += x
        return x

    def teardown(self):
        append_line(self.path, str(self.count))


class FailingTeardown(pb.Worker):
    def process(self, x):
        return x

    def teardown(self):
        raise ValueError(":'(")


class SlowTeardown(pb.Worker):
    def process(self, x):
        return x

    def teardown(self):
        time.sleep(60)


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("lifespan", [None, 1])
def test_exit_func(tmp_path, processes, lifespan):
    """mpire ExitFuncTest.test_exit_func and test_worker_lifespan: the exit function runs
    for every worker that was set up (also each one retired by worker_lifespan=1), and
    sees that worker's work: the exit values add up to sum(range(10))."""
    path = str(tmp_path / "exit")
    with pb.Pool(processes, display=None, chunksize=1, max_tasks_per_child=lifespan,
                 worker_args=[{"path": path}] * processes) as pool:
        assert pool.map(Summing, range(10)) == list(range(10))
    exits = lines(tmp_path / "exit")
    assert len(exits) == len(lines(tmp_path / "exit.setup"))
    assert sum(int(n) for n in exits) == sum(range(10))
    if lifespan == 1:
        assert len(exits) == 10


def test_exit_func_error():
    """mpire ExitFuncTest.test_error: an exit function that raises ValueError is not lost.
    poolbars keeps the results and reports it as a RuntimeWarning naming the error
    (issue 10, section 5) instead of raising it from map."""
    with pytest.warns(RuntimeWarning, match="ValueError"):
        with pb.Pool(2, display=None) as pool:
            assert pool.map(FailingTeardown, range(10)) == list(range(10))


def test_worker_exit_timeout():
    """mpire TimeoutTest.test_worker_exit_timeout: an exit function that takes too long
    does not hang the pool (mpire raises TimeoutError; poolbars has no teardown timeout:
    the worker is killed when the pool closes)."""
    with pb.Pool(2, display=None) as pool:
        assert pool.map(SlowTeardown, [1, 2, 3]) == [1, 2, 3]
        closing = time.monotonic()
    assert time.monotonic() - closing < 10


# -- DaemonTest -----------------------------------------------------------------------------


def nested_map(data):
    with pb.Pool(2, display=None) as pool:
        return pool.starmap(square, data)


@pytest.mark.timeout(60)
def test_non_daemon_nested_workerpool():
    """mpire DaemonTest.test_non_daemon_nested_workerpool: a pool made inside a task
    works. poolbars' contract (issue 10, section 2): it works, or it is refused at once
    with a message that says nested pools are not supported there."""
    with pb.Pool(1, display=None, on_error="return") as pool:
        started = time.monotonic()
        (result,) = pool.map(nested_map, [TEST_DATA])
    assert time.monotonic() - started < 30
    if isinstance(result, pb.Failure):
        assert "nested" in result.message.lower(), result.error
    else:
        assert result == DESIRED


# -- ProgressBarTest ------------------------------------------------------------------------


@pytest.mark.parametrize("display", [None, "log", "terminal"])
def test_valid_progress_bars_regular_input(display):
    """mpire ProgressBarTest.test_valid_progress_bars_regular_input and
    test_no_input_data: the results are the same with a progress display or without,
    also for an empty input."""
    with pb.Pool(2, display=display) as pool:
        assert pool.starmap(square, TEST_DATA) == DESIRED
        assert pool.starmap(square, []) == []


# -- KeepAliveTest --------------------------------------------------------------------------


def pid_times_two(x):
    return os.getpid(), x * 2


def pid_times_three(x):
    return os.getpid(), x * 3


@pytest.mark.parametrize("processes", [1, 3])
def test_keep_alive(tmp_path, processes):
    """mpire KeepAliveTest.test_keep_alive and test_keep_alive_map_params_change: the
    workers are reused across map calls, also when the function changes: the init
    function ran once per worker in all, and every call ran on the same processes."""
    calls = tmp_path / "init"
    data = [1, 2, 3, 5, 6, 9, 37, 42, 1337, 0, 3, 5, 0]
    with pb.Pool(processes, display=None, initializer=init_state,
                 initargs=(str(calls), processes)) as pool:
        first = pool.map(pid_times_two, data)
        second = list(pool.imap(pid_times_three, data))
        third = pool.map(pid_times_two, data)
    assert [v for _, v in first] == [v for _, v in third] == [x * 2 for x in data]
    assert [v for _, v in second] == [x * 3 for x in data]
    pids = {pid for pid, _ in first + second + third}
    assert len(lines(calls)) == processes
    assert pids <= {int(pid) for pid in lines(calls)}


# -- ExceptionTest --------------------------------------------------------------------------


def square_raises(_, x):
    raise ValueError(x)


def square_raises_on_idx(idx, x):
    if idx == 5:
        raise ValueError(x)
    return idx, x * x


def call_star(fn):
    return lambda pair: fn(*pair)


@pytest.mark.parametrize("processes, max_in_flight, lifespan, display", [
    (1, None, None, None), (3, None, None, None), (3, None, 1, None), (3, 1, 1, "log")])
def test_exceptions(processes, max_in_flight, lifespan, display):
    """mpire ExceptionTest.test_exceptions: a task raising ValueError (on every item, or
    on item 5 only) makes map and imap_unordered raise ValueError, with n_jobs,
    max_tasks_active, worker_lifespan and the progress bar varied."""
    with pb.Pool(processes, display=display, max_in_flight=max_in_flight,
                 max_tasks_per_child=lifespan) as pool:
        for fn in (square_raises, square_raises_on_idx):
            with pytest.raises(ValueError):
                pool.starmap(fn, TEST_DATA)
            with pytest.raises(ValueError):
                list(pool.imap_unordered(call_star(fn), TEST_DATA))


def exits(_):
    sys.exit(3)


@pytest.mark.parametrize("processes, lifespan", [(1, None), (3, 1), (3, 3)])
def test_defunct_processes_exit(processes, lifespan):
    """mpire ExceptionTest.test_defunct_processes_exit: a task that calls exit() does not
    hang the pool. mpire re-raises SystemExit in the parent; in poolbars a task's
    sys.exit() is a crash with its code (a deliberate difference): WorkerCrashed."""
    with pb.Pool(processes, display=None, max_tasks_per_child=lifespan) as pool:
        with pytest.raises(pb.WorkerCrashed, match="exited with code 3"):
            pool.map(exits, range(100))


def sleeps_on_zero(x, path):
    if x == 0:
        append_line(path, str(os.getpid()))
        time.sleep(60)
    return x * x


def kill_when_written(path, how=signal.SIGTERM):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not lines_of(path):
        time.sleep(0.02)
    os.kill(int(lines_of(path)[0]), how)


@pytest.mark.parametrize("processes, lifespan", [(1, None), (3, 1), (3, 3)])
def test_defunct_processes_kill(tmp_path, processes, lifespan):
    """mpire ExceptionTest.test_defunct_processes_kill: a worker terminated from outside
    while it runs a task makes the map raise (mpire: RuntimeError) instead of hanging.
    poolbars: WorkerCrashed, naming the signal, for the item it was running."""
    path = tmp_path / "busy"
    killer = threading.Thread(target=kill_when_written, args=(path,))
    killer.start()
    with pb.Pool(processes, display=None, chunksize=1, max_tasks_per_child=lifespan) as pool:
        with pytest.raises(pb.WorkerCrashed, match="SIGTERM") as caught:
            pool.map(lambda x: sleeps_on_zero(x, str(path)), range(100))
    killer.join()
    assert caught.value.index == 0


# -- TimeoutTest ----------------------------------------------------------------------------


def sleeps(x):
    time.sleep(5)
    return x


def slow_init():
    time.sleep(20)


def test_worker_task_timeout():
    """mpire TimeoutTest.test_worker_task_timeout: well below task_timeout the results
    come; past it, map and imap raise a timeout error (poolbars: TaskTimeout)."""
    with pb.Pool(2, display=None, timeout=100) as pool:
        assert pool.map(abs, [1, 2, 3]) == [1, 2, 3]
    with pb.Pool(2, display=None, timeout=0.5) as pool:
        with pytest.raises(pb.TaskTimeout):
            pool.map(sleeps, [1, 2, 3])
        with pytest.raises(pb.TaskTimeout):
            for _ in pool.imap(sleeps, [1, 2, 3]):
                pass


@pytest.mark.timeout(60)  # two starts that each wait out the 10 s setup allowance
def test_worker_init_timeout():
    """mpire TimeoutTest.test_worker_init_timeout: an init function well below its timeout
    lets the map run; one past it makes map and imap raise a timeout error. poolbars has
    one `timeout`; issue 10 (section 3): a start whose initializer hangs fails, raising a
    pb.TaskTimeout, once past its own allowance (`setup_timeout`, by default
    max(10 s, 10 × timeout))."""
    with pb.Pool(2, display=None, timeout=100, initializer=time.sleep,
                 initargs=(0.01,)) as pool:
        assert pool.map(abs, [1, 2, 3]) == [1, 2, 3]
    with pb.Pool(2, display=None, timeout=0.5, initializer=slow_init) as pool:
        with pytest.raises(pb.TaskTimeout):
            pool.map(abs, [1, 2, 3])
    with pb.Pool(2, display=None, timeout=0.5, initializer=slow_init) as pool:
        with pytest.raises(pb.TaskTimeout):
            for _ in pool.imap(abs, [1, 2, 3]):
                pass
