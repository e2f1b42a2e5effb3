"""A started pool's parts — its journal, the fork server's share, the panel's session,
the engine and the job runner, with the start and close times — opened in order and
closed in reverse, once, with a Ctrl-C held back meanwhile; and the map calls that run
to their end through them (`collect`). `Pool.start()` makes one and the pool holds it
from then on (also after close, for what the pool reports); it holds no `Pool`, so an
unclosed pool can still be collected (`close_dropped`).

Shared objects and who writes them (any thread reads them): `closing`, `closed_at` and
the map count are written under `Running.lock` by `close()` and `collect()`, from any
thread; `results` by each `collect()` call (the latest call's); the rest by the
constructor only."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterable

import multiprocess

from .engine import forkserver
from .engine.backend import EngineOptions
from .engine.book import Stats
from .engine.loop import Engine
from .handle import MapHandle
from .interrupts import HeldInterrupt
from .panel.session import Session
from .protocol import wire
from .results import Results
from .runner import JobRunner

if TYPE_CHECKING:
    from .options import PoolOptions
    from .panel.snapshot import PanelStatus, Snapshot
    from .record.journal import Journal
    from .record.report import RunReport
    from .runner import JobSettings


class Running:
    """The parts of one started pool (see the module doc). The constructor opens them in
    order; if one fails, those already open are closed again and the error is raised."""

    def __init__(self, options: PoolOptions, title: str, display: Any,
                 stale_after: float | None, panel: Any, journal: Any,
                 resume: bool | str) -> None:
        """`options` for the engine; the rest as the pool's attributes are at its start
        (`journal`: its path, or None)."""
        self.uses_forkserver = options.start_method == "forkserver" and options.cluster is None
        self.own_session = panel is None  # a Panel's session outlives the pool
        self.closed_at: float | None = None
        self.closing = False  # set once, by the first close()
        self.results = Results(options.on_error)  # the latest map/starmap's
        self.maps_run = 0
        self.lock = threading.Lock()
        with contextlib.ExitStack() as undo:  # a part that fails closes the ones before it
            self.journal = _open_journal(journal, resume)  # first: a damaged one opens nothing
            if self.journal is not None:
                undo.callback(self.journal.close)
            self.started_at = time.time()
            forkserver.pool_opened(multiprocess.get_context(options.start_method),
                                   self.uses_forkserver)
            undo.callback(forkserver.pool_closed, self.uses_forkserver)
            self.session: Session = (panel.session if panel is not None else
                                     _own_session(options, title, display, stale_after))
            if self.own_session:
                undo.callback(self.session.close, "failed")
            self.engine = _started_engine(options, self.session)
            self.runner = JobRunner(self.engine)
            undo.pop_all()  # all open: they close in `close()`

    # -- what the pool reads ---------------------------------------------------------------

    def stats(self) -> Stats:
        """The engine's counts, with the seconds from start to close (or to now)."""
        stats = Stats(**vars(self.engine.stats))
        stats.elapsed = (self.closed_at or time.time()) - self.started_at
        return stats

    def snapshot(self) -> Snapshot:
        """The panel's current state as the views see it."""
        state = self.session.state
        with state.lock:
            return state.snapshot()

    def report(self, title: str) -> RunReport:
        """The run record (see `Pool.report`)."""
        from .record.report import build

        engine, state = self.engine, self.session.state
        with state.lock:
            inner, status = dict(state.inner), state.status
        return build(title, status, self.started_at, self.closed_at, vars(self.stats()),
                     list(engine.runs), inner, engine.runs_dropped, engine.positions,
                     list(engine.worker_failures))

    # -- running map calls -------------------------------------------------------------

    def collect(self, fn: Callable[..., Any], iterable: Iterable[Any], call: int,
                policy: str, settings: JobSettings) -> list[Any]:
        """Run a map call to its end (through the journal, if there is one): its results
        in input order, under `policy`; `results` holds them as they come."""
        with self.lock:
            self.maps_run += 1
            number = self.maps_run
        if self.journal is None or call == wire.CALL_ARGS:
            self.results = Results(policy)
            return self.runner.collect(fn, iterable, call, self.results, settings)
        from .record.journaled import journaled_map
        # under "raise" the failing run comes back whole, so its good items are written too
        self.results = Results("return" if policy == "raise" else policy)
        return journaled_map(self.runner, self.journal, number, fn, iterable, call,
                             self.results, policy, settings)

    def map_async(self, fn: Callable[..., Any], iterable: Iterable[Any], on_error: str,
                  settings: JobSettings, pool: object) -> MapHandle:
        """A map call run in the background (see `Pool.map_async`); the handle holds
        `pool`, so an unclosed pool stays open while its handle lives."""
        job = self.runner.job(fn, iterable, wire.CALL_ITEM, settings)
        return MapHandle(self.runner, job, settings, self.session, on_error, pool=pool)

    # -- closing ---------------------------------------------------------------------------

    def close(self, status: PanelStatus | None, on_exit: Callable[[], Any] | None,
              replay: bool) -> None:
        """Close the parts, once, then call `on_exit` (see `Pool.close`). A Ctrl-C
        meanwhile waits until they are closed; `replay`: then raise it."""
        held = HeldInterrupt()
        with held:  # from here on a Ctrl-C waits: the cleanup must finish
            with self.lock:
                if self.closing:
                    return
                self.closing = True
                self.runner.closed = True  # a job cancelled from here on ended short
            self._close_parts(status or ("failed" if self.engine.failures else "done"))
        try:
            if on_exit is not None:
                on_exit()
        finally:
            if replay:
                held.replay()

    def _close_parts(self, status: PanelStatus) -> None:
        """Stop the engine (its workers and thread), then close the session (if the pool's
        own), the fork server's share and the journal, whatever fails first."""
        try:
            self.engine.stop(status)
        finally:
            self.closed_at = time.time()
            try:
                if self.own_session:
                    self.session.close(status)
            finally:
                forkserver.pool_closed(self.uses_forkserver)  # the last one leaves no process
                if self.journal is not None:
                    self.journal.close()


def close_dropped(pool: object, close: Callable[[], None], what: str) -> None:
    """`pool` is being collected unclosed (`what` names it): warn, like
    multiprocessing.Pool, and `close` it — from a thread of its own if this is one of the
    pool's threads, which closing joins."""
    if sys.is_finalizing():
        return  # the interpreter's exit ends the workers (daemonic) and threads
    try:
        warnings.warn(f"unclosed poolbars {what}: it is closed now; use `with Pool(...) as "
                      "pool:` or call pool.close()", ResourceWarning, source=pool)
    finally:
        if threading.current_thread().name.startswith("poolbars"):
            threading.Thread(target=close, name="poolbars-closer", daemon=True).start()
        else:
            close()


def _open_journal(path: Any, resume: bool | str) -> Journal | None:
    if path is None:
        return None
    from .record.journal import Journal
    return Journal(path, resume)


def _own_session(options: PoolOptions, title: str, display: Any,
                 stale_after: float | None) -> Session:
    """A panel of the pool's own, serving the channel its workers report through."""
    host = "127.0.0.1"
    if options.cluster is not None:
        from .engine.cluster import listen_host
        host = listen_host(options.cluster)  # where the cluster's workers can reach us
    return Session(title=title, display=display, serve=True, stale_after=stale_after,
                   host=host)


def _started_engine(options: PoolOptions, session: Session) -> Engine:
    channel = session.channel
    assert channel is not None, "a pool's session (its own or a Panel's) serves a channel"
    engine = Engine(EngineOptions.of(options), session.post, channel.address, channel.authkey)
    engine.start()
    return engine
