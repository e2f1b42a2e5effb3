"""tqdm inside tasks becomes the task's bar; pb.tqdm is a drop-in that needs no tqdm."""

import json
import os
import subprocess
import sys

import pytest

import poolbars as pb


def with_real_tqdm(n):
    from tqdm.auto import tqdm
    import tqdm as t

    total = 0
    for i in tqdm(range(n), desc=f"inner {n}"):
        total += i
    with t.tqdm(total=10, desc="manual") as bar:
        for _ in range(10):
            bar.update(1)
        bar.set_postfix(loss=0.5)
        assert isinstance(bar, t.tqdm)
    for _ in t.trange(3):
        pass
    return total


def test_real_tqdm_in_tasks_is_captured_into_the_panel_and_prints_nothing(capfd):
    with pb.Pool(2, display=None) as pool:
        assert pool.map(with_real_tqdm, [10, 100, 1000]) == [45, 4950, 499500]
    state = pool.state
    assert state.bars_finished == 9 and state.bar_units == 10 + 100 + 1000 + 3 * (10 + 3)
    err = capfd.readouterr().err
    assert "it/s" not in err and "inner" not in err and "manual" not in err


def test_capture_can_be_turned_off(capfd):
    with pb.Pool(1, display=None, capture_tqdm=False) as pool:
        pool.map(with_real_tqdm, [10])
    assert pool.state.bars_finished == 0
    assert "inner 10" in capfd.readouterr().err


def with_pb_tqdm(n):
    total = 0
    bar = pb.tqdm(total=n, desc="counting", unit="rows", postfix={"phase": "one"})
    for i in pb.tqdm(range(n), leave=False, mininterval=0.5, position=1):
        total += i
        bar.update(1)
    bar.set_description("done counting")
    bar.close()
    return total


def test_pb_tqdm_is_a_drop_in_inside_tasks():
    with pb.Pool(2, display=None) as pool:
        assert pool.map(with_pb_tqdm, [5, 50]) == [10, 1225]
    assert pool.state.bars_finished == 4 and pool.state.bar_units == 2 * (5 + 50)


def test_pb_tqdm_in_the_main_process_and_disabled():
    seen = [x for x in pb.tqdm(range(30), desc="main")]
    assert seen == list(range(30))
    assert list(pb.tqdm([1, 2, 3], disable=True)) == [1, 2, 3]
    assert len(pb.tqdm(range(7), disable=True)) == 7


# Every way a script binds tqdm at its top, used in a task: a module-level name is bound
# before the worker's capture is installed (the script is imported first under spawn and
# forkserver, inherited under fork), so capture must reach classes bound early.
BOUND_AT_THE_TOP = '''
import asyncio, json, sys, threading
import poolbars as pb
from tqdm import tqdm as t_tqdm, trange as t_trange
from tqdm.std import tqdm as std_tqdm, trange as std_trange
from tqdm.auto import tqdm as auto_tqdm, trange as auto_trange
from tqdm.autonotebook import tqdm as an_tqdm, trange as an_trange
from tqdm.notebook import tqdm as nb_tqdm, trange as nb_trange
from tqdm.asyncio import tqdm as aio_tqdm, trange as aio_trange, tqdm_asyncio
from tqdm.rich import tqdm as rich_tqdm, trange as rich_trange
from tqdm.contrib.concurrent import thread_map
import tqdm
import tqdm.auto
from helper_module import in_a_module

CLASSES = [t_tqdm, std_tqdm, auto_tqdm, an_tqdm, nb_tqdm, aio_tqdm, tqdm_asyncio, rich_tqdm,
           tqdm.tqdm, tqdm.auto.tqdm]
RANGES = [t_trange, std_trange, auto_trange, an_trange, nb_trange, aio_trange, rich_trange,
          tqdm.trange, tqdm.auto.trange]


async def count_async(n):
    return len([i async for i in aio_tqdm(range(n), desc="async")])


def task(n):
    for cls in CLASSES:
        with cls(total=n, desc=cls.__module__) as bar:
            bar.update(n)
    for trange in RANGES:
        assert sum(1 for _ in trange(n)) == n
    assert sum(1 for _ in nb_tqdm(range(n), display=False)) == n  # a notebook-only option
    assert thread_map(str, range(n), max_workers=2) == [str(i) for i in range(n)]
    assert asyncio.run(count_async(n)) == n
    threads = [threading.Thread(target=lambda: sum(1 for _ in auto_tqdm(range(n))))
               for _ in range(2)]  # two bars at once, from threads of the task
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return in_a_module(n) + len(CLASSES) + len(RANGES) + 3 + len(threads)


if __name__ == "__main__":
    with pb.Pool(2, display=None, start_method=sys.argv[1]) as pool:
        made = sum(pool.map(task, [7, 11]))
    print(json.dumps([made, pool.state.bars_finished]))
'''

HELPER_MODULE = '''
from tqdm.auto import tqdm


def in_a_module(n):
    for _ in tqdm(range(n), desc="in a module"):
        pass
    return 1
'''


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_tqdm_bound_at_the_top_of_a_script_is_captured(tmp_path, start_method):
    (tmp_path / "helper_module.py").write_text(HELPER_MODULE)
    script = tmp_path / "bound_at_the_top.py"
    script.write_text(BOUND_AT_THE_TOP)
    path = os.pathsep.join([str(tmp_path), *sys.path])
    run = subprocess.run([sys.executable, str(script), start_method], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": path})
    assert run.returncode == 0, run.stderr
    made, finished = json.loads(run.stdout.splitlines()[-1])
    assert made == 2 * 25 and finished == made
    assert "\r" not in run.stderr and "it/s" not in run.stderr, run.stderr
