"""Chunk sizing: how many items of a job go to a worker next, from the job's measured
task time. Pure arithmetic — no processes, threads or pool — so it is tested directly.

A job's first chunk is one item. From then on each chunk aims at CHUNK_SECONDS of work,
at the per-item time the last chunk took, growing at most MAX_GROWTH-fold per step. Near
the end of an input of known length chunks shrink so every worker still gets some (but
not below TAIL_SECONDS of work). `max_in_flight` bounds the items read and not yet taken
by the caller: with no room left the size is 0, meaning wait.
"""

from __future__ import annotations

import math

CHUNK_SECONDS = 0.05  # target work per chunk once items prove quick
MAX_GROWTH = 4  # a chunk is at most this many times the last one
TAIL_SECONDS = 0.005  # near the end chunks shrink so workers finish together, down to this
MIN_IN_FLIGHT = 64  # with no max_in_flight, at least this many items may be in flight
IN_FLIGHT_CHUNKS = 4  # … and at least this many chunks per process


def next_chunk_size(timing: tuple[int, float] | None, *, chunksize: int | None,
                    processes: int, length: int | None, read: int, consumed: int,
                    max_in_flight: int | None) -> int:
    """Items to read for a job's next chunk; 0: wait for the caller to take results.

    `timing`: (items, seconds) of the job's last chunk, None before the first one.
    `chunksize`: the pool's fixed size, if given (timing is then ignored).
    `length`: len() of the input, if known; `read`: items read so far; `consumed`: items
    whose outcome the caller has taken; `max_in_flight`: the bound on read − consumed.
    """
    if chunksize is not None:
        size = chunksize
    elif timing is None:
        size = 1
    else:
        size = _timed_size(timing, processes, length, read)
    limit = max_in_flight
    if limit is None:
        limit = max(IN_FLIGHT_CHUNKS * processes * size, MIN_IN_FLIGHT)
    room = limit - (read - consumed)
    return max(min(size, room), 0)


def _timed_size(timing: tuple[int, float], processes: int, length: int | None,
                read: int) -> int:
    """The size the last chunk's timing asks for, capped near the end of the input."""
    count, seconds = timing
    per_item = seconds / count
    size = count * MAX_GROWTH if seconds <= 0 else int(CHUNK_SECONDS / per_item)
    size = max(min(size, count * MAX_GROWTH), 1)
    if length is not None and length > read:  # leave work for every worker at the end
        share = math.ceil((length - read) / (2 * processes))
        floor = 1 if seconds <= 0 else int(TAIL_SECONDS / per_item)
        size = min(size, max(share, floor))
    return size
