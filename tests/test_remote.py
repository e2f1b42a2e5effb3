"""Panels reached by address: a second real process reports to a panel here."""

import contextlib
import os
import pickle
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

import poolbars as pb
from poolbars.protocol import channel
from poolbars.protocol import events as ev
from poolbars.progress.reporting import Bar, Reporter

REPORTER = textwrap.dedent("""
    import sys, time
    import poolbars as pb

    host, port, key = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
    remote = pb.connect((host, port), key, name="etl-job")
    for _ in remote.track(range(40), desc="loading rows", unit="rows"):
        time.sleep(0.005)
    with remote.bar(total=3, desc="uploading", meta={"bucket": "b1", "retry": 2}) as bar:
        for _ in range(3):
            bar.update(1)
    remote.message("all done")
    remote.close()
    print("OK")
""")


def run_reporter(tmp_path, address, key: bytes):
    script = tmp_path / "reporter.py"
    script.write_text(REPORTER)
    return subprocess.run([sys.executable, str(script), address[0], str(address[1]), key.hex()],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(90)
def test_another_process_reports_to_a_panel_by_address(tmp_path):
    with pb.Panel(title="Remote jobs", display=None) as panel:
        info = panel.connect_info()
        assert info["address"][0] == "127.0.0.1" and len(info["authkey"]) == 32
        run = run_reporter(tmp_path, info["address"], info["authkey"])
        assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr
        deadline = time.time() + 5
        while time.time() < deadline and panel.state.bars_finished < 2:
            time.sleep(0.05)
    lanes = {lane["desc"]: lane for lane in panel.snapshot()["lanes"]}
    assert lanes["loading rows"]["n"] == 40 and lanes["loading rows"]["total"] == 40
    assert lanes["loading rows"]["name"] == "etl-job" and lanes["loading rows"]["unit"] == "rows"
    assert lanes["uploading"]["n"] == 3
    assert lanes["uploading"]["meta"] == [["bucket", '"b1"'], ["retry", "2"]]
    assert "meta" not in lanes["loading rows"]  # none: left out of the snapshot
    assert any(lane["message"] == "all done" for lane in lanes.values())


@pytest.mark.timeout(90)
def test_a_wrong_authkey_is_refused_and_the_panel_is_untouched(tmp_path):
    with pb.Panel(display=None) as panel:
        address = panel.connect_info()["address"]
        before = panel.state.version
        with pytest.raises(PermissionError, match="refused this authkey"):
            pb.connect(address, b"not the key")
        run = run_reporter(tmp_path, address, b"x" * 32)
        assert run.returncode != 0 and "refused this authkey" in run.stderr
        time.sleep(0.3)
        assert panel.state.version == before and panel.snapshot()["lanes"] == []


def test_an_unreachable_panel_warns_once_and_the_job_goes_on():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        remote = pb.connect(("127.0.0.1", 9), b"k" * 32)  # port 9: nothing listens
        total = sum(remote.track(range(100)))
        with remote.bar(5) as bar:
            bar.update(5)
    assert total == 4950
    assert len([w for w in caught if "no panel at" in str(w.message)]) == 1


def test_a_pool_reports_to_a_given_panel_and_stale_bars_turn_stalled():
    with pb.Panel(title="shared", display=None, stale_after=0.3) as panel:
        with pb.Pool(2, display=None, panel=panel) as pool:
            assert pool.map(abs, [-1, -2]) == [1, 2]
        assert panel.snapshot()["overall"]["done"] == 2 and panel.snapshot()["status"] == "running"
        remote = pb.connect(**panel.connect_info())
        bar = remote.bar(10, desc="stuck")
        bar.update(1)
        remote.close()
        time.sleep(0.6)
        stuck = [lane for lane in panel.snapshot()["lanes"] if lane["desc"] == "stuck"]
        assert stuck and stuck[0]["stalled"] is True


# -- bad peers ---------------------------------------------------------------------------

@contextlib.contextmanager
def silent_server(hang_up: bool = False):
    """A real TCP server on 127.0.0.1 that accepts every connection and never says a word
    (and, if `hang_up`, closes it at once)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
                if hang_up:
                    held.pop().close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("hang_up", [False, True], ids=["silent", "hangs-up"])
def test_a_panel_that_accepts_but_never_answers_warns_once_and_the_job_goes_on(hang_up):
    with silent_server(hang_up) as address, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.monotonic()
        remote = pb.connect(address, b"k" * 32)
        took = time.monotonic() - started
        with remote.bar(5, desc="after") as bar:
            bar.update(5)
        assert sum(remote.track(range(100))) == 4950
        remote.message("still going")
        remote.close()
    assert took < 20, took  # a few seconds (the handshake timeout), not forever
    warned = [w for w in caught if "no panel at" in str(w.message)]
    assert [w.category for w in warned] == [RuntimeWarning]
    assert ("hung up" if hang_up else "no answer") in str(warned[0].message)


class RaisesOnLoad:
    def __reduce__(self):
        return int, ("not a number",)  # int("not a number") raises when the batch is loaded


def bar_event(source, bar_id, n=1, closed=False, **change):
    event = dict(kind=ev.BAR, source=source, bar_id=bar_id, task=None, desc="d", n=n,
                 total=10, unit="it", postfix=(), closed=closed, t=time.time())
    event.update(change)
    return tuple(event.values())


MALFORMED = [
    b"\x00garbage bytes\xff",
    pickle.dumps(42),  # not a list of events
    pickle.dumps(["not an event"]),
    pickle.dumps([(ev.BAR, "evil", 1)]),  # wrong arity
    pickle.dumps([(ev.MESSAGE, "evil", None, "a", "b")]),
    pickle.dumps([bar_event("evil", 2, n="many")]),  # wrong types
    pickle.dumps([bar_event("evil", 3, desc=None)]),
    pickle.dumps([bar_event("evil", 4, postfix="k=v")]),
    pickle.dumps([bar_event("evil", 5), bar_event("evil", 6, closed="yes")]),  # one bad event
    pickle.dumps([bar_event("evil", 7, t=10**400)]),  # no time a clock gives
    pickle.dumps([bar_event("evil", 8, t=float("nan"))]),
    pickle.dumps([(ev.END, "failed", 0.0)]),  # only the parent ends a run
    pickle.dumps([RaisesOnLoad()]),
    "stop",  # not bytes at all
    [(ev.END, "failed", 0.0)],
]


@pytest.mark.timeout(90)
def test_malformed_batches_are_dropped_and_counted_and_the_panel_serves_everyone_else(tmp_path):
    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        evil = channel.connect(info["address"], info["authkey"])
        for batch in MALFORMED:
            evil.put(batch)
        run = run_reporter(tmp_path, info["address"], info["authkey"])
        assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr
        deadline = time.time() + 10
        while time.time() < deadline and panel.state.bars_finished < 2:
            time.sleep(0.05)
        snap = panel.snapshot()
        assert snap["status"] == "running"
        assert snap["overall"]["dropped"] == len(MALFORMED)
        assert {lane["desc"] for lane in snap["lanes"]} == {"loading rows", "uploading"}
        assert all(lane["name"] == "etl-job" for lane in snap["lanes"])


def report_bars(address, authkey, name, bars, errors):
    try:
        remote = pb.connect(address, authkey, name=name)
        for _ in range(bars):
            with remote.bar(total=20, desc=name) as bar:
                for _ in range(20):
                    bar.update(1)
                    time.sleep(0.002)
        remote.close()
    except BaseException as exc:  # the main thread asserts there were none
        errors.append(exc)


@pytest.mark.timeout(180)
def test_with_50_concurrent_reporters_each_bar_ends_in_its_last_state():
    reporters, bars = 50, 6
    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        errors: list = []
        threads = [threading.Thread(target=report_bars, args=(info["address"], info["authkey"],
                                                               f"r{i}", bars, errors))
                   for i in range(reporters)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        deadline = time.time() + 20
        while time.time() < deadline and panel.state.bars_finished < reporters * bars:
            time.sleep(0.05)
        time.sleep(0.3)  # anything still queued behind the last close is folded by now
        with panel.state.lock:
            lanes = [(lane.name, lane.state, bar.n, bar.closed)
                     for lane in panel.state.lanes.values() for bar in lane.bars.values()]
    assert panel.state.bars_finished == reporters * bars
    assert len(lanes) == reporters * bars
    assert [lane for lane in lanes if lane[1:] != ("done", 20, True)] == []


@pytest.mark.timeout(60)
def test_a_reporter_sends_its_batches_in_the_order_it_took_them():
    """The timer's batch in flight while the task closes its bar: the close must not
    overtake it, or the panel applies the older state last."""
    sent, hold, in_flight, release = [], threading.Event(), threading.Event(), threading.Event()

    def send(batch):
        if hold.is_set() and not in_flight.is_set():  # this send hangs (a slow network)
            in_flight.set()
            release.wait(10)
        sent.append(batch)

    reporter = Reporter(send, source="r", flush_on_close=True)
    bar = Bar(10, reporter=reporter)  # its first state goes out at once
    bar.update(3)  # held: the interval has not passed
    hold.set()
    timer = threading.Thread(target=reporter.flush)  # as the reporter's timer does
    timer.start()
    assert in_flight.wait(10)
    closer = threading.Thread(target=lambda: (bar.update(7), bar.close()))
    closer.start()
    closer.join(timeout=1)  # it sends at once, or waits for the send in flight
    release.set()
    timer.join()
    closer.join()
    states = [(event[5], event[9]) for batch in sent for event in batch if event[0] == ev.BAR]
    assert states == [(0, False), (3, False), (10, True)]


def new_threads(before: set, bound: float = 30.0) -> list:
    """Threads started since `before` that are still alive after waiting up to `bound` s."""
    deadline = time.time() + bound
    while True:
        alive = [t for t in threading.enumerate() if t not in before]
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.1)


@pytest.mark.timeout(120)
def test_connections_that_never_speak_release_their_threads():
    with pb.Panel(display=None) as panel:
        before = set(threading.enumerate())
        silent = [socket.create_connection(panel.connect_info()["address"]) for _ in range(10)]
        try:
            time.sleep(0.3)
            assert len(threading.enumerate()) > len(before)  # each was given a server thread
            assert new_threads(before) == []  # ...which gave up on it: the socket is still open
        finally:
            for sock in silent:
                sock.close()
        assert panel.snapshot()["lanes"] == []


@pytest.mark.timeout(120)
def test_closed_remotes_release_their_threads():
    with pb.Panel(display=None) as panel:
        before = set(threading.enumerate())
        for i in range(5):
            remote = pb.connect(**panel.connect_info(), name=f"r{i}")
            with remote.bar(3, desc="short") as bar:
                bar.update(3)
            remote.message("done")
            remote.close()
        assert new_threads(before) == []
        assert panel.state.bars_finished == 5


@pytest.mark.timeout(90)
def test_an_authkey_that_is_not_hex_is_refused_with_what_to_pass():
    with pytest.raises(ValueError, match="connect_info"):
        pb.connect(("127.0.0.1", 9), authkey="not-hex")
    with pytest.raises(ValueError, match="hex"):
        pb.Panel(display=None, authkey="not-hex")
    key = os.urandom(32)
    with pb.Panel(display=None, authkey=key.hex()) as panel:  # a hex string is the key's bytes
        assert panel.connect_info()["authkey"] == key
        with pb.Pool(2, display=None, panel=panel) as pool:
            assert pool.map(abs, [-1, -2]) == [1, 2]
        remote = pb.connect(panel.connect_info()["address"], key.hex())
        with remote.bar(2, desc="by hex") as bar:
            bar.update(2)
        remote.close()
        assert panel.snapshot()["overall"]["done"] == 2
        assert any(lane["desc"] == "by hex" for lane in panel.snapshot()["lanes"])


def wait_for_finished_bars(panel, count: int) -> None:
    deadline = time.time() + 20
    while time.time() < deadline and panel.state.bars_finished < count:
        time.sleep(0.02)
    assert panel.state.bars_finished == count


def lane_descs(panel) -> list:
    return [(lane["desc"], lane["state"]) for lane in panel.snapshot()["lanes"]]


@pytest.mark.timeout(60)
def test_clear_removes_finished_bars_and_keeps_the_running_ones(tmp_path):
    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        run = run_reporter(tmp_path, info["address"], info["authkey"])  # another process
        assert run.returncode == 0, run.stderr
        remote = pb.connect(info["address"], info["authkey"], name="here")
        running = remote.bar(total=10, desc="still going")
        running.update(4)
        for _ in remote.track(range(3), desc="short"):
            pass
        remote.reporter.flush()
        wait_for_finished_bars(panel, 3)
        deadline = time.time() + 5
        while time.time() < deadline and ("still going", "running") not in lane_descs(panel):
            time.sleep(0.02)
        assert len(lane_descs(panel)) == 4
        panel.clear()  # status="done": every finished bar, from every process
        assert lane_descs(panel) == [("still going", "running")]
        running.close()
        remote.reporter.flush()
        wait_for_finished_bars(panel, 4)
        panel.clear(status="all")
        assert panel.snapshot()["lanes"] == []
        remote.close()


@pytest.mark.timeout(120)
def test_clear_exited_removes_the_lanes_of_a_finished_pool():
    with pb.Panel(display=None) as panel:
        with pb.Pool(2, display=None, panel=panel) as pool:
            assert pool.map(abs, range(-4, 4)) == [4, 3, 2, 1, 0, 1, 2, 3]
        remote = pb.connect(**panel.connect_info())
        with remote.bar(total=1, desc="after the pool") as bar:
            bar.update(1)
        remote.close()
        wait_for_finished_bars(panel, 1)
        deadline = time.time() + 5
        while time.time() < deadline and sum(
                state == "exited" for _, state in lane_descs(panel)) < 2:
            time.sleep(0.02)
        panel.clear(status="exited")
        assert lane_descs(panel) == [("after the pool", "done")]
    panel.clear("done")  # after close, too
    assert panel.snapshot()["lanes"] == []


@pytest.mark.timeout(60)
def test_keep_finished_keeps_only_the_bars_that_finished_last():
    with pb.Panel(display=None, keep_finished=2) as panel:
        remote = pb.connect(**panel.connect_info())
        running = remote.bar(total=5, desc="running")
        for i in range(5):
            with remote.bar(total=1, desc=f"job {i}") as bar:
                bar.update(1)
            remote.reporter.flush()  # one batch each: they finish in this order
            time.sleep(0.01)
        wait_for_finished_bars(panel, 5)
        assert sorted(lane_descs(panel)) == [("job 3", "done"), ("job 4", "done"),
                                             ("running", "running")]
        running.close()
        remote.close()


@pytest.mark.parametrize("value", [-1, 1.5, "3", True])
def test_keep_finished_and_clear_refuse_what_they_cannot_use(value):
    with pytest.raises(ValueError, match=r"keep_finished=.*give a whole number, 0 or more"):
        pb.Panel(display=None, keep_finished=value)


def test_clear_refuses_an_unknown_status_naming_the_choices():
    with pb.Panel(display=None) as panel:
        with pytest.raises(ValueError, match=r"status='closed': give 'done', 'exited' or 'all'"):
            panel.clear(status="closed")


def fails_at_seven(x):
    if x == 7:
        raise ValueError("seven")
    return x


def map_in_a_pool_of_its_own(panel, n):
    with pb.Pool(1, display=None, panel=panel) as pool:
        pool.map(abs, range(n))


@pytest.mark.timeout(120)
def test_pools_that_share_a_panel_count_every_pools_items_in_its_total():
    with pb.Panel(title="shared", display=None) as panel:
        for _ in range(2):  # one after the other
            with pb.Pool(2, display=None, panel=panel) as pool:
                pool.map(abs, range(20))
        with pytest.raises(ValueError, match="seven"):  # a pool that fails mid-way
            with pb.Pool(2, display=None, panel=panel, chunksize=1) as pool:
                pool.map(fails_at_seven, range(20))
        threads = [threading.Thread(target=map_in_a_pool_of_its_own, args=(panel, 10))
                   for _ in range(2)]  # two pools at once
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    overall = panel.snapshot()["overall"]
    settled = sum(overall[key] for key in ("done", "failed", "timed_out", "crashed", "cancelled"))
    assert overall["total"] == settled == 20 + 20 + 20 + 2 * 10, overall
    assert overall["done"] >= 20 + 20 + 2 * 10 and overall["failed"] == 1
    assert overall["pending"] == overall["running"] == 0
