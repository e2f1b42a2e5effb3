"""The fork server's lifetime in this process: started by the first pool that uses it,
preloaded with `poolbars.engine.worker`, and kept warm between pools, so the second and
later pools start in a few milliseconds. (A script's main module is still imported again
by each worker, as under any forkserver pool: multiprocess 0.70 on Python 3.11 never
preloads `__main__` in the server, whatever the preload list says, so we do not ask.)
It is stopped by `shutdown()` (`pb.shutdown()`), and by an atexit hook; neither ever
blocks: a server that does not exit within STOP_WAIT is killed, and one that still
serves an open pool's workers is only told to stop (it exits with the last of them).
A child made by `os.fork()` forgets its parent's server (and closes its copy of the
server's pipe), so it neither uses nor holds it.

The count of open pools is written under a lock, here only. multiprocess's own record of
its server (`forkserver._forkserver`) is read and reset here, under its lock."""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from typing import Any

STOP_WAIT = 1.0  # seconds a server told to stop (no pool open) has to exit before SIGKILL

_open_pools = 0  # pools of this process between start() and close()
_lock = threading.Lock()
_owner: int | None = None  # the pid whose atexit hook is registered (not a forked child's)
_stopping: list[int] = []  # servers told to stop while a pool was open: reaped later


def pool_opened(ctx: Any, uses_forkserver: bool) -> None:
    """A pool starts (with `ctx`, a multiprocess context)."""
    global _open_pools, _owner
    if uses_forkserver:
        ctx.set_forkserver_preload(["poolbars.engine.worker"])
    with _lock:
        _open_pools += 1
        if uses_forkserver and _owner != os.getpid():
            _owner = os.getpid()
            atexit.register(_at_exit)


def pool_closed(uses_forkserver: bool) -> None:
    """A pool has stopped its workers: the fork server stays warm for the next pool; one
    that `shutdown()` told to stop while pools were open is reaped with the last of them."""
    global _open_pools
    with _lock:
        _open_pools -= 1
        last = _open_pools == 0
        stopping = list(_stopping) if last else []
        del _stopping[:len(stopping)]
    for pid in stopping:
        _reap(pid)


def shutdown() -> None:
    """Stop the warm fork server (see the module doc); the next pool starts it again."""
    pid = _forget_server()
    if pid is None:
        return
    with _lock:
        busy = _open_pools > 0
        if busy:  # its pipe is closed: it exits once the open pools' workers have
            _stopping.append(pid)
    if not busy:
        _reap(pid)


def _server() -> Any:
    from multiprocess import forkserver
    return forkserver._forkserver


def _forget_server() -> int | None:
    """Close this process's end of the server's "alive" pipe (which tells it to exit
    once no worker holds the pipe either) and forget the server: its pid, or None."""
    server = _server()
    with server._lock:
        pid: int | None = server._forkserver_pid
        if pid is None:
            return None
        _close_quietly(server._forkserver_alive_fd)
        address = server._forkserver_address
        server._forkserver_pid = server._forkserver_alive_fd = None
        server._forkserver_address = None
    from multiprocess import util
    if address is not None and not util.is_abstract_socket_namespace(address):
        try:
            os.unlink(address)
        except OSError:
            pass
    return pid


def _reap(pid: int) -> None:
    """Wait up to STOP_WAIT for server `pid` to exit, then kill it: never block."""
    deadline = time.monotonic() + STOP_WAIT
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not ours to wait for (or reaped already)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    if not done:  # something still holds its pipe (a process a task left running)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass


def _at_exit() -> None:
    if os.getpid() == _owner:  # a forked child that exits normally has no server to stop
        shutdown()


def _close_quietly(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def _forget_in_child() -> None:
    """In a child made by os.fork(): the parent's server is not ours. Drop our copy of its
    pipe (so the parent's shutdown is not held up by us) and start our own when needed."""
    global _open_pools, _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    _open_pools = 0
    _stopping.clear()
    try:
        server = _server()
    except ImportError:
        return
    server._lock = threading.Lock()
    if server._forkserver_pid is not None:
        _close_quietly(server._forkserver_alive_fd)
        server._forkserver_pid = server._forkserver_alive_fd = None
        server._forkserver_address = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
