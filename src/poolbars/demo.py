"""A short, realistic run: converting a dozen files on a few workers, one of them corrupt.

Run it with `python -m poolbars demo`."""

from __future__ import annotations

import random
import time

from . import message, track
from .pool import Pool

FILES = [f"part-{n:02d}.csv" for n in range(11)] + ["corrupt.csv"]


def convert(name: str) -> int:
    """Read a file in blocks, then write it; the corrupt one fails halfway."""
    rng = random.Random(name)
    blocks = rng.randint(40, 90)
    delay = rng.uniform(0.004, 0.012)
    for block in track(range(blocks), desc=f"reading {name}", unit="blocks"):
        time.sleep(delay)
        if name == "corrupt.csv" and block == blocks // 2:
            raise ValueError(f"{name}: unexpected end of record at block {block}")
    message("writing")
    time.sleep(0.1)
    return blocks


def main(workers: int = 3, display="auto") -> int:
    with Pool(workers, title="Converting files", display=display, on_error="return") as pool:
        results = pool.map(convert, FILES)
    converted = sum(1 for r in results if isinstance(r, int))
    print(f"\n{converted} of {len(FILES)} files converted; {len(pool.failures)} failed:")
    for failure in pool.failures:
        print(f"  {failure.item}: {failure.error}")
    return 0
