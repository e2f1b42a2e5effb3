"""Measured fault handling: how soon a killed worker is detected, and how soon a
KeyboardInterrupt leaves no worker behind. Run: python bench/faults.py"""

import os
import signal
import statistics
import tempfile
import threading
import time

import poolbars as pb


def die(x, stamp):
    if x == 3:
        with open(stamp, "w") as f:
            f.write(repr(time.time()))
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return x


def detection() -> float:
    stamp = tempfile.mktemp()
    seen = []
    with pb.Pool(2, display=None, on_error="return",
                 on_failure=lambda f: seen.append(time.time())) as pool:
        pool.map(lambda x: die(x, stamp), range(8))
    with open(stamp) as f:
        return seen[0] - float(f.read())


def interrupt() -> float:
    """Seconds from SIGINT to the end of `with` (every worker joined)."""
    sent = []

    def send():
        time.sleep(0.8)
        sent.append(time.time())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=send, daemon=True).start()
    try:
        with pb.Pool(2, display=None) as pool:
            pool.map(time.sleep, [0.5] * 100)
    except KeyboardInterrupt:
        done = time.time()
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    assert not any(_parent(p) == os.getpid() and "resource_tracker" not in _cmd(p) for p in pids)
    return done - sent[0]


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _cmd(pid):
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    for name, measure in (("killed worker detected after", detection),
                          ("interrupt to no worker left", interrupt)):
        times = [measure() for _ in range(5)]
        print(f"{name:30s} median {statistics.median(times) * 1000:6.1f} ms "
              f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
