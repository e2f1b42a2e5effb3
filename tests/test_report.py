"""The run record: one record per settled item, JSON-ready, pandas-friendly."""

import json
import os

import poolbars as pb


def task(x, stamp_dir):
    for _ in pb.track(range(7), desc=f"item {x}"):
        pass
    if x == 2:
        raise ValueError("two")
    marker = os.path.join(stamp_dir, "crashed-once")
    if x == 4 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return x


def test_report_has_a_record_per_item_with_status_attempts_worker_and_inner_progress(tmp_path):
    with pb.Pool(2, display=None, on_error="return", retries=1, chunksize=1) as pool:
        pool.map(lambda x: task(x, str(tmp_path)), range(6))
        pool.map(abs, range(100))
    report = pool.report()
    assert report.status == "failed" and report.stats["total"] == 106
    first = [t for t in report.tasks if t.map == 1]
    assert [t.index for t in first] == list(range(6))
    by_index = {t.index: t for t in first}
    assert by_index[2].status == "failed" and by_index[2].error == "ValueError: two"
    assert by_index[2].attempts == 2  # retried once, failed again
    assert by_index[4].status == "done" and by_index[4].attempts == 2  # crashed, then done
    assert all(t.worker in (0, 1) and t.start <= t.end for t in first)
    assert by_index[0].label == "0" and (by_index[0].inner_n, by_index[0].inner_total) == (7, 7)
    assert len([t for t in report.tasks if t.map == 2]) == 100
    data = json.loads(report.to_json())
    assert len(data["tasks"]) == 106 and data["tasks"][0]["map"] == 1
    records = report.to_records()
    assert set(records[0]) >= {"index", "label", "worker", "start", "end", "status", "attempts",
                               "inner_n", "inner_total", "error"}


def task_with_meta(x):
    for _ in pb.track(range(3), desc="rows", meta={"shard": x, "source": f"s3://b/{x}.csv"}):
        pass
    return x


def test_each_task_record_keeps_the_meta_of_its_bar():
    with pb.Pool(2, display=None, chunksize=1) as pool:
        pool.map(task_with_meta, range(4))
        pool.map(abs, range(2))
    tasks = pool.report().tasks
    assert [t.meta for t in tasks if t.map == 1] == [
        {"shard": x, "source": f"s3://b/{x}.csv"} for x in range(4)]
    assert [t.meta for t in tasks if t.map == 2] == [None, None]
    assert json.loads(pool.report().to_json())["tasks"][0]["meta"] == {"shard": 0,
                                                                       "source": "s3://b/0.csv"}
