"""The options module on its own: each check, and `PoolOptions` as a whole. No worker
process starts here: a `PoolOptions` (and a `Pool` before `start()`) opens nothing."""

import dataclasses
import inspect
import os
import re
from pathlib import Path

import multiprocess
import pytest

import poolbars as pb
from poolbars import options as opts
from poolbars.record.journal import Journal
from poolbars.options import PoolOptions

pytestmark = pytest.mark.timeout(30)


class ClientShaped:
    """What `check_cluster` recognises a Dask client by (submit and scheduler_info): the
    check looks at the shape only; tests/test_cluster.py runs a real cluster."""

    def submit(self, *args, **kwargs):
        raise AssertionError("an options check must not run anything on the cluster")

    def scheduler_info(self):
        return {"workers": {"tcp://a": {"nthreads": 3}, "tcp://b": {"nthreads": 2}}}


def message_of(error: pytest.ExceptionInfo) -> str:
    return str(error.value)


# -- each kind of check ------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, -1, 2.0, "3", True, None])
def test_check_whole_names_the_value_and_what_to_give(value):
    with pytest.raises(ValueError) as caught:
        opts.check_whole("retries", value, 1, "a whole number of attempts, 1 or more")
    assert message_of(caught) == f"retries={value!r}: give a whole number of attempts, 1 or more"


def test_check_whole_takes_whole_numbers_from_the_minimum():
    for value in (0, 1, 10**12):
        opts.check_whole("retries", value, 0, "anything")


def test_check_whole_or_none_takes_none_and_says_so():
    opts.check_whole_or_none("chunksize", None)
    opts.check_whole_or_none("chunksize", 1)
    with pytest.raises(ValueError, match=re.escape("chunksize=0: give a whole number, 1 or "
                                                   "more, or None")):
        opts.check_whole_or_none("chunksize", 0)


@pytest.mark.parametrize("value", [0, -0.5, "5", [1]])
def test_check_seconds_refuses_what_is_not_seconds_above_zero(value):
    with pytest.raises(ValueError) as caught:
        opts.check_seconds("timeout", value)
    assert message_of(caught) == (f"timeout={value!r}: give a number of seconds above 0, "
                                  "or None")


def test_check_seconds_takes_none_ints_and_floats():
    for value in (None, 1, 0.001, 3600.0):
        opts.check_seconds("timeout", value)


def test_check_callable_refuses_a_value_that_cannot_be_called():
    opts.check_callable("on_exit", None)
    opts.check_callable("on_exit", print)
    with pytest.raises(TypeError) as caught:
        opts.check_callable("on_exit", "print")
    assert message_of(caught) == ("on_exit='print': it is not callable; give a function, "
                                  "or None")


def test_check_choice_lists_the_choices_or_says_the_given_fix():
    opts.check_choice("on_error", "skip", opts.ON_ERROR)
    with pytest.raises(ValueError) as caught:
        opts.check_choice("on_error", "ignore", opts.ON_ERROR)
    assert message_of(caught) == ("on_error='ignore': choose one of "
                                  "('raise', 'return', 'skip')")
    with pytest.raises(ValueError) as caught:
        opts.check_choice("resume", "yes", opts.RESUME, opts.RESUME_FIX)
    assert message_of(caught).startswith("resume='yes': give True (skip what the journal")


def test_check_start_method_gives_the_default_for_none_and_refuses_the_unknown():
    assert opts.check_start_method(None) == opts.default_start_method()
    assert opts.check_start_method("spawn") == "spawn"
    assert opts.default_start_method() in ("forkserver", "spawn")
    with pytest.raises(ValueError) as caught:
        opts.check_start_method("teleport")
    assert message_of(caught) == ("start_method='teleport': it is not available here; "
                                  f"choose one of {multiprocess.get_all_start_methods()}")


@pytest.mark.parametrize("worker_args", ["gpu0,gpu1", [{"gpu": 0}, "gpu1"], {"gpu": 0}])
def test_check_worker_args_wants_a_list_of_dicts(worker_args):
    with pytest.raises(TypeError) as caught:
        opts.check_worker_args(worker_args, 2)
    assert message_of(caught) == (f"worker_args={worker_args!r}: give a list with one dict "
                                  'per worker, e.g. [{"gpu": 0}, {"gpu": 1}]')


def test_check_worker_args_wants_one_dict_per_process():
    opts.check_worker_args(None, 3)
    opts.check_worker_args(({"gpu": 0}, {"gpu": 1}), 2)
    with pytest.raises(ValueError) as caught:
        opts.check_worker_args([{"gpu": 0}], 2)
    assert message_of(caught) == ("worker_args=[{'gpu': 0}]: it has 1 dicts for 2 processes; "
                                  "give exactly one dict per worker")


def test_check_cluster_refuses_what_is_not_a_client():
    opts.check_cluster(None, {"timeout": 5})  # no cluster: local options are fine
    with pytest.raises(TypeError) as caught:
        opts.check_cluster("tcp://127.0.0.1:8786", {})
    assert message_of(caught) == ("cluster='tcp://127.0.0.1:8786': pass a distributed.Client "
                                  '(pip install "poolbars[dask]")')


def test_check_cluster_names_every_local_only_option_given():
    opts.check_cluster(ClientShaped(), {"timeout": None, "retries": 2})
    with pytest.raises(ValueError) as caught:
        opts.check_cluster(ClientShaped(), {"timeout": 5})
    assert message_of(caught) == ("timeout cannot be used with cluster=: leave it out; Dask "
                                  "starts and manages its own workers")
    given = dict.fromkeys(opts.LOCAL_ONLY, 1)
    with pytest.raises(ValueError) as caught:
        opts.check_cluster(ClientShaped(), given)
    assert message_of(caught).startswith(", ".join(opts.LOCAL_ONLY) + " cannot be used with "
                                         "cluster=: leave them out")


def test_check_panel_wants_a_panel():
    opts.check_panel(None)
    with pytest.raises(TypeError) as caught:
        opts.check_panel("my panel")
    assert message_of(caught) == ("panel='my panel': pass a poolbars.Panel (or None for a "
                                  "panel of the pool's own)")


def test_check_path_takes_str_and_pathlike_only(tmp_path):
    for value in (None, "run.jsonl", tmp_path, Path("x")):
        opts.check_path("journal", value)
    with pytest.raises(TypeError) as caught:
        opts.check_path("journal", 7)
    assert message_of(caught) == ("journal=7: give a file or directory path (a str or a "
                                  "pathlib.Path), or None")


def test_check_arguments_wants_something_tuple_takes():
    opts.check_arguments("initargs", ())
    opts.check_arguments("initargs", [1, 2])
    with pytest.raises(TypeError) as caught:
        opts.check_arguments("initargs", 5)
    assert message_of(caught) == "initargs=5: give a tuple of arguments, e.g. (1, 'a')"


def test_unknown_options_names_the_nearest_right_name_and_all_of_them():
    known = PoolOptions.names()
    one = opts.unknown_options({"retires": 2}, known)
    assert one.startswith("Pool got unknown option 'retires' (did you mean 'retries'?); ")
    assert one.endswith("the options are: " + ", ".join(known))
    two = opts.unknown_options({"procesess": 2, "zzz": 1}, known)
    assert two.startswith("Pool got unknown options 'procesess' (did you mean 'processes'?), "
                          "'zzz'; ")


# -- PoolOptions ---------------------------------------------------------------------------

def test_pool_options_are_exactly_pool_s_arguments_in_order():
    parameters = list(inspect.signature(pb.Pool.__init__).parameters)
    assert PoolOptions.names() == [p for p in parameters if p not in ("self", "unknown")]
    defaults = {p.name: p.default for p in inspect.signature(pb.Pool.__init__).parameters
                .values() if p.default is not inspect.Parameter.empty}
    assert {f.name: f.default for f in dataclasses.fields(PoolOptions)} == defaults


def test_pool_options_fill_in_what_none_stands_for():
    options = PoolOptions()
    assert options.processes == (os.cpu_count() or 1)
    assert options.start_method == opts.default_start_method()
    assert PoolOptions(worker_args=[{"gpu": 0}, {"gpu": 1}]).processes == 2
    assert PoolOptions(cluster=ClientShaped()).processes == 5  # the cluster's threads


def test_pool_options_are_normalised_and_frozen():
    options = PoolOptions(2, initargs=[1, 2], worker_args=[{"a": 1}, {"a": 2}],
                          capture_tqdm=0)
    assert options.initargs == (1, 2) and options.worker_args == ({"a": 1}, {"a": 2})
    assert options.capture_tqdm is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.retries = 3


@pytest.mark.parametrize("given, error, message", [
    ({"processes": 0}, ValueError, "processes=0: give a whole number of worker processes"),
    ({"processes": 1.5}, ValueError, "processes=1.5: give a whole number"),
    ({"worker_args": 5}, TypeError, "worker_args=5: give a list with one dict per worker"),
    ({"on_error": "ignore"}, ValueError, "on_error='ignore': choose one of"),
    ({"retries": -1}, ValueError, "retries=-1: give a whole number of extra attempts"),
    ({"timeout": 0}, ValueError, "timeout=0: give a number of seconds above 0"),
    ({"setup_timeout": "10"}, ValueError, "setup_timeout='10': give a number of seconds"),
    ({"stale_after": -2}, ValueError, "stale_after=-2: give a number of seconds"),
    ({"chunksize": 0}, ValueError, "chunksize=0: give a whole number, 1 or more, or None"),
    ({"max_in_flight": 2.5}, ValueError, "max_in_flight=2.5: give a whole number"),
    ({"max_tasks_per_child": "12"}, ValueError, "max_tasks_per_child='12': give a whole"),
    ({"initializer": 3}, TypeError, "initializer=3: it is not callable"),
    ({"on_success": "log"}, TypeError, "on_success='log': it is not callable"),
    ({"on_failure": 1}, TypeError, "on_failure=1: it is not callable"),
    ({"on_exit": []}, TypeError, "on_exit=[]: it is not callable"),
    ({"start_method": "teleport"}, ValueError, "start_method='teleport': it is not available"),
    ({"display": "fancy"}, ValueError, "display='fancy'"),
    ({"initargs": 5}, TypeError, "initargs=5: give a tuple of arguments"),
    ({"panel": "p"}, TypeError, "panel='p': pass a poolbars.Panel"),
    ({"resume": "maybe"}, ValueError, "resume='maybe': give True"),
    ({"journal": 3}, TypeError, "journal=3: give a file or directory path"),
    ({"cluster": "tcp://x:1"}, TypeError, "cluster='tcp://x:1': pass a distributed.Client"),
    ({"cluster": ClientShaped(), "start_method": "spawn"}, ValueError,
     "start_method cannot be used with cluster="),
])
def test_every_pool_option_is_checked_with_its_value_and_the_fix(given, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        PoolOptions(**given)
    with pytest.raises(error, match="^" + re.escape(message)):
        pb.Pool(**given)  # the Pool checks through the same record


def test_build_names_misspelt_options():
    with pytest.raises(TypeError, match=re.escape("'retires' (did you mean 'retries'?)")):
        PoolOptions.build(2, retires=1)
    assert PoolOptions.build(2, retries=1).retries == 1


# -- the users of the checks ---------------------------------------------------------------

def test_a_pool_keeps_its_options_as_attributes():
    pool = pb.Pool(2, display=None, retries=1, timeout=5, worker_args=({}, {}),
                   journal="run.jsonl", initargs=[1])
    assert pool.options == PoolOptions(2, display=None, retries=1, timeout=5,
                                       worker_args=({}, {}), journal="run.jsonl",
                                       initargs=(1,))
    assert (pool.processes, pool.retries, pool.timeout) == (2, 1, 5)
    assert pool.worker_args == [{}, {}] and pool.initargs == (1,)
    assert pool.journal_path == "run.jsonl" and pool.start_method == opts.default_start_method()
    pool.close()  # never started: nothing to stop


def test_pb_map_checks_its_options_before_anything_runs():
    with pytest.raises(ValueError, match=re.escape("retries=-1: give a whole number")):
        pb.map(abs, [1], processes=1, display=None, retries=-1)


def test_run_commands_checks_retries_and_timeout_before_anything_runs():
    pool = pb.Pool(1, display=None)
    with pytest.raises(ValueError, match=re.escape("retries=1.5: give a whole number")):
        pool.run_commands([["true"]], retries=1.5)
    with pytest.raises(ValueError, match=re.escape("timeout=0: give a number of seconds")):
        pool.run_commands([["true"]], timeout=0)
    assert pool.started_at is None  # refused before the pool started
    pool.close()


def test_panel_checks_stale_after_like_the_pool():
    with pytest.raises(ValueError, match=re.escape("stale_after=0: give a number of seconds "
                                                   "above 0, or None")):
        pb.Panel(display=None, stale_after=0)


def test_journal_checks_resume_and_path_like_the_pool(tmp_path):
    with pytest.raises(ValueError, match=re.escape("resume='maybe': give True")):
        Journal(tmp_path / "j.jsonl", resume="maybe")
    with pytest.raises(TypeError, match=re.escape("journal=3: give a file or directory path")):
        Journal(3)
    assert not (tmp_path / "j.jsonl").exists()  # refused before the file was touched
