"""Background maps and Stop; the timeline and the sparklines in the panel's state."""

import os
import time

import pytest

import poolbars as pb
from poolbars.protocol import events as ev
from poolbars.panel.state import PanelState
from poolbars.panel.timeline import MAX_BLOCKS

pytestmark = pytest.mark.timeout(120)


def slow(x):
    time.sleep(0.1)
    return x


def test_map_async_returns_at_once_and_stop_drains():
    with pb.Pool(2, display=None) as pool:
        started = time.time()
        handle = pool.map_async(slow, range(40))
        assert time.time() - started < 1.0 and not handle.done()
        time.sleep(0.45)
        assert pool.snapshot()["stoppable"] is True
        handle.stop()
        assert pool.snapshot()["stopping"] in (True, False)  # folded a moment later
        results = handle.result(timeout=30)
        assert handle.done()
        ran = 40 - len(results.not_run)
        assert 2 <= ran < 40 and results[:ran] == list(range(ran))  # running ones finished
        assert results[ran:] == [None] * (40 - ran)  # every value keeps its position
        assert handle.not_run == list(range(ran, 40)) == results.not_run
        s = pool.stats
        assert (s.done, s.cancelled, s.total) == (ran, 40 - ran, 40)
        assert pool.map(abs, [-3]) == [3]  # the pool goes on
    assert pool.snapshot()["stoppable"] is False


def test_the_panels_stop_button_message_drains_a_background_run():
    with pb.Pool(2, display="widget") as pool:
        handle = pool.map_async(slow, range(30))
        time.sleep(0.35)
        panel = pool._running.session.view.panel
        panel._message(panel, {"event": "stop"}, [])  # what the front end sends
        results = handle.result(timeout=30)
    assert len(results) == 30 and handle.not_run
    assert [results[p] for p in handle.not_run] == [None] * len(handle.not_run)


def test_one_call_form_in_the_background_and_cancel():
    handle = pb.map(slow, range(4), processes=2, display=None, block=False)
    assert handle.result(timeout=30) == [0, 1, 2, 3]
    with pb.Pool(2, display=None) as pool:
        handle = pool.map_async(slow, range(100))
        time.sleep(0.3)
        assert handle.cancel() is True and handle.done()
        s = pool.stats
    assert s.done + s.cancelled == 100 and s.cancelled > 50


def mixed(x):
    if x == 2:
        raise ValueError("two")
    if x == 4 and not os.environ.get("POOLBARS_TEST_NO_CRASH"):
        os._exit(1)
    time.sleep(0.02)
    return x


def test_the_timeline_shows_blocks_by_worker_and_outcome():
    with pb.Pool(2, display=None, on_error="return", chunksize=1) as pool:
        pool.map(mixed, range(8))
    view = pool.state.timeline_view()
    assert view["t0"] is not None and view["t1"] > 0
    blocks = [b for lane in view["lanes"] for b in lane["blocks"]]
    assert len(blocks) == 8
    statuses = {b[3]: b[2] for b in blocks}
    assert statuses["2"] == "failed" and statuses["4"] == "crashed" and statuses["0"] == "done"
    assert all(0 <= b[0] <= b[1] <= view["t1"] for b in blocks)
    assert {lane["name"] for lane in view["lanes"]} <= {"worker 0", "worker 1"}
    assert pool.snapshot()["overall"]["spark"]  # throughput points exist


def test_the_timeline_stays_bounded_by_merging_old_blocks():
    s = PanelState()
    s.fold((ev.WORKER, 0, "idle", 1))
    for i in range(MAX_BLOCKS * 3):
        s.fold((ev.START, 0, i, 1, str(i), float(i)))
        if i == 5:
            s.fold((ev.FAIL, 0, i, str(i), "error", "E: x", "", 1, i + 0.5))
        s.fold((ev.DONE, 0, 1, i + 0.9))
    view = s.timeline_view(now=1e4)
    blocks = view["lanes"][0]["blocks"]
    assert len(blocks) <= MAX_BLOCKS and view["more_blocks"] > 0
    assert blocks[0][2] == "failed" and blocks[0][3].endswith("items")  # worst status kept
    assert blocks[-1][3] == str(MAX_BLOCKS * 3 - 1)
