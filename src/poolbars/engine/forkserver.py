"""The fork server's lifetime in this process: a pool that uses it has it preload
`poolbars.engine.worker`, and the last open pool to close stops it (no process left behind;
the next pool starts it again). Pools open and close from any thread: the count of
open pools is written under a lock, here only."""

from __future__ import annotations

import threading
from typing import Any

_open_pools = 0  # pools of this process between start() and close()
_lock = threading.Lock()


def pool_opened(ctx: Any, uses_forkserver: bool) -> None:
    """A pool starts (with `ctx`, a multiprocess context)."""
    global _open_pools
    if uses_forkserver:
        ctx.set_forkserver_preload(["poolbars.engine.worker"])
    with _lock:
        _open_pools += 1


def pool_closed(uses_forkserver: bool) -> None:
    """A pool has stopped its workers: stop the fork server if it was the last open pool
    and used it."""
    global _open_pools
    with _lock:
        _open_pools -= 1
        last = _open_pools == 0
    if last and uses_forkserver:
        stop()


def stop() -> None:
    """Stop multiprocess's fork server (it is started again by the next pool)."""
    try:
        from multiprocess import forkserver

        forkserver._forkserver._stop()
    except (AttributeError, OSError):
        pass
