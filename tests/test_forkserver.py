"""The fork server's lifetime: it outlives a pool while another is open, and the last
pool to close stops it (a real fork server process, started through a real context)."""

import multiprocess
import pytest
from multiprocess import forkserver as mp_forkserver

from poolbars.engine import forkserver
from procs import alive

pytestmark = pytest.mark.timeout(60)


def _server_pid():
    return mp_forkserver._forkserver._forkserver_pid  # multiprocess's own record of it


def _start_server(ctx) -> int:
    process = ctx.Process(target=abs, args=(-1,))
    process.start()  # the first forkserver process starts the server
    process.join()
    return _server_pid()


def test_the_last_pool_to_close_stops_the_fork_server_and_not_before():
    ctx = multiprocess.get_context("forkserver")
    forkserver.pool_opened(ctx, True)
    forkserver.pool_opened(ctx, True)
    pid = _start_server(ctx)
    assert pid is not None and alive(pid)
    forkserver.pool_closed(True)
    assert alive(pid)  # another pool is still open
    forkserver.pool_closed(True)
    assert not alive(pid)
    assert _start_server(ctx) != pid  # the next pool starts it again
    forkserver.stop()


def test_a_pool_without_the_fork_server_leaves_it_running():
    ctx = multiprocess.get_context("forkserver")
    forkserver.pool_opened(ctx, False)
    pid = _start_server(ctx)
    forkserver.pool_closed(False)
    assert alive(pid)
    forkserver.stop()
    assert not alive(pid)
