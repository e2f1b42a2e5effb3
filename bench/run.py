"""The benchmark suite: poolbars against the bare pools and the peers, on this machine.

    python bench/run.py            # full sizes, median of 5, writes bench/RESULTS.md
    python bench/run.py --quick    # tiny sizes, 1 repeat: a smoke test of the harness

Runs of one workload are interleaved (contender A, B, C, A, B, C, …) so that a noisy
moment hurts all alike; each line gives the median, min–max and the ratio to the
workload's baseline. Peers (tqdm, mpire, parallelbar) come from `pip install -e
".[bench]"`; a missing one is reported and skipped. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import multiprocess

import poolbars as pb
from poolbars.protocol import events as ev
from poolbars.panel.session import Session
from poolbars.panel.state import PanelState

HERE = Path(__file__).resolve().parent
PROCESSES = 2
MEASURED: dict = {}  # what the targets of issue 5 are checked against (see `targets`)


# -- task functions (module level: every pool can pickle them) -----------------------------

def square(x):
    return x * x


def sleep_50ms(x):
    time.sleep(0.05)
    return x


def spin(kind: str, n: int) -> int:
    """W2: a trivial loop of n iterations, with the progress reporting `kind`."""
    if kind == "bare":
        for _ in range(n):
            pass
    elif kind == "pb.track":
        for _ in pb.track(range(n), desc="spin"):
            pass
    elif kind == "pb.bar.update(1)":
        with pb.bar(n, desc="spin") as bar:
            update = bar.update
            for _ in range(n):
                update(1)
    elif kind == "tqdm iterator":
        from tqdm import tqdm
        with open(os.devnull, "w") as sink:
            for _ in tqdm(range(n), file=sink, mininterval=0.1):
                pass
    elif kind == "tqdm.update(1)":
        from tqdm import tqdm
        with open(os.devnull, "w") as sink, tqdm(total=n, file=sink) as bar:
            update = bar.update
            for _ in range(n):
                update(1)
    return n


# -- measuring -------------------------------------------------------------------------------

@contextlib.contextmanager
def quiet():
    """Keep peers' progress bars and our log view off the benchmark's own output."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink), \
            contextlib.redirect_stdout(io.StringIO()):
        yield


def interleave(contenders: dict, repeat: int) -> dict:
    """{name: [seconds, …]}, or {name: "skipped (…)"}: each contender returns seconds."""
    times: dict = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, run in contenders.items():
            if isinstance(times[name], str):
                continue
            try:
                with quiet():
                    times[name].append(run())
            except ImportError as exc:  # a peer that is not installed
                times[name] = f"skipped ({exc})"
    return times


def table(title: str, times: dict, baseline: str, note: str = "", key: str = "") -> list[str]:
    """A markdown table of `times`; with `key`, each contender's ratio is kept in MEASURED."""
    base = statistics.median(times[baseline])
    lines = [f"### {title}", "", *([note, ""] if note else []),
             "| contender | median | min – max | ratio |", "|---|---|---|---|"]
    for name, runs in times.items():
        if isinstance(runs, str):
            lines.append(f"| {name} | {runs} | | |")
            continue
        med = statistics.median(runs)
        lines.append(f"| {name} | {_secs(med)} | {_secs(min(runs))} – {_secs(max(runs))} "
                     f"| {med / base:.2f}× |")
        if key:
            MEASURED[key, name] = med / base
    return lines + [""]


def _secs(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- W1: x*x over many ints -----------------------------------------------------------------

def w1(n: int, repeat: int) -> list[str]:
    items = range(n)

    def stdlib():
        with multiprocessing.Pool(PROCESSES) as pool:
            pool.map(square, range(10))
            return timed(lambda: pool.map(square, items))

    def mp_dill():
        with multiprocess.Pool(PROCESSES) as pool:
            pool.map(square, range(10))
            return timed(lambda: pool.map(square, items))

    def poolbars_log():
        with pb.Pool(PROCESSES, display="log") as pool:
            pool.map(square, range(10))
            return timed(lambda: pool.map(square, items))

    def parallelbar():
        from parallelbar import progress_map
        return timed(lambda: progress_map(square, items, n_cpu=PROCESSES)) - _pool_start()

    def mpire():
        from mpire import WorkerPool
        with WorkerPool(PROCESSES) as pool:
            pool.map(square, range(10))
            return timed(lambda: pool.map(square, items, progress_bar=True))

    contenders = {"multiprocessing.Pool.map (stdlib)": stdlib,
                  "multiprocess.Pool.map": mp_dill,
                  "poolbars Pool.map, log view": poolbars_log,
                  "parallelbar progress_map": parallelbar,
                  "mpire map, progress_bar": mpire}
    times = interleave(contenders, repeat)
    small = max(n // 50, 100)

    def process_map():
        from tqdm.contrib.concurrent import process_map
        return timed(lambda: process_map(square, range(small), max_workers=PROCESSES)) * n / small

    times.update(interleave({f"tqdm process_map (chunksize 1; {small:,} items, ×{n // small})":
                             process_map}, max(1, repeat // 2)))
    return table(f"W1: `x*x` over {n:,} ints, {PROCESSES} workers", times,
                 "multiprocessing.Pool.map (stdlib)",
                 "Pools are started and warmed before the clock starts, except "
                 "parallelbar (one call; the time of starting a bare pool is subtracted).",
                 key="W1")


_start_cost = None


def _pool_start() -> float:
    global _start_cost
    if _start_cost is None:
        _start_cost = statistics.median(
            timed(lambda: multiprocessing.Pool(PROCESSES).__exit__(None, None, None))
            for _ in range(3))
    return _start_cost


# -- start-up: the snippet, first pool and later ones --------------------------------

STARTERS = {"stdlib fork Pool(4)": "fork", "stdlib forkserver Pool(4)": "forkserver",
            "poolbars Pool(4, display=None)": "poolbars"}


def start_and_map(kind: str) -> float:
    """Seconds for `with <pool>(4) as p: p.map(square, range(10))` (the issue's snippet)."""
    start = time.perf_counter()
    if kind == "poolbars":
        with pb.Pool(4, display=None) as p:
            p.map(square, range(10))
    else:
        with multiprocessing.get_context(kind).Pool(4) as p:
            p.map(square, range(10))
    return time.perf_counter() - start


def _starts_in_a_fresh_interpreter(kind: str, later: int) -> list[float]:
    """[first pool, later pools…] timed in a new interpreter (this script, --starts)."""
    run = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--starts", kind,
                          str(later)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    if run.returncode != 0:
        raise RuntimeError(f"--starts {kind} failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def startup(repeat: int, later: int) -> list[str]:
    first: dict = {name: [] for name in STARTERS}
    rest: dict = {name: [] for name in STARTERS}
    for _ in range(repeat):  # interleaved, one fresh interpreter each
        for name, kind in STARTERS.items():
            times = _starts_in_a_fresh_interpreter(kind, later)
            first[name].append(times[0])
            rest[name].append(statistics.median(times[1:]))
    note = (f"`with Pool(4) as p: p.map(f, range(10))`, start to end of the `with`; "
            f"{repeat} fresh interpreters each (this script); later: the median of pools "
            f"2–{later + 1} in one interpreter. Targets (issue 12): later ≤ 3× fork, "
            "first ≤ 1.5× forkserver. The main module is this script: poolbars' fork "
            "server loads it once; each worker of a stdlib `forkserver` pool loads it "
            "again (before Python 3.13.8 the stdlib never preloads `__main__`, "
            "CPython gh-126631).")
    return (table("Start-up: the first pool in a fresh interpreter", first,
                  "stdlib forkserver Pool(4)", note, key="start-first")
            + table("Start-up: the second and later pools in one interpreter", rest,
                    "stdlib fork Pool(4)", key="start-later"))


# -- W2: progress inside tasks ----------------------------------------------------------------

def w2(tasks: int, n: int, repeat: int) -> list[str]:
    kinds = ["bare", "pb.track", "pb.bar.update(1)", "tqdm iterator", "tqdm.update(1)"]
    results = {}
    with pb.Pool(PROCESSES, display="log") as pool:
        pool.map(square, range(4))
        contenders = {kind: (lambda kind=kind: timed(
            lambda: pool.starmap(spin, [(kind, n)] * tasks))) for kind in kinds}
        results = interleave(contenders, repeat)
    return table(f"W2: {tasks} tasks × {n:,} trivial iterations, progress every iteration, "
                 f"{PROCESSES} workers (all in one warm poolbars pool)", results, "bare",
                 f"{repeat} runs each: on this machine the ratios of these short loops move "
                 "by ±0.1 from one run of the suite to the next.", key="W2")


# -- W3: tasks of 50 ms -----------------------------------------------------------------------

def w3(tasks: int, repeat: int) -> list[str]:
    items = range(tasks)

    def stdlib():
        with multiprocessing.Pool(PROCESSES) as pool:
            pool.map(square, range(4))
            return timed(lambda: pool.map(sleep_50ms, items, chunksize=1))

    def poolbars_log():
        with pb.Pool(PROCESSES, display="log") as pool:
            pool.map(square, range(4))
            return timed(lambda: pool.map(sleep_50ms, items))

    def mpire():
        from mpire import WorkerPool
        with WorkerPool(PROCESSES) as pool:
            pool.map(square, range(4))
            return timed(lambda: pool.map(sleep_50ms, items, progress_bar=True))

    def parallelbar():
        from parallelbar import progress_map
        return timed(lambda: progress_map(sleep_50ms, items, n_cpu=PROCESSES)) - _pool_start()

    def process_map():
        from tqdm.contrib.concurrent import process_map
        return timed(lambda: process_map(sleep_50ms, items, max_workers=PROCESSES))

    times = interleave({"multiprocessing.Pool.map, chunksize 1": stdlib,
                        "poolbars Pool.map, log view": poolbars_log,
                        "mpire map, progress_bar": mpire,
                        "parallelbar progress_map": parallelbar,
                        "tqdm process_map": process_map}, repeat)
    return table(f"W3: {tasks} tasks × 50 ms, {PROCESSES} workers", times,
                 "multiprocessing.Pool.map, chunksize 1", key="W3")


# -- per-iteration cost in one process --------------------------------------------------------

def micro(n: int, repeat: int) -> list[str]:
    from poolbars.progress import reporting

    reporter = reporting.Reporter(lambda batch: None, source="bench")
    reporter.start_timer()  # as in a worker or a notebook's own panel
    reporting.install(reporter)
    try:
        def loop(kind):
            return lambda: timed(lambda: spin(kind, n))
        times = interleave({kind: loop(kind) for kind in
                            ["bare", "pb.track", "tqdm iterator", "pb.bar.update(1)",
                             "tqdm.update(1)"]}, repeat)
    finally:
        reporting.install(None)
        reporter.stop_timer()
    base = statistics.median(times["bare"])
    lines = [f"### Per-iteration cost in one process ({n:,} iterations)", "",
             "| loop | ns per item | overhead over the bare loop |", "|---|---|---|"]
    cost = {}
    for name, runs in times.items():
        if isinstance(runs, str):
            lines.append(f"| {name} | {runs} | |")
            continue
        med = statistics.median(runs)
        cost[name] = (med - base) * 1e9 / n
        lines.append(f"| {name} | {med * 1e9 / n:.1f} | +{cost[name]:.1f} ns |")
    MEASURED["ns"] = cost
    if "tqdm iterator" in cost:
        lines.append("")
        lines.append(f"`track()` overhead / tqdm iterator overhead: "
                     f"**{cost['pb.track'] / cost['tqdm iterator']:.2f}** · "
                     f"`bar.update(1)` / tqdm `update(1)`: "
                     f"**{cost['pb.bar.update(1)'] / cost['tqdm.update(1)']:.2f}**")
    return lines + [""]


# -- the front end's traffic -----------------------------------------------------------------

class RecordingView:
    def __init__(self):
        self.pushes: list[tuple[float, int]] = []
        self.closed_at = None

    def update(self, snapshot):
        self.pushes.append((time.time(), len(json.dumps(snapshot))))

    def close(self, snapshot):
        self.closed_at = time.time()


def front_end(tasks: int) -> list[str]:
    # 1. snapshots per second during a real run with inner bars
    view = RecordingView()
    with pb.Pool(PROCESSES, display=None) as pool:
        pool._running.session.collector.push = view.update
        pool._running.session.view = view
        last_end = []
        pool.on_success = lambda i, r, w: last_end.append(time.time())
        start = time.time()
        pool.map(_inner_bars, range(tasks))
        run_end = time.time()
    pushes = [t for t, _ in view.pushes if start <= t <= run_end]
    rate = len(pushes) / (run_end - start)
    final_delay = view.closed_at - max(last_end)
    # 2. snapshot size: 100,000 tasks and 64 workers, every lane busy with a bar
    state = PanelState("size check")
    state.fold((ev.SEEN, 0, 100_000))
    for w in range(64):
        state.fold((ev.WORKER, w, "idle", 1000 + w))
        state.fold((ev.START, w, w * 1000, 1000, f"'/data/part-{w:05d}.parquet'", 1.0))
        state.fold((ev.BAR, w, 1, w * 1000, f"rows of part {w}", 512, 1024, "rows",
                    (("loss", "0.1234"), ("lr", "3e-4")), False, 2.0))
        state.fold((ev.MESSAGE, w, w * 1000, "writing shard 3 of 8"))
    for i in range(20):
        state.fold((ev.FAIL, i % 64, i * 1000, f"'/data/part-{i:05d}.parquet'", "error",
                    "ValueError: bad record", "Traceback (most recent call last):\n"
                    + "  File \"task.py\", line 12, in work\n    parse(x)\n" * 3
                    + "ValueError: bad record\n", 1, 3.0))
    size = len(json.dumps(state.snapshot()))
    MEASURED.update(pushes_per_s=rate, snapshot_kb=size / 1024, final_ms=final_delay * 1000)
    return ["### The front end's traffic", "",
            "| measure | value | target |", "|---|---|---|",
            f"| snapshots pushed per second ({tasks} tasks with inner bars) | {rate:.1f} | ≤ 10 |",
            f"| snapshot of 100,000 tasks, 64 busy workers, 20 failures (JSON) | "
            f"{size / 1024:.1f} KB | ≤ 32 KB |",
            f"| final state pushed after the last task ended | {final_delay * 1000:.0f} ms | "
            "≤ 200 ms |", ""]


def _inner_bars(x):
    for _ in pb.track(range(50), desc=f"item {x}"):
        time.sleep(0.001)
    return x


# -- many failures -----------------------------------------------------------------------------

def corrupt(x):
    if x % 3 == 0:
        raise KeyError(f"part-{x}")
    raise ValueError(f"shard {x} is corrupt")


def failures(count: int, repeat: int) -> list[str]:
    """`count` failures: folded into a panel's state (time per fold, snapshot time and size),
    and a real pool map where every item fails, against the same map succeeding."""
    from poolbars.views import text

    error_tb = ("Traceback (most recent call last):\n" + "  File \"task.py\", line 12, in "
                "work\n    parse(x)\n" * 3)
    events = [(ev.FAIL, i % 64, i, f"'/data/part-{i:05d}.parquet'", "error",
               f"ValueError: shard {i} is corrupt" if i % 3 else f"KeyError: 'part-{i}'",
               error_tb + f"ValueError: shard {i} is corrupt\n", 1, 3.0)
              for i in range(count)]
    folds, snaps = [], []
    for _ in range(repeat):
        state = PanelState("failures")
        state.fold((ev.SEEN, 0, count))
        for w in range(64):
            state.fold((ev.WORKER, w, "busy", 1000 + w))
        t0 = time.perf_counter()
        for event in events:
            state.fold(event)
        folds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        snapshot = state.snapshot()
        json.dumps(snapshot)
        text.plain(snapshot)
        snaps.append(time.perf_counter() - t0)
    size = len(json.dumps(snapshot))
    fold_us = statistics.median(folds) / count * 1e6
    snap_ms = statistics.median(snaps) * 1000
    runs = interleave({
        "every item fails": lambda: _map_timed(corrupt, count),
        "every item succeeds": lambda: _map_timed(square, count)}, repeat)
    bad, good = statistics.median(runs["every item fails"]), statistics.median(
        runs["every item succeeds"])
    MEASURED.update(failures_fold_us=fold_us, failures_snapshot_ms=snap_ms,
                    failures_snapshot_kb=size / 1024)
    return ["### Many failures", "",
            "| measure | value | target |", "|---|---|---|",
            f"| fold one failure into the panel's state ({count:,} failures, 2 shapes) | "
            f"{fold_us:.1f} µs | |",
            f"| snapshot + JSON + text fallback after {count:,} failures | {snap_ms:.1f} ms | "
            "≤ 10 ms |",
            f"| snapshot after {count:,} failures (JSON, 64 lanes listed) | {size / 1024:.1f} KB "
            "| ≤ 48 KB |",
            f"| Pool(2).map of {count:,} items, every one failing (on_error=\"return\") | "
            f"{_secs(bad)} | |",
            f"| the same map, every item succeeding | {_secs(good)} | |", ""]


def _map_timed(fn, count: int) -> float:
    with pb.Pool(PROCESSES, display=None, on_error="return") as pool:
        t0 = time.perf_counter()
        pool.map(fn, range(count))
        return time.perf_counter() - t0


# -- scale -----------------------------------------------------------------------------------

def _reporter_process(address, authkey, seconds, bars):
    """A process speaking the channel protocol: `bars` bars updated flat out."""
    from poolbars.progress.reporting import Bar, Reporter
    from poolbars.engine.worker import queue_sink

    reporter = Reporter(queue_sink(address, authkey), source=f"r{os.getpid()}")
    mine = [Bar(None, f"bar {i}", reporter=reporter) for i in range(bars)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for bar in mine:
            bar.update(1)
    for bar in mine:
        bar.close()
    reporter.flush()


def scale(reporters: int, seconds: float, finished: int) -> list[str]:
    session = Session(title="scale", display=None, serve=True)
    channel = session.channel
    ctx = multiprocessing.get_context("fork")  # this launcher has no threads of note
    procs = [ctx.Process(target=_reporter_process,
                         args=(channel.address, channel.authkey, seconds, 10))
             for _ in range(reporters)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    for p in procs:
        p.start()
    t0 = time.time()
    backlog = []
    while any(p.is_alive() for p in procs):
        backlog.append(session.queue.qsize())
        time.sleep(0.25)
    for p in procs:
        p.join()
    wall = time.time() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    folded = session.collector.folded
    session.close()
    parent_cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / wall
    half = len(backlog) // 2
    grow = (statistics.mean(backlog[half:]) if backlog[half:] else 0) - (
        statistics.mean(backlog[:half]) if backlog[:half] else 0)
    # memory for many finished tasks
    rss0 = _rss_mb()
    with pb.Pool(PROCESSES, display="log") as pool:
        for _ in pool.imap_unordered(square, range(finished)):
            pass
    rss1 = _rss_mb()
    MEASURED.update(backlog=(grow, max(backlog or [0])), parent_cpu=parent_cpu,
                    rss=(rss1 - rss0, rss1), folded=folded, reporters=reporters,
                    finished=finished)
    return ["### Scale", "",
            "| measure | value | target |", "|---|---|---|",
            f"| {reporters} reporter processes × 10 bars, flat out for {seconds:g} s: events "
            f"folded | {folded:,} | |",
            f"| collector backlog (queue length; mean of 2nd half − 1st half) | "
            f"{grow:+.1f} (max {max(backlog or [0])}) | no growth |",
            f"| parent CPU while they report | {parent_cpu:.2f} cores | < 1 core |",
            f"| parent memory after {finished:,} finished tasks (RSS growth) | "
            f"{rss1 - rss0:.1f} MB (RSS {rss1:.0f} MB) | < 200 MB |", ""]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- the report -------------------------------------------------------------------------------

def startup_targets(m: dict) -> list[tuple]:
    """Issue 12's start-up targets: (target, measured, met) rows."""
    first = m[("start-first", "poolbars Pool(4, display=None)")]
    later = m[("start-later", "poolbars Pool(4, display=None)")]
    return [("the second and later pools ≤ 3× a stdlib `fork` pool (start-up)",
             f"{later:.2f}×", later <= 3),
            ("the first pool ≤ 1.5× a stdlib `forkserver` pool (start-up)",
             f"{first:.2f}×", first <= 1.5)]


def targets(quick: bool) -> list[str]:
    """The targets of issue 5, each against what the tables above measured."""
    m = MEASURED
    w1 = m.get(("W1", "poolbars Pool.map, log view"))
    w1_mp = m.get(("W1", "multiprocess.Pool.map"))
    w2 = m.get(("W2", "pb.track"))
    w3 = m.get(("W3", "poolbars Pool.map, log view"))
    ns = m.get("ns", {})
    track = ns["pb.track"] / ns["tqdm iterator"] if "tqdm iterator" in ns else None
    update = ns["pb.bar.update(1)"] / ns["tqdm.update(1)"] if "tqdm.update(1)" in ns else None
    grow, top = m["backlog"]
    grown, rss = m["rss"]
    # (target, measured, met): met is None when a peer to compare with is missing
    rows = [
        ("W1 with the panel on (log view) ≤ 1.3× stdlib `multiprocessing.Pool.map`",
         f"{w1:.2f}× (and {w1 / w1_mp:.2f}× of bare `multiprocess.Pool.map`)", w1 <= 1.3),
        ("W2 with `pb.track()` ≤ 1.3× the same loop with no progress", f"{w2:.2f}×",
         w2 <= 1.3),
        ("`track()` per-item overhead ≤ 0.3× tqdm's iterator",
         f"{track:.2f}× (+{ns['pb.track']:.1f} ns vs +{ns['tqdm iterator']:.1f} ns)"
         if track is not None else "—", None if track is None else track <= 0.3),
        ("`bar.update(1)` ≤ 0.5× tqdm's `update(1)`",
         f"{update:.2f}× (+{ns['pb.bar.update(1)']:.1f} ns vs +{ns['tqdm.update(1)']:.1f} ns)"
         if update is not None else "—", None if update is None else update <= 0.5),
        ("W3 ≤ 1.03×", f"{w3:.2f}×", w3 <= 1.03),
        ("≤ 10 snapshots/s", f"{m['pushes_per_s']:.1f}/s", round(m["pushes_per_s"], 1) <= 10),
        ("snapshot of 100,000 tasks and 64 workers ≤ 32 KB",
         f"{m['snapshot_kb']:.1f} KB (with 20 failures listed)", m["snapshot_kb"] <= 32),
        ("final state pushed ≤ 200 ms after the last task ends", f"{m['final_ms']:.0f} ms",
         m["final_ms"] <= 200),
        (f"{m['reporters']} reporters: no growing backlog, parent CPU < 1 core",
         f"backlog {grow:+.1f} (max {top}), {m['parent_cpu']:.2f} cores",
         grow < 5 and m["parent_cpu"] < 1),
        (f"memory for {m['finished']:,} finished tasks < 200 MB",
         f"+{grown:.1f} MB (RSS {rss:.0f} MB)", grown < 200),
        *startup_targets(m),
    ]
    lines = ["### The targets of issue 5 (and issue 12's start-up), against the tables above", "",
             *(["With `--quick` the sizes are far below the targets' own: a smoke test of "
                "the harness, not a measurement.", ""] if quick else []),
             "| target | measured | met |", "|---|---|---|"]
    for target, measured, met in rows:
        verdict = "n/a (a peer is missing)" if met is None else "yes" if met else "**no**"
        lines.append(f"| {target} | {measured} | {verdict} |")
    return lines + ["", f"Notes. The {m['reporters']} reporter processes share the machine's "
                    f"cores with the parent; the collector folded all {m['folded']:,} events "
                    "they sent. The timeline trait (issue 7) is sent at most once a second "
                    "and is not part of the snapshot measured above; it is bounded to 2,400 "
                    "blocks in all.", ""]


def machine() -> list[str]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    versions = []
    for name in ("poolbars", "multiprocess", "dill", "tqdm", "mpire", "parallelbar"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version
            versions.append(f"{name} {version(name)}")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}.",
            "", "Versions: " + ", ".join(versions) + ".", ""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the report (default bench/RESULTS.md; "
                             "--quick prints only)")
    parser.add_argument("--starts", nargs=2, metavar=("KIND", "LATER"),
                        help=argparse.SUPPRESS)  # one interpreter's pool start times
    args = parser.parse_args(argv)
    if args.starts:
        kind, later = args.starts[0], int(args.starts[1])
        print(json.dumps([start_and_map(kind) for _ in range(later + 1)]))
        return 0
    q = args.quick
    repeat = 1 if q else 5
    started = time.time()
    sections = [
        startup(1 if q else 5, 2 if q else 7),
        w1(2_000 if q else 200_000, repeat),
        w2(2 if q else 8, 20_000 if q else 2_000_000, 1 if q else 11),  # the noisiest
        w3(8 if q else 64, repeat),
        micro(20_000 if q else 2_000_000, repeat),
        front_end(10 if q else 200),
        failures(1_000 if q else 10_000, repeat),
        scale(4 if q else 256, 1.0 if q else 10.0, 10_000 if q else 1_000_000),
    ]
    lines = ["# Benchmark results", "", f"`python bench/run.py{' --quick' if q else ''}`, "
             f"{time.strftime('%Y-%m-%d')}, {time.time() - started:.0f} s.", "", *machine()]
    for section in sections:
        lines += section
    lines += targets(q)
    report = "\n".join(lines)
    print(report)
    out = args.out or (None if q else HERE / "RESULTS.md")
    if out is not None:
        out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
