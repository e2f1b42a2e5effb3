"""tqdm inside tasks becomes the task's bar; pb.tqdm is a drop-in that needs no tqdm."""

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
