"""Results: one map's settled runs by position, and what each caller gets from them under
on_error — plain objects, no processes."""

import pytest

from poolbars import results as results_module
from poolbars.errors import Failure, RemoteFailure, TaskFailed
from poolbars.results import Results, finished_well, kept

pytestmark = pytest.mark.timeout(30)

POLICIES = ("raise", "return", "skip")


def failure(index: int) -> Failure:
    """A failed item as the dispatcher reports it: a ValueError raised by the task."""
    remote = RemoteFailure.from_exception(ValueError(f"bad item {index}"))
    return Failure(index, repr(index), "error", "ValueError", f"bad item {index}",
                   remote.traceback, 1, remote=remote)


def settle(results: Results, position: int, values: list, failed=()) -> list:
    """A run as `_settled` hands it on: each failed offset's place holds its stand-in."""
    values = list(values)
    for offset in failed:
        values[offset] = results.stand_in(failure(position + offset))
    results.add(position, values)
    return values


def outputs(results: Results, length: int) -> list:
    """Every value a caller can get out of `results`, by every way out."""
    seen = results.in_order() + results.in_place(length) + list(results.so_far().values())
    for values in results.runs.values():
        seen += kept(values) + [value for _, value in finished_well(values)]
    return seen


@pytest.mark.parametrize("on_error", POLICIES)
def test_runs_settled_out_of_order_come_back_in_input_order(on_error):
    results = Results(on_error)
    settle(results, 4, ["e", "f"])
    settle(results, 0, ["a"])
    settle(results, 6, ["g"])
    settle(results, 1, ["b", "c", "d"])
    assert results.in_order() == ["a", "b", "c", "d", "e", "f", "g"]
    assert results.in_place(7) == ["a", "b", "c", "d", "e", "f", "g"]
    assert results.not_run(7) == []
    assert results.so_far() == dict(enumerate("abcdefg"))


def test_imap_gets_each_run_once_its_turn_comes_and_keeps_only_what_waits():
    results = Results("raise")
    settle(results, 2, ["c"])
    assert results.next_in_order() is None  # position 0 has not settled
    settle(results, 0, ["a", "b"])
    assert results.next_in_order() == ["a", "b"]
    assert results.next_in_order() == ["c"]
    assert results.next_in_order() is None
    assert results.runs == {}  # nothing taken stays held
    settle(results, 3, ["d"])
    assert results.next_in_order() == ["d"]


def test_raise_raises_the_tasks_own_exception_type_with_its_index():
    results = Results("raise")
    with pytest.raises(ValueError, match="bad item 5") as caught:
        settle(results, 4, [1, 2, 3], failed=[1])
    assert isinstance(caught.value, TaskFailed)
    assert caught.value.index == 5
    assert results.runs == {}  # the failing run is never kept


def test_return_keeps_each_failure_at_its_items_place():
    results = Results("return")
    settle(results, 3, ["d", "x"], failed=[1])
    settle(results, 0, ["x", "b", "c"], failed=[0])
    out = results.in_order()
    assert len(out) == 5
    assert [type(value) for value in out] == [Failure, str, str, str, Failure]
    assert (out[0].index, out[4].index) == (0, 4)
    assert out[1:4] == ["b", "c", "d"]
    assert results.so_far() == {1: "b", 2: "c", 3: "d"}  # a failure is no result
    assert results.not_run(5) == []  # a failed item ran


def test_skip_leaves_failed_items_out_and_never_shows_the_placeholder():
    results = Results("skip")
    settle(results, 2, [2, "x", 4], failed=[1])
    settle(results, 0, ["x", 1], failed=[0])
    assert results.in_order() == [1, 2, 4]
    assert results.in_place(5) == [None, 1, 2, None, 4]  # no value moves
    assert results.so_far() == {1: 1, 2: 2, 4: 4}
    assert kept(results.runs[2]) == [2, 4]
    assert results.not_run(5) == []  # a skipped item ran: it is not "not run"
    assert results_module._SKIP not in outputs(results, 5)
    assert all(type(value) is int or value is None for value in outputs(results, 5))


def test_a_cut_short_map_keeps_every_value_at_its_place_with_none_where_none_ran():
    results = Results("skip")
    settle(results, 0, ["a", "b"])
    settle(results, 4, ["e", "x"], failed=[1])
    assert results.not_run(8) == [2, 3, 6, 7]
    assert results.in_place(8) == ["a", "b", None, None, "e", None, None, None]
    assert results.so_far() == {0: "a", 1: "b", 4: "e"}
    assert results_module._SKIP not in outputs(results, 8)


def test_partial_results_under_return_keep_the_failure_in_place():
    results = Results("return")
    settle(results, 1, ["x"], failed=[0])
    placed = results.in_place(3)
    assert placed[0] is None and placed[2] is None
    assert isinstance(placed[1], Failure) and placed[1].index == 1
    assert results.not_run(3) == [0, 2]


def test_a_map_with_nothing_settled_has_every_position_not_run():
    results = Results("raise")
    assert results.in_order() == []
    assert results.in_place(3) == [None, None, None]
    assert results.not_run(3) == [0, 1, 2]
    assert results.so_far() == {}


def test_so_far_is_a_copy_the_caller_may_change():
    results = Results("raise")
    settle(results, 0, ["a"])
    got = results.so_far()
    got[0] = "changed"
    assert results.so_far() == {0: "a"}


def test_an_unknown_policy_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"on_error='ignore': choose one of \('raise', "
                                         r"'return', 'skip'\)"):
        Results("ignore")
