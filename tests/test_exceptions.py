"""Exceptions and results cross the process boundary intact: a task's exception comes back
as its own type (also when plain pickle cannot rebuild it, and when its class lives in
`__main__` — a script or a notebook cell), any BaseException a task raises is that item's
error, and a result that cannot travel — or that kills its worker on the way — fails its
own item and no other. Real worker processes throughout; each test is bounded."""

import json
import os
import subprocess
import sys
import textwrap

import nbformat
import pytest

import poolbars as pb

pytestmark = pytest.mark.timeout(120)


def adds_up(stats) -> bool:
    s = stats
    return s.done + s.failed + s.timed_out + s.crashed + s.cancelled == s.total


def calls(stamp_dir) -> dict:
    """How many times each item ran: item -> count (each run appends to its own file)."""
    return {int(name): len(open(os.path.join(stamp_dir, name)).read())
            for name in os.listdir(stamp_dir)}


def stamp(stamp_dir, x) -> None:
    with open(os.path.join(stamp_dir, str(x)), "a") as f:
        f.write("x")


# -- classes plain pickle cannot rebuild -----------------------------------------------------

class NeedsTwo(ValueError):
    """An __init__ with an extra required argument: pickle calls it with args only."""

    def __init__(self, what, code):
        super().__init__(f"{what} failed with code {code}")
        self.code = code


class HoldsAGenerator(RuntimeError):
    """Arguments that cannot be pickled (not even by dill)."""


class RefusesToPickle(LookupError):
    def __reduce__(self):
        raise TypeError("this exception refuses to be pickled")


def raise_hard(kind, x):
    if x == 3:
        if kind == "init":
            raise NeedsTwo("the upload", 42)
        if kind == "args":
            raise HoldsAGenerator("lost the stream", (i for i in range(3)))
        raise RefusesToPickle("no such key anywhere")
    return x * 10


@pytest.mark.parametrize("kind, cls, base, message", [
    ("init", NeedsTwo, ValueError, "the upload failed with code 42"),
    ("args", HoldsAGenerator, RuntimeError, "lost the stream"),
    ("reduce", RefusesToPickle, LookupError, "no such key anywhere"),
])
def test_an_exception_plain_pickle_cannot_rebuild_comes_back_as_its_own_type(kind, cls, base,
                                                                            message):
    with pytest.raises(cls) as caught:
        pb.map(lambda x: raise_hard(kind, x), range(6), processes=2, display=None, chunksize=2)
    exc = caught.value
    assert isinstance(exc, pb.TaskFailed) and isinstance(exc, base)
    assert message in str(exc) and "raise_hard" in exc.traceback and exc.index == 3
    if kind == "init":
        assert exc.code == 42
    with pb.Pool(2, display=None, chunksize=2, on_error="return") as pool:
        results = pool.starmap(raise_hard, [(kind, x) for x in range(6)])
    assert [r for i, r in enumerate(results) if i != 3] == [0, 10, 20, 40, 50]
    (failure,) = pool.failures
    assert failure.index == 3 and failure.exc_type == cls.__qualname__
    assert message in failure.message
    assert isinstance(failure.to_exception(), cls) and adds_up(pool.stats)


# -- classes defined in __main__ ---------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import json, sys
    import poolbars as pb

    class MyError(ValueError):
        pass

    class Coded(MyError):
        def __init__(self, what, code):
            super().__init__(f"{what}: code {code}")
            self.code = code

    def task(x):
        if x == 2:
            raise MyError(f"bad item {x}")
        if x == 4:
            raise Coded("worse item", 7)
        return x

    if __name__ == "__main__":
        out = {}
        try:
            pb.map(task, range(6), processes=2, display=None, start_method=sys.argv[1])
        except MyError as e:
            out["caught"] = [type(e).__name__, isinstance(e, ValueError),
                             isinstance(e, pb.TaskFailed), str(e), "task" in e.traceback]
        with pb.Pool(2, display=None, on_error="return", start_method=sys.argv[1]) as pool:
            results = pool.map(task, range(6))
        e = pool.failures[1].to_exception()
        out["coded"] = [isinstance(e, Coded), isinstance(e, MyError), e.code, str(e)]
        out["results"] = [r if isinstance(r, int) else r.exc_type for r in results]
        s = pool.stats
        out["adds_up"] = s.done + s.failed + s.crashed + s.timed_out + s.cancelled == s.total
        print(json.dumps(out))
""")


@pytest.mark.parametrize("start_method", ["forkserver", "spawn", "fork"])
def test_an_exception_class_defined_in_the_script_comes_back_as_itself(tmp_path, start_method):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    run = subprocess.run([sys.executable, str(script), start_method], capture_output=True,
                         text=True, timeout=100, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["caught"] == ["MyError", True, True, "bad item 2", True]
    assert out["coded"] == [True, True, 7, "worse item: code 7"]
    assert out["results"] == [0, 1, "MyError", 3, "Coded", 5]
    assert out["adds_up"]


NOTEBOOK_CELLS = [
    "import poolbars as pb\nSTART_METHOD = {start_method!r}",
    "class MyError(ValueError):\n    pass",
    "def task(x):\n    if x == 2:\n        raise MyError(f'bad item {x}')\n    return x",
    textwrap.dedent("""\
        try:
            pb.map(task, range(5), processes=2, display=None, start_method=START_METHOD)
        except ValueError as e:
            caught = e
        assert type(caught).__name__ == "MyError", repr(caught)
        assert isinstance(caught, MyError) and isinstance(caught, pb.TaskFailed)
        assert str(caught) == "bad item 2" and "task" in caught.traceback
        print("CAUGHT-AS-MYERROR")"""),
    textwrap.dedent("""\
        with pb.Pool(2, display=None, on_error="return", chunksize=2,
                     start_method=START_METHOD) as pool:
            results = pool.map(lambda x: task(x), range(5))
        assert [r for i, r in enumerate(results) if i != 2] == [0, 1, 3, 4]
        assert isinstance(pool.failures[0].to_exception(), MyError)
        s = pool.stats
        assert s.done + s.failed + s.crashed + s.timed_out + s.cancelled == s.total == 5
        print("RETURNED-IN-PLACE")"""),
]


@pytest.mark.parametrize("start_method", ["forkserver", "spawn", "fork"])
def test_an_exception_class_defined_in_a_notebook_cell_comes_back_as_itself(tmp_path,
                                                                            start_method):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    cells = [NOTEBOOK_CELLS[0].format(start_method=start_method), *NOTEBOOK_CELLS[1:]]
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
        NotebookClient(nb, timeout=100, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for cell in nb.cells for o in cell.outputs)
    assert "CAUGHT-AS-MYERROR" in printed and "RETURNED-IN-PLACE" in printed


def raises_a_class_of_its_own(x):
    class Elsewhere(ValueError):  # exists in the worker only: the parent cannot find it
        pass
    raise Elsewhere(f"item {x}")


def test_an_exception_whose_class_the_parent_cannot_find_is_a_task_failed_naming_it():
    with pytest.raises(pb.TaskFailed) as caught:
        pb.map(raises_a_class_of_its_own, [4], processes=1, display=None)
    exc = caught.value
    assert str(exc).endswith("Elsewhere: item 4") and "raises_a_class_of_its_own" in exc.traceback


# -- any BaseException is the item's error ---------------------------------------------------

class Halt(BaseException):
    pass


def raises_base(x, stamp_dir):
    stamp(stamp_dir, x)
    if x == 2:
        raise KeyboardInterrupt("from the task")
    if x == 5:
        raise Halt("halted")
    if x == 9:
        sys.exit(3)
    return x


def test_keyboard_interrupt_and_other_base_exceptions_fail_their_item_as_an_error(tmp_path):
    with pb.Pool(2, display=None, chunksize=4, on_error="return") as pool:
        results = pool.starmap(raises_base, [(x, str(tmp_path)) for x in range(12)])
    kinds = {f.index: (f.kind, f.exc_type) for f in pool.failures}
    assert kinds == {2: ("error", "KeyboardInterrupt"), 5: ("error", "Halt"),
                     9: ("crashed", "WorkerCrashed")}
    assert "exited with code 3" in results[9].message
    assert "from the task" in results[2].message and "halted" in results[5].message
    assert [r for i, r in enumerate(results) if i not in kinds] == [0, 1, 3, 4, 6, 7, 8, 10, 11]
    runs = calls(tmp_path)
    assert all(runs[x] == 1 for x in range(8)), runs  # the errors re-ran nothing
    s = pool.stats
    assert (s.done, s.failed, s.crashed) == (9, 2, 1) and adds_up(s)
    with pytest.raises(pb.TaskFailed, match="KeyboardInterrupt: from the task"):
        pb.map(lambda x: raises_base(x, str(tmp_path)), [2], processes=1, display=None)


# -- an exception whose text cannot be had ---------------------------------------------------

class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("__str__ exploded")

    def __repr__(self):
        raise RuntimeError("__repr__ exploded")


class InterruptsItsPrinter(Exception):
    def __str__(self):
        raise KeyboardInterrupt("__str__ interrupted")


def raises_unprintable(cls, x, stamp_dir):
    stamp(stamp_dir, x)
    if x == 2:
        raise cls("never shown")
    return x


@pytest.mark.parametrize("cls, why", [(Unprintable, "RuntimeError: __str__ exploded"),
                                      (InterruptsItsPrinter, "__str__ interrupted")])
def test_an_exception_whose_str_raises_fails_its_item_with_a_stand_in_message(tmp_path, cls,
                                                                              why):
    with pb.Pool(1, display=None, chunksize=4, on_error="return") as pool:
        results = pool.starmap(raises_unprintable, [(cls, x, str(tmp_path)) for x in range(8)])
    (failure,) = pool.failures
    assert failure.index == 2 and failure.kind == "error" and failure.exc_type == cls.__name__
    assert "str() failed" in failure.message and why in failure.message
    assert [r for i, r in enumerate(results) if i != 2] == [0, 1, 3, 4, 5, 6, 7]
    assert calls(tmp_path) == {x: 1 for x in range(8)}  # nothing re-ran: no worker died
    assert pool.stats.crashed == 0 and adds_up(pool.stats)


# -- results that cannot travel --------------------------------------------------------------

def refuse_to_load():
    raise RuntimeError("this result cannot be rebuilt here")


class Unloadable:
    def __reduce__(self):
        return (refuse_to_load, ())


def returns_unloadable(x, stamp_dir):
    stamp(stamp_dir, x)
    return Unloadable() if x == 5 else x


def test_a_result_that_cannot_be_unpickled_fails_its_own_item_only(tmp_path):
    with pb.Pool(2, display=None, chunksize=4, on_error="return") as pool:
        results = pool.starmap(returns_unloadable, [(x, str(tmp_path)) for x in range(12)])
    assert calls(tmp_path) == {x: 1 for x in range(12)}  # its chunk's results were kept
    (failure,) = pool.failures
    assert failure.index == 5 and failure.kind == "error"
    assert "could not be unpickled in the parent" in failure.message
    assert "cannot be rebuilt here" in failure.message
    assert [r for i, r in enumerate(results) if i != 5] == [i for i in range(12) if i != 5]
    s = pool.stats
    assert (s.done, s.failed, s.crashed) == (11, 1, 0) and adds_up(s)


class KillsItsWorker:
    def __reduce__(self):
        os._exit(7)


def dies_sending(how, x):
    if x == 5:
        if how == "reduce":
            return KillsItsWorker()
        os.closerange(3, 1024)
    return x


@pytest.mark.parametrize("how", ["reduce", "closed-fds"])
def test_a_worker_that_dies_sending_a_result_is_pinned_on_that_item(how):
    with pb.Pool(2, display=None, chunksize=4, on_error="return") as pool:
        results = pool.starmap(dies_sending, [(how, x) for x in range(12)])
    (failure,) = pool.failures
    assert failure.index == 5 and failure.kind == "crashed", pool.failures
    assert [r for i, r in enumerate(results) if i != 5] == [i for i in range(12) if i != 5]
    s = pool.stats
    assert (s.done, s.failed, s.crashed) == (11, 0, 1) and adds_up(s)
    overall = pool.snapshot()["overall"]  # the panel agrees: nothing left pending
    assert (overall["done"], overall["crashed"], overall["pending"]) == (11, 1, 0)


def exits_at_one(x):
    if x == 1:
        os._exit(3)
    return x


def test_a_crash_raised_in_the_parent_names_its_type_once():
    with pytest.raises(pb.WorkerCrashed) as caught:
        with pb.Pool(1, display=None) as pool:
            pool.map(exits_at_one, range(3))
    message = str(caught.value)
    assert message == pool.failures[0].message
    assert "exited with code 3" in message and not message.startswith("WorkerCrashed")
