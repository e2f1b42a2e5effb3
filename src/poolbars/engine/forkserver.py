"""The fork server's lifetime in this process: started by the first pool that uses it,
preloaded with `poolbars.engine.worker` and the script's main module, and kept warm
between pools, so the second and later pools start in a few milliseconds. It is stopped
by `shutdown()` (`pb.shutdown()`), and by an atexit hook; neither ever blocks: a server
that does not exit within STOP_WAIT is killed, and one that still serves an open pool's
workers is only told to stop (it exits with the last of them). A child made by
`os.fork()` forgets its parent's server (and closes its copy of the server's pipe), so it
neither uses nor holds it.

The main module: a worker of a forkserver pool loads the parent's main module (a script's
file as `__mp_main__`, a `python -m` module by name; a notebook has none) before its task.
multiprocess 0.70, like CPython before 3.13.8, means to load it once in the server (its
preload list starts with `__main__`) but never does: it looks for the key `main_path`
where `spawn.get_preparation_data()` says `init_main_from_path` (CPython gh-126631). So
we start the server ourselves (`_start_server`, multiprocess's own start with that fixed)
and it runs `preload_main`: the main module is loaded there once, as a worker would load
it (same sys.path, sys.argv and directory, stdin empty), and each worker forked from it
finds it loaded. If loading it fails there (a script that starts a pool outside the
`if __name__ == "__main__":` guard), the server goes on without it and each worker loads
it, and fails, as before. Like any preload (and CPython's own since 3.13.8), what the
main module's top level starts (threads, open files) lives in the server and is forked
into every worker.

The count of open pools is written under a lock, here only. multiprocess's own record of
its server (`forkserver._forkserver`) is read, set and reset here, under its lock."""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

STOP_WAIT = 1.0  # seconds a server told to stop (no pool open) has to exit before SIGKILL
PRELOAD = ["poolbars.engine.worker"]
# what a worker's spawn.prepare() reads to load the main module (never the authkey)
MAIN_KEYS = ("sys_path", "sys_argv", "dir", "orig_dir", "init_main_from_path",
             "init_main_from_name")
# the server's program: ours first (the main module, its data read from a pipe: a long
# sys.argv would not fit in one argument), then multiprocess's own loop
SERVER = ("from poolbars.engine.forkserver import preload_main; preload_main(%d); "
          "from multiprocess.forkserver import main; main(%d, %d, %r)")

_open_pools = 0  # pools of this process between start() and close()
_lock = threading.Lock()
_owner: int | None = None  # the pid whose atexit hook is registered (not a forked child's)
_stopping: list[int] = []  # servers told to stop while a pool was open: reaped later


def pool_opened(ctx: Any, uses_forkserver: bool) -> None:
    """A pool starts (with `ctx`, a multiprocess context)."""
    global _open_pools, _owner
    if uses_forkserver:
        ctx.set_forkserver_preload(PRELOAD)  # if multiprocess restarts it its own way
        _ensure_server()
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


def preload_main(fd: int) -> None:
    """In the fork server, before it serves: load the parent's main module as a worker
    would (from pipe `fd`: the MAIN_KEYS of the parent's preparation data, as JSON), so
    the workers forked from it find it loaded; on any error, go on without it (see the
    module doc)."""
    try:  # a line, not to EOF: a fork of the parent may still hold the pipe's other end
        with open(fd, encoding="utf-8") as pipe:
            main = json.loads(pipe.readline())
    except (OSError, ValueError):
        return  # the parent has gone: the server finds its "alive" pipe closed and exits
    devnull = os.open(os.devnull, os.O_RDONLY)  # as a worker's: its top level must not
    if devnull != 0:  # read (or wait on) the parent's stdin
        os.dup2(devnull, 0)
        os.close(devnull)
    _load_main(main)


def _load_main(main: dict[str, Any]) -> None:
    from multiprocess import process, spawn
    original = sys.modules["__main__"]
    process.current_process()._inheriting = True  # a pool started by it fails, as in a worker
    try:
        spawn.prepare(main)
    except BaseException:  # SystemExit too: the workers load it themselves, and say why
        sys.modules["__main__"] = original
        sys.modules.pop("__mp_main__", None)
    finally:
        del process.current_process()._inheriting
        for stream in (sys.stdout, sys.stderr):  # else a forked child may print it again
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass


def _ensure_server() -> None:
    """Start the fork server unless one of ours runs (multiprocess's ensure_running()
    then finds it and does nothing)."""
    server = _server()
    with server._lock:
        pid = server._forkserver_pid
        if pid is not None:
            if not os.waitpid(pid, os.WNOHANG)[0]:
                return
            _close_quietly(server._forkserver_alive_fd)  # it died: start another
        _start_server(server)


def _start_server(server: Any) -> None:
    """multiprocess's ForkServer.ensure_running() once the server is found missing, but
    the server runs SERVER, and is sent the main module's preparation data."""
    from multiprocess import connection, resource_tracker, spawn, util
    resource_tracker.ensure_running()
    data = spawn.get_preparation_data("ignore")  # raises in a worker loading its main
    main = {key: data[key] for key in MAIN_KEYS if key in data}
    with socket.socket(socket.AF_UNIX) as listener:
        address = connection.arbitrary_address("AF_UNIX")
        listener.bind(address)
        if not util.is_abstract_socket_namespace(address):
            os.chmod(address, 0o600)
        listener.listen()
        alive_r, alive_w = os.pipe()  # every client holds the write end; EOF: all gone
        main_r, main_w = os.pipe()
        try:
            command = SERVER % (main_r, listener.fileno(), alive_r, PRELOAD)
            args = [spawn.get_executable(), *util._args_from_interpreter_flags(), "-c", command]
            pid = util.spawnv_passfds(args[0], args, [listener.fileno(), alive_r, main_r])
        except BaseException:
            os.close(alive_w)
            os.close(main_w)
            raise
        finally:
            os.close(alive_r)
            os.close(main_r)
    server._forkserver_address, server._forkserver_alive_fd = address, alive_w
    server._forkserver_pid = pid
    _send(main_w, main)


def _send(fd: int, main: dict[str, Any]) -> None:
    """Write `main` to the server's pipe (it reads it first thing) and close it."""
    try:
        with open(fd, "w", encoding="utf-8") as pipe:
            pipe.write(json.dumps(main) + "\n")  # one line: JSON escapes newlines
    except OSError:
        pass  # the server died at start: multiprocess starts another when it connects


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
