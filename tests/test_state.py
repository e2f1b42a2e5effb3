"""PanelState.fold: every status of the vocabulary, and a bounded snapshot."""

from poolbars.protocol import events as ev
from poolbars.panel.limits import MAX_FAILURES, MAX_LANES
from poolbars.panel.state import PanelState


def fold_all(state, *events):
    for event in events:
        state.fold(event)
    return state


def test_a_run_from_start_to_done():
    s = PanelState("Convert")
    fold_all(s, (ev.WORKER, 0, "starting", None), (ev.WORKER, 1, "starting", None),
             (ev.SEEN, 0, 4), (ev.WORKER, 0, "idle", 100), (ev.WORKER, 1, "idle", 101),
             (ev.START, 0, 0, 1, "'a'", 10.0), (ev.START, 1, 1, 1, "'b'", 10.0))
    snap = s.snapshot(now=11.0)
    assert snap["overall"]["running"] == 2 and snap["overall"]["pending"] == 2
    assert [lane["state"] for lane in snap["lanes"]] == ["busy", "busy"]
    assert snap["lanes"][0]["task"] == "'a'" and snap["lanes"][0]["elapsed"] == 1.0
    fold_all(s, (ev.DONE, 0, 1, 12.0), (ev.WORKER, 0, "idle", 100),
             (ev.START, 0, 2, 2, "'c'", 12.0), (ev.DONE, 1, 1, 13.0), (ev.DONE, 0, 2, 14.0),
             (ev.END, "done"))
    snap = s.snapshot(now=15.0)
    o = snap["overall"]
    assert (o["done"], o["total"], o["running"], o["pending"]) == (4, 4, 0, 0)
    assert snap["status"] == "done"
    assert [lane["state"] for lane in snap["lanes"]] == ["exited", "exited"]
    assert [lane["done"] for lane in snap["lanes"]] == [3, 1]


def test_failures_of_each_kind_are_counted_and_listed():
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 5), (ev.START, 0, 0, 3, "0", 1.0),
             (ev.FAIL, 0, 1, "1", "error", "ValueError: bad", "Traceback…\nValueError: bad", 1, 2.0),
             (ev.DONE, 0, 2, 2.0),
             (ev.START, 0, 3, 1, "3", 2.0),
             (ev.FAIL, 0, 3, "3", "timeout", "TaskTimeout: 1 s", "", 1, 3.0), (ev.DONE, 0, 0, 3.0),
             (ev.START, 0, 4, 1, "4", 3.0),
             (ev.FAIL, 0, 4, "4", "crashed", "WorkerCrashed: SIGKILL", "", 2, 4.0),
             (ev.DONE, 0, 0, 4.0), (ev.WORKER, 0, "crashed", 1), (ev.END, "failed"))
    o = s.snapshot(now=5.0)["overall"]
    assert (o["done"], o["failed"], o["timed_out"], o["crashed"]) == (2, 1, 1, 1)
    assert o["running"] == 0 and o["pending"] == 0
    failures = s.snapshot()["failures"]
    assert [f["kind"] for f in failures] == ["error", "timeout", "crashed"]
    assert failures[0]["error"] == "ValueError: bad" and failures[0]["worker"] == "worker 0"
    assert failures[2]["attempts"] == 2
    assert s.snapshot()["status"] == "failed"


def test_a_crash_puts_the_rest_of_the_chunk_back_to_pending():
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 10), (ev.START, 0, 0, 10, "0", 1.0),
             (ev.FAIL, 0, 4, "4", "crashed", "WorkerCrashed", "", 1, 2.0), (ev.DONE, 0, 0, 2.0))
    o = s.snapshot()["overall"]
    assert (o["crashed"], o["running"], o["pending"]) == (1, 0, 9)


def test_retrying_and_cancelled_add_up():
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.WORKER, 1, "idle", 2), (ev.SEEN, 0, 6),
             (ev.START, 0, 0, 1, "0", 1.0), (ev.START, 1, 1, 2, "1", 1.0),
             (ev.RETRY, 0, 0, "0", "error", "E", 1, 2.0), (ev.DONE, 0, 0, 2.0))
    assert s.snapshot()["overall"]["retrying"] == 1
    fold_all(s, (ev.START, 0, 0, 1, "0", 2.0, 1))
    assert s.snapshot()["overall"]["retrying"] == 0
    fold_all(s, (ev.CANCEL, 3, [0, 1]), (ev.END, "cancelled"))
    o = s.snapshot()["overall"]
    assert (o["cancelled"], o["running"], o["pending"]) == (6, 0, 0)
    assert s.snapshot()["status"] == "cancelled"


def test_inner_bars_follow_the_task_of_their_worker():
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 3), (ev.START, 0, 0, 3, "'x'", 1.0),
             (ev.BAR, 0, 7, 0, "file x", 50, 200, "it", (("loss", "0.5"),), False, 1.5),
             (ev.MESSAGE, 0, 0, "writing"))
    lane = s.snapshot()["lanes"][0]
    assert (lane["desc"], lane["n"], lane["total"], lane["message"]) == ("file x", 50, 200, "writing")
    assert lane["postfix"] == [["loss", "0.5"]]
    # the next item of the chunk reports: the lane moves on to it
    fold_all(s, (ev.BAR, 0, 8, 1, "file y", 1, 200, "it", (), False, 2.0))
    lane = s.snapshot()["lanes"][0]
    assert (lane["index"], lane["desc"], lane["n"], lane["message"]) == (1, "file y", 1, "")
    # a late update of the item before changes nothing on screen
    fold_all(s, (ev.BAR, 0, 7, 0, "file x", 200, 200, "it", (), True, 2.1))
    assert s.snapshot()["lanes"][0]["desc"] == "file y"
    assert (s.bars_finished, s.bar_units) == (1, 200)


def test_a_lane_of_quick_tasks_keeps_its_latest_news_between_tasks():
    # chunks of 10 ms items: a redraw between two chunks must not find the lane blank
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 20), (ev.START, 0, 0, 5, "0", 1.0),
             (ev.BAR, 0, 7, None, "file 4", 3, 5, "it", (), False, 1.04),
             (ev.MESSAGE, 0, None, "writing 4"), (ev.DONE, 0, 5, 1.05),
             (ev.START, 0, 5, 5, "5", 1.05))
    lane = s.snapshot(now=1.06)["lanes"][0]
    shown = (lane["task"], lane["message"], lane["desc"], lane["n"])
    assert shown == ("5", "writing 4", "file 4", 3)
    # the new chunk's own news replaces it
    fold_all(s, (ev.BAR, 0, 9, None, "file 6", 1, 5, "it", (), False, 1.07),
             (ev.MESSAGE, 0, None, "reading 6"))
    lane = s.snapshot(now=1.08)["lanes"][0]
    assert (lane["message"], lane["desc"], lane["n"]) == ("reading 6", "file 6", 1)
    assert len(s.lanes["0"].bars) == 2  # the kept bar and the new one, never more
    fold_all(s, (ev.DONE, 0, 5, 1.1), (ev.START, 0, 10, 5, "10", 1.1))
    assert len(s.lanes["0"].bars) == 1


def test_a_slow_task_starts_with_a_clean_lane():
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 2), (ev.START, 0, 0, 1, "0", 1.0),
             (ev.BAR, 0, 7, 0, "file 0", 9, 10, "it", (), False, 4.0),
             (ev.MESSAGE, 0, 0, "writing 0"), (ev.DONE, 0, 1, 5.0), (ev.START, 0, 1, 1, "1", 5.0))
    lane = s.snapshot(now=5.1)["lanes"][0]
    assert (lane["task"], lane["message"], lane["desc"], lane["n"]) == ("1", "", "", 0)


def test_a_message_that_overtakes_its_tasks_start_is_shown_when_the_task_starts():
    # the worker's message travels through the channel, the START from the dispatcher's
    # thread: on a loaded machine the message can arrive first, and is sent only once
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 3), (ev.START, 0, 0, 1, "0", 1.0),
             (ev.DONE, 0, 1, 2.0), (ev.MESSAGE, 0, 1, "msg 1"), (ev.MESSAGE, 0, 5, "not yet"),
             (ev.START, 0, 1, 1, "1", 2.0))
    lane = s.snapshot(now=2.1)["lanes"][0]
    assert (lane["task"], lane["message"]) == ("1", "msg 1")
    fold_all(s, (ev.DONE, 0, 1, 3.0), (ev.MESSAGE, 0, 0, "too late"), (ev.START, 0, 2, 1, "2", 3.0))
    assert s.snapshot(now=3.1)["lanes"][0]["message"] == ""  # a finished item's is dropped


def test_bars_outside_a_pool_get_lanes_of_their_own_and_lead_the_overall_bar():
    s = PanelState()
    fold_all(s, (ev.BAR, "main", 1, None, "outer", 3, 10, "files", (), False, 1.0),
             (ev.BAR, "main", 2, None, "inner", 5, None, "it", (), False, 1.0))
    snap = s.snapshot(now=2.0)
    assert [lane["desc"] for lane in snap["lanes"]] == ["outer", "inner"]
    assert snap["lanes"][1]["total"] is None
    assert (snap["overall"]["done"], snap["overall"]["total"], snap["overall"]["unit"]) == (3, 10, "files")


def test_snapshot_stays_bounded_whatever_the_size_of_the_run():
    s = PanelState()
    workers = MAX_LANES + 36
    fold_all(s, (ev.SEEN, 0, 100_000))
    for w in range(workers):
        fold_all(s, (ev.WORKER, w, "idle", w), (ev.START, w, w * 1000, 1000, str(w), 1.0))
    for i in range(500):
        fold_all(s, (ev.FAIL, i % workers, (i % workers) * 1000 + i // workers, str(i), "error",
                     "E: " + "x" * 5000, "T" * 50_000, 1, 2.0))
    snap = s.snapshot()
    assert len(snap["lanes"]) == MAX_LANES and snap["more_lanes"] == 36
    assert len(snap["failures"]) == MAX_FAILURES and snap["more_failures"] == 500 - MAX_FAILURES
    assert all(len(f["traceback"]) <= 1500 and len(f["error"]) <= 1000 for f in snap["failures"])
    assert snap["overall"]["failed"] == 500


def test_unknown_events_are_ignored():
    s = PanelState()
    s.fold(("from-the-future", 1, 2))
    assert s.version == 0 and s.snapshot()["overall"]["done"] == 0


def test_a_task_with_no_news_for_stale_after_seconds_is_stalled():
    s = PanelState(stale_after=5.0)
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.WORKER, 1, "idle", 2), (ev.SEEN, 0, 2),
             (ev.START, 0, 0, 1, "0", 100.0), (ev.START, 1, 1, 1, "1", 100.0),
             (ev.BAR, 1, 9, 1, "d", 3, 10, "it", (), False, 104.0))
    lanes = s.snapshot(now=106.0)["lanes"]
    assert [lane.get("stalled", False) for lane in lanes] == [True, False]
    assert PanelState().snapshot(now=1e9)["lanes"] == []  # no stale_after: never stalled


def test_the_eta_does_not_jump_when_a_slow_task_finishes():
    # worker 0 finishes a quick item every 0.2 s; worker 1 spends the whole 30 s on one item
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.WORKER, 1, "idle", 2), (ev.SEEN, 0, 400),
             (ev.START, 1, 0, 1, "slow", 0.0))
    t = 0.0
    for index in range(1, 151):
        fold_all(s, (ev.START, 0, index, 1, str(index), t), (ev.DONE, 0, 1, t + 0.2))
        t += 0.2
    before = s.snapshot(now=t)["overall"]
    fold_all(s, (ev.DONE, 1, 1, t + 0.01))
    after = s.snapshot(now=t + 0.01)["overall"]
    assert after["done"] == before["done"] + 1
    assert 240 / 5 * 0.9 < before["eta"] < 250 / 5 * 1.1  # ~5 items/s, ~250 to go
    assert abs(after["eta"] - before["eta"]) / before["eta"] < 0.05


def test_no_eta_once_every_item_is_settled_even_before_the_end_is_posted():
    s = PanelState()
    fold_all(s, (ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 4))
    for index in range(2):
        fold_all(s, (ev.START, 0, index, 1, str(index), float(index)),
                 (ev.DONE, 0, 1, index + 1.0))
    assert s.snapshot(now=2.0)["overall"]["eta"] > 0
    fold_all(s, (ev.CANCEL, 2, []))  # the Stop button: the rest will not run
    overall = s.snapshot(now=2.5)["overall"]
    assert s.status == "running" and overall["eta"] is None


def test_a_bars_meta_is_in_its_lane_bounded_and_an_older_senders_bar_still_folds():
    from poolbars.panel.limits import MAX_META, MAX_META_CHARS
    s = PanelState()
    meta = tuple((f"key {i}" + "k" * 500, '"' + "v" * 5000 + '"') for i in range(MAX_META + 5))
    fold_all(s, (ev.BAR, "job", 1, None, "with meta", 1, 2, "it", (), False, 1.0, meta),
             (ev.BAR, "old", 1, None, "no meta", 1, 2, "it", (), False, 1.0))  # 10 fields
    with_meta, without = s.snapshot(now=2.0)["lanes"]
    assert len(with_meta["meta"]) == MAX_META and "meta" not in without  # none: left out
    assert all(len(k) <= 100 and len(v) == MAX_META_CHARS for k, v in with_meta["meta"])
    assert with_meta["meta"][0][0].startswith("key 0")


def test_items_restored_from_a_journal_count_as_done_but_not_in_the_rate():
    # a resumed run: 90 of 100 items come back from the journal at once, then one item
    # runs in 0.5 s; the rate and ETA are those of the items that ran, not 91 in 0.5 s
    s = PanelState()
    fold_all(s, ev.Seen(90, 90), ev.Done(None, 90, 0.0), (ev.WORKER, 0, "idle", 1),
             ev.Seen(10, 10), (ev.START, 0, 90, 1, "90", 0.0), (ev.DONE, 0, 1, 0.5))
    o = s.snapshot(now=0.5)["overall"]
    assert (o["done"], o["total"], o["pending"]) == (91, 100, 9)
    assert o["rate"] == 2.0 and o["eta"] == 4.5, o
    assert sum(o["spark"]) <= 1, o["spark"]  # no spike of the 90 restored items
