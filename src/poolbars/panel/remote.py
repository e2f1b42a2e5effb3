"""Panels that other processes report to by address: `Panel` listens, `connect()` reports.

`panel = Panel(title=...)` shows an empty panel and serves its channel (127.0.0.1 and a
free port unless `host=`/`port=` say otherwise; a random authkey). `connect_info()` is
what another process needs: `pb.connect(address, authkey)` there returns a `Remote`
whose `bar()`, `track()` and `message()` show in the panel, one lane per bar, until
`Remote.close()` (or the process's exit) ends its connection and thread. A `Pool` given
`panel=` reports to it too. An authkey is bytes, or a str of their hex.

A long-lived panel sheds finished work: `clear(status)` removes the lanes of finished bars
("done"), of pool workers that are gone ("exited") or both ("all"), and
`Panel(keep_finished=N)` keeps only the N bars that finished last. Both go through the
collector's fold, as a CLEAR event / as part of folding a bar's close: one writer.

A wrong authkey is refused at `connect()` with a clear error (the panel never sees the
process). A panel that cannot be reached, or accepts and never answers, never breaks the
job: `connect()` warns once (within the channel's HANDSHAKE_TIMEOUT) and the work goes on.
"""

from __future__ import annotations

import atexit
import os
import pickle
import socket
import threading
import warnings
from typing import Iterable

from multiprocess import AuthenticationError

from ..options import bad, check_seconds, check_whole_or_none
from ..progress.reporting import Bar, Reporter, Tracked
from ..protocol import events as ev
from ..protocol.channel import authkey_bytes, connect as connect_queue
from .lanes import CLEARABLE
from .session import Session
from .snapshot import PanelStatus, Snapshot


class Panel:
    """An open panel that any process can report to (see `connect_info`)."""

    def __init__(self, title: str | None = None, *, display="auto", host: str = "127.0.0.1",
                 port: int = 0, authkey: bytes | str | None = None,
                 stale_after: float | None = None, keep_finished: int | None = None):
        check_seconds("stale_after", stale_after)
        check_whole_or_none("keep_finished", keep_finished, 0)
        if authkey is not None:  # checked before a view opens: bytes, or their hex
            authkey = authkey_bytes(authkey)
        self._session = Session(title=title or "", display=display, serve=True,
                                stale_after=stale_after, host=host, port=port, authkey=authkey,
                                keep_finished=keep_finished)

    @property
    def session(self) -> Session:
        """The panel's open session: a `Pool` given `panel=` reports through it."""
        return self._session

    def connect_info(self) -> dict:
        """{"address": (host, port), "authkey": bytes}: pass both to `pb.connect()`."""
        channel = self._session.channel
        # serve=True: the session always has a channel
        return {"address": tuple(channel.address),  # type: ignore[union-attr]
                "authkey": bytes(channel.authkey)}  # type: ignore[union-attr]

    @property
    def state(self):
        return self._session.state

    def snapshot(self) -> Snapshot:
        state = self._session.state
        with state.lock:
            return state.snapshot()

    def clear(self, status: str = "done", timeout: float = 5.0) -> None:
        """Remove finished lanes: `status` "done" (bars that finished), "exited" (pool
        workers that are gone) or "all". Returns once the collector has removed them
        (or after `timeout` seconds, if it is busy); running bars and workers stay."""
        if status not in CLEARABLE:
            raise ValueError(bad("status", status, "give 'done', 'exited' or 'all'"))
        if self._session.closed:  # no collector any more: this thread is the one writer
            with self.state.lock:
                self.state.fold(ev.Clear(status))
            return
        folded = threading.Event()
        self._session.post([ev.Clear(status, folded)])
        folded.wait(timeout)

    def close(self, status: PanelStatus = "done") -> None:
        """Stop listening and leave the panel in its final state."""
        self._session.close(status)

    def __enter__(self) -> "Panel":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("failed" if exc_type is not None else "done")


class Remote:
    """What `connect()` returns: bars and messages that show in a distant panel."""

    def __init__(self, reporter: Reporter, outbox=None):
        self.reporter = reporter
        self._outbox = outbox  # None when there is no panel to report to

    def bar(self, total: float | None = None, desc: str | None = None, unit: str = "it",
            meta: dict | None = None) -> Bar:
        return Bar(total, desc, unit, reporter=self.reporter, meta=meta)

    def track(self, iterable: Iterable, total=None, desc=None, unit="it",
              meta: dict | None = None) -> Tracked:
        return Tracked(iterable, total=total, desc=desc, unit=unit, reporter=self.reporter,
                       meta=meta)

    def message(self, text: str) -> None:
        self.reporter.message(text)
        self.reporter.flush()

    def close(self) -> None:
        """Send what is pending, then end the connection and the reporter's thread."""
        atexit.unregister(self.close)
        self.reporter.stop_timer()
        self.reporter.flush()
        if self._outbox is not None:
            self._outbox.close()


def connect(address, authkey: bytes | str, name: str | None = None) -> Remote:
    """Report to the panel at `address` from this process (any process, any host that can
    reach it). `authkey` is the panel's `connect_info()["authkey"]` (bytes, or their hex).
    A wrong authkey raises PermissionError; a panel that cannot be reached, or does not
    answer within HANDSHAKE_TIMEOUT, warns once and gives a reporter that does nothing,
    so the job goes on."""
    authkey = authkey_bytes(authkey)
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    try:
        outbox = connect_queue(address, authkey)
    except AuthenticationError:
        raise PermissionError(f"the panel at {address[0]}:{address[1]} refused this authkey: "
                              "use the authkey from that panel's connect_info()") from None
    except (OSError, EOFError) as exc:  # EOFError: the peer hung up during the handshake
        reason = str(exc) or "it hung up during the handshake"
        warnings.warn(f"poolbars: no panel at {address[0]}:{address[1]} ({reason}); the job "
                      "goes on without progress reports.", RuntimeWarning, stacklevel=2)
        return Remote(Reporter(lambda batch: None, source=name))

    def send(batch: list) -> None:
        outbox.put(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    reporter = Reporter(send, source=name, flush_on_close=True)
    reporter.start_timer()
    remote = Remote(reporter, outbox)
    atexit.register(remote.close)
    return remote
