"""Notebooks for the browser tests, built with nbformat into the server's temporary root
(never into the repo: JupyterLab autosaves). Cell 0 defines, cell 1 runs the pool, later
cells print facts the tests compare with what the page shows."""

from __future__ import annotations

from pathlib import Path

import nbformat

from _harness import KERNELSPEC

# Hostile text: shown literally, never parsed as HTML.
IMG = "<img src=x onerror=\"window.__pb_pwned=1;alert('img')\">"
SCRIPT = "<script>window.__pb_pwned=2;alert('script')</script>"
CLOSE = "</script><b>bold?</b>"
LONG = "W" * 3000  # no spaces, nowhere to wrap


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


LIVE = _notebook(
    """\
import time
import poolbars as pb

def work(i):
    pb.message(f"working on {i}")
    for _ in pb.track(range(25), desc=f"step of {i}"):
        time.sleep(0.05)
    return i * i
""",
    """\
with pb.Pool(3, title="Live run") as pool:
    results = pool.map(work, range(12))
""",
    """\
s = pool.stats
print("STATS", s.total, s.done, s.failed, s.timed_out, s.crashed, sum(results))
""",
)
LIVE_WORKERS, LIVE_TASKS = 3, 12

FAILURES = _notebook(
    """\
import os
import time
import poolbars as pb

def risky(i):
    for _ in pb.track(range(10), desc=f"item {i}"):
        time.sleep(0.02)
    if i == 1:
        raise ValueError(f"bad record {i}")
    if i == 2:
        os._exit(1)
    if i == 3:
        time.sleep(30)          # well past the pool's timeout
    return i
""",
    """\
with pb.Pool(2, title="Faults", timeout=2, on_error="return") as pool:
    results = pool.map(risky, range(6))
""",
    """\
print("KINDS", sorted((f.index, f.kind) for f in pool.failures))
""",
)

HOSTILE = _notebook(
    f"""\
import time
import poolbars as pb

IMG, SCRIPT, CLOSE, LONG = {IMG!r}, {SCRIPT!r}, {CLOSE!r}, {LONG!r}
ITEMS = [IMG, SCRIPT, CLOSE, LONG]

def nasty(item):
    pb.message("msg " + item)
    for _ in pb.track(range(30), desc=item):
        time.sleep(0.03)
    raise RuntimeError("boom " + item)
""",
    """\
with pb.Pool(2, title="T " + IMG + SCRIPT + LONG, on_error="return") as pool:
    results = pool.map(nasty, ITEMS)
""",
    """\
print("FAILED", len(pool.failures))
""",
)

SCALE_TASKS, SCALE_WORKERS = 2000, 2
SCALE = _notebook(
    """\
import time
import poolbars as pb

def tiny(i):
    # the time of the report rides in the text: the page computes the latency
    pb.message(f"t={time.time():.6f}")
    for _ in pb.track(range(5), desc=f"t={time.time():.6f}"):
        time.sleep(0.0012)
    return i
""",
    f"""\
with pb.Pool({SCALE_WORKERS}, title="Scale") as pool:
    results = pool.map(tiny, range({SCALE_TASKS}))
""",
    """\
s = pool.stats
print("STATS", s.total, s.done, round(s.elapsed, 2))
""",
)

THEME = _notebook(
    """\
import time
import poolbars as pb

def job(i):
    for _ in pb.track(range(10), desc=f"job {i}"):
        time.sleep(0.01)
    if i == 2:
        raise KeyError(f"missing {i}")
    return i
""",
    """\
with pb.Pool(2, title="Themes", on_error="return") as pool:
    results = pool.map(job, range(5))
""",
)

# A message followed by a long phase without progress calls (the README's example).
LATE = _notebook(
    """\
import time
import poolbars as pb

def slow_finish(i):
    for _ in pb.track(range(20), desc=f"load {i}"):
        time.sleep(0.03)
    pb.message(f"writing since {time.time():.3f}")
    time.sleep(4)
    return i
""",
    """\
with pb.Pool(1, title="Late message") as pool:
    results = pool.map(slow_finish, range(1))
""",
)

TIMELINE = _notebook(
    """\
import time
import poolbars as pb

def step(i):
    for _ in pb.track(range(10), desc=f"item {i}"):
        time.sleep(0.03)
    if i == 3:
        raise ValueError("item 3 went wrong")
    return i
""",
    """\
with pb.Pool(2, title="Timeline", on_error="return", chunksize=1) as pool:
    results = pool.map(step, range(8))
""",
)

BACKGROUND = _notebook(
    """\
import time
import poolbars as pb

def slow(i):
    time.sleep(0.25)
    return i

pool = pb.Pool(2, title="In the background")
pool.start()
handle = pool.map_async(slow, range(80))
""",
)

# the issue's own case: 32 workers over 120 tasks, 7 of them failing
WIDE_WORKERS, WIDE_TASKS, WIDE_FAILING = 32, 120, tuple(range(5, 120, 17))
WIDE = _notebook(
    """\
import time
import poolbars as pb

def shard(i):
    for _ in pb.track(range(10), desc="rows"):
        time.sleep(0.06)
    if i % 17 == 5:
        raise ValueError(f"shard {i} is corrupt")
    return i
""",
    f"""\
with pb.Pool({WIDE_WORKERS}, title="Shards", on_error="return") as pool:
    results = pool.map(shard, range({WIDE_TASKS}))
""",
    """\
s = pool.stats
print("STATS", s.total, s.done, s.failed)
""",
)

ALL = {"wide.ipynb": WIDE, "late.ipynb": LATE, "timeline.ipynb": TIMELINE, "background.ipynb": BACKGROUND, "live.ipynb": LIVE, "failures.ipynb": FAILURES, "hostile.ipynb": HOSTILE,
       "scale.ipynb": SCALE, "theme.ipynb": THEME}

# Appended to a copy of the quickstart for the static-HTML test (ipywidgets #2188).
CLOSING_TAG_CELL = """\
with pb.Pool(2, title="labels </script> end", on_error="return") as tagged:
    tagged.map(lambda s: s.upper() if s == "ok" else 1 / 0, ["ok", "</script><script>alert(1)</script>"])
"""


def write_all(root: Path) -> None:
    for name, nb in ALL.items():
        nbformat.write(nb, root / name)
