"""Real pools: real worker processes, real channel, real collector."""

import itertools
import os

import pytest

import poolbars as pb


def convert(path):
    for _ in pb.track(range(200), desc=f"file {path}"):
        pass
    pb.message("writing")
    return path * 2


def fails_on_seven(x):
    if x == 7:
        raise ValueError(f"bad item {x}")
    return x


def test_map_runs_every_item_and_the_final_state_adds_up():
    with pb.Pool(2, title="Convert", display=None) as pool:
        results = pool.map(convert, range(40))
    assert results == [x * 2 for x in range(40)]
    state = pool.state
    snap = state.snapshot()
    assert snap["status"] == "done" and snap["title"] == "Convert"
    o = snap["overall"]
    assert (o["done"], o["total"], o["failed"], o["running"], o["pending"]) == (40, 40, 0, 0, 0)
    assert state.bars_finished == 40 and state.bar_units == 40 * 200  # every inner bar, complete
    assert sum(lane["done"] for lane in snap["lanes"]) == 40
    assert [lane["state"] for lane in snap["lanes"]] == ["exited", "exited"]


def test_an_exception_propagates_with_the_task_traceback_and_shows_in_the_panel():
    with pytest.raises(ValueError, match="bad item 7") as caught:
        with pb.Pool(2, display=None) as pool:
            pool.map(fails_on_seven, range(20))
    exc = caught.value
    assert isinstance(exc, pb.TaskFailed)
    assert exc.index == 7 and exc.item == "7" and exc.kind == "error"
    assert "fails_on_seven" in exc.traceback and 'raise ValueError(f"bad item {x}")' in exc.traceback
    assert "fails_on_seven" in str(exc.__cause__)
    snap = pool.state.snapshot()
    assert snap["status"] == "failed"
    assert snap["failures"][0]["error"] == "ValueError: bad item 7"
    o = snap["overall"]
    assert o["done"] + o["failed"] + o["cancelled"] == o["total"] == 20


def test_notebook_style_functions_lambdas_and_closures_work():
    offset = 100
    with pb.Pool(2, display=None) as pool:
        assert pool.map(lambda x: x + offset, [1, 2, 3]) == [101, 102, 103]
        assert pool.map(lambda x: (x, os.getpid()), [1])[0][1] != os.getpid()


def test_one_call_form():
    assert pb.map(abs, [-3, -2, 1], processes=2, display=None) == [3, 2, 1]


def test_imap_is_lazy_and_ordered():
    read = []

    def numbers():
        for n in itertools.count():
            read.append(n)
            yield n

    with pb.Pool(2, display=None, max_in_flight=100) as pool:
        out = []
        for value in pool.imap(lambda x: x * 3, numbers()):
            out.append(value)
            if len(out) == 50:
                break
    assert out == [x * 3 for x in range(50)]
    assert len(read) <= 50 + 100  # the endless input was read only max_in_flight ahead


def test_on_error_return_and_skip():
    with pb.Pool(2, display=None, on_error="return") as pool:
        results = pool.map(fails_on_seven, range(10))
    failure = results[7]
    assert isinstance(failure, pb.Failure) and failure.exc_type == "ValueError"
    assert results[:7] == list(range(7)) and results[8:] == [8, 9]
    assert [f.index for f in pool.failures] == [7]
    with pb.Pool(2, display=None, on_error="skip") as pool:
        assert pool.map(fails_on_seven, range(10)) == [0, 1, 2, 3, 4, 5, 6, 8, 9]
        assert pool.failures[0].item == "7"


def exits_on_three(x):
    if x == 3:
        os._exit(9)
    return x


def test_a_worker_that_dies_is_reported_replaced_and_the_map_goes_on():
    with pb.Pool(2, display=None, on_error="return") as pool:
        results = pool.map(exits_on_three, range(8))
    assert [r for i, r in enumerate(results) if i != 3] == [0, 1, 2, 4, 5, 6, 7]
    (failure,) = pool.failures
    assert failure.kind == "crashed" and failure.index == 3
    assert "exited with code 9" in failure.message
    o = pool.state.snapshot()["overall"]
    assert (o["done"], o["crashed"], o["pending"]) == (7, 1, 0)


def test_a_result_that_cannot_be_sent_back_fails_that_item_only():
    def generator_result(x):
        return (i for i in range(x)) if x == 1 else x  # not even dill pickles a generator

    with pb.Pool(2, display=None, on_error="return") as pool:
        results = pool.map(generator_result, range(4))
    assert results[0] == 0 and results[2:] == [2, 3]
    assert "could not be pickled" in results[1].message


@pytest.mark.parametrize("kwargs, message", [
    ({"processes": 0}, "processes=0"),
    ({"processes": 2, "on_error": "ignore"}, "on_error='ignore'"),
    ({"processes": 2, "chunksize": 0}, "chunksize=0"),
    ({"processes": 2, "display": "fancy"}, "display='fancy'"),
    ({"processes": 2, "start_method": "teleport"}, "start_method='teleport'"),
])
def test_bad_options_are_refused_with_the_value_and_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        pb.Pool(**kwargs)


def test_bad_arguments_to_map_are_explained():
    with pb.Pool(1, display=None) as pool:
        with pytest.raises(TypeError, match="not callable"):
            pool.map(range(3), abs)
        with pytest.raises(TypeError, match="not iterable"):
            pool.map(abs, 5)


def test_track_in_the_main_process_shows_in_a_log_panel_of_its_own(capfd):
    total = 0
    for x in pb.track(range(1000), desc="summing"):
        total += x
    assert total == sum(range(1000))
    err = capfd.readouterr().err
    assert "summing [done] 1000/1000 100%" in err
    assert "\r" not in err
