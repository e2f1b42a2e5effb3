"""Measured handling of bad peers of a remote panel (issue 10, §7), for the fault table.
Run: python bench/remote_faults.py"""

import pickle
import socket
import threading
import time
import warnings

import poolbars as pb
from poolbars import channel


def _server(hang_up: bool):
    """A real TCP server on 127.0.0.1 that accepts and says nothing (or hangs up)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            held.append(conn) if not hang_up else conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def connect_to(hang_up: bool) -> float:
    """Seconds pb.connect() takes to give up (with its one warning) on such a server."""
    listener, held = _server(hang_up)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        pb.connect(listener.getsockname(), b"k" * 32).close()
        took = time.perf_counter() - started
    assert [w.category for w in caught] == [RuntimeWarning]
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    for conn in held:
        conn.close()
    return took


def _threads_gone(before: set) -> float:
    started = time.perf_counter()
    while any(t not in before for t in threading.enumerate()):
        time.sleep(0.01)
    return time.perf_counter() - started


def silent_client() -> float:
    """Seconds until the panel lets go of the thread of a connection that never speaks."""
    with pb.Panel(display=None) as panel:
        before = set(threading.enumerate())
        sock = socket.create_connection(panel.connect_info()["address"])
        time.sleep(0.05)
        took = 0.05 + _threads_gone(before)
        sock.close()
    return took


def closed_remote() -> float:
    """Seconds from Remote.close() until its threads (here and in the panel) are gone."""
    with pb.Panel(display=None) as panel:
        before = set(threading.enumerate())
        remote = pb.connect(**panel.connect_info())
        with remote.bar(3) as bar:
            bar.update(3)
        started = time.perf_counter()
        remote.close()
        return time.perf_counter() - started + _threads_gone(before)


def malformed() -> float:
    """Seconds from a malformed batch's put to its count in the snapshot."""
    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        outbox = channel.connect(info["address"], info["authkey"])
        started = time.perf_counter()
        outbox.put(pickle.dumps([("bar", "x", 1)]))
        while panel.snapshot()["overall"]["dropped"] < 1:
            time.sleep(0.001)
        took = time.perf_counter() - started
        outbox.close()
    return took


def concurrent(reporters: int = 50, bars: int = 6) -> float:
    """Seconds for `reporters` threads, each with its own connection, to show `bars` bars
    of 20 steps each; asserts every bar ends closed at 20 (its last state)."""
    def report(info, name):
        remote = pb.connect(**info, name=name)
        for _ in range(bars):
            with remote.bar(20, desc=name) as bar:
                for _ in range(20):
                    bar.update(1)
                    time.sleep(0.002)
        remote.close()

    with pb.Panel(display=None) as panel:
        info = panel.connect_info()
        started = time.perf_counter()
        threads = [threading.Thread(target=report, args=(info, f"r{i}"))
                   for i in range(reporters)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while panel.state.bars_finished < reporters * bars:
            time.sleep(0.01)
        took = time.perf_counter() - started
        with panel.state.lock:
            states = {(lane.state, bar.n, bar.closed)
                      for lane in panel.state.lanes.values() for bar in lane.bars.values()}
    assert states == {("done", 20, True)}, states
    return took


if __name__ == "__main__":
    for name, measure in (("connect() to a silent panel", lambda: connect_to(False)),
                          ("connect() to a panel that hangs up", lambda: connect_to(True)),
                          ("silent client's thread let go", silent_client),
                          ("closed Remote's threads gone", closed_remote),
                          ("malformed batch counted", malformed),
                          ("50 reporters x 6 bars shown", concurrent)):
        times = [measure() for _ in range(3)]
        print(f"{name:36s} median {sorted(times)[1] * 1000:8.1f} ms "
              f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
