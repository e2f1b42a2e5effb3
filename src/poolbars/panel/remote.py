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
from typing import TYPE_CHECKING, Iterable

from multiprocess import AuthenticationError

from ..options import bad, check_seconds, check_whole_or_none
from ..progress.reporting import Bar, Reporter, Tracked
from ..protocol import events as ev
from ..protocol.channel import Outbox, authkey_bytes, connect as connect_queue
from .lanes import CLEARABLE
from .session import Session
from .snapshot import PanelStatus, Snapshot

if TYPE_CHECKING:
    from .state import PanelState


class Panel:
    """An open panel that any process can report to by address.

    Making one shows an empty panel (in the view `display` picks) and listens on
    `host`:`port` with an authkey. Give `connect_info()` to other processes — a script,
    a job on another machine that can reach the address — and there
    [`pb.connect`][poolbars.connect] returns a `Remote` whose bars and messages show
    here, one lane per bar. A `Pool(panel=panel)` reports its workers here too. Close
    it (or leave its `with` block) to stop listening; the panel keeps its final state.
    A panel that stays open for days sheds finished work with `clear()` or
    `keep_finished`.

    Args:
        title: The panel's title. Default None: no title.
        display: Where the panel shows: `"auto"` (default: the widget in a Jupyter
            kernel, a live rich panel when stderr is a terminal, plain log lines
            otherwise), `"widget"`, `"terminal"`, `"log"`, or None (show nothing).
        host: The address to listen on. Default `"127.0.0.1"`: this machine only; give
            an address other machines reach (e.g. `"0.0.0.0"`) to accept them.
        port: The port to listen on. Default 0: a free one (see `connect_info()`).
        authkey: The key a process must present, bytes or their hex (a str). Default
            None: a random one.
        stale_after: Seconds (a number > 0) after which a bar with no news is marked
            stalled. Default None: never.
        keep_finished: Keep only this many bars that finished last (a whole number
            ≥ 0), removing older ones as bars finish. Default None: keep them all.

    Raises:
        ValueError: `stale_after` ≤ 0; `keep_finished` < 0 or not whole; `display` not
            one of its values; an `authkey` str that is not hex, or an empty one.
        TypeError: An `authkey` that is neither bytes nor str.
        OSError: `host`:`port` cannot be listened on (in use, or not this machine's).

    Example:
        ```python
        import poolbars as pb

        with pb.Panel(title="Nightly jobs") as panel:
            info = panel.connect_info()  # give these to the other process
            remote = pb.connect(info["address"], info["authkey"], name="etl")
            for row in remote.track(range(3), desc="load"):
                pass
            remote.close()
            with pb.Pool(2, panel=panel) as pool:  # a pool's lanes show here too
                pool.map(abs, [-1, -2])
        ```
    """

    def __init__(self, title: str | None = None, *, display: str | None = "auto",
                 host: str = "127.0.0.1",
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
        """The panel's open session: a `Pool(panel=...)` reports through it."""
        return self._session

    def connect_info(self) -> dict:
        """What another process needs to report here: pass both to `pb.connect()`.

        Returns:
            `{"address": (host, port), "authkey": bytes}`. For `python -m poolbars run
                --connect` or `pb.install()`, give the address as `host:port` and the
                authkey as `.hex()` (POOLBARS_AUTHKEY).
        """
        channel = self._session.channel
        # serve=True: the session always has a channel
        return {"address": tuple(channel.address),  # type: ignore[union-attr]
                "authkey": bytes(channel.authkey)}  # type: ignore[union-attr]

    @property
    def state(self) -> PanelState:
        """The panel's state object (written by its own thread: read it under its lock)."""
        return self._session.state

    def snapshot(self) -> Snapshot:
        """The panel's current state as a plain dict, as the views see it.

        Returns:
            A dict: title, status, overall counts, lanes, failures, timeline (the keys
                of [`ProgressPanel`][poolbars.ProgressPanel]'s traits).
        """
        state = self._session.state
        with state.lock:
            return state.snapshot()

    def clear(self, status: str = "done", timeout: float = 5.0) -> None:
        """Remove the lanes of finished work; running bars and workers stay.

        Args:
            status: Which lanes: `"done"` (default: bars that finished), `"exited"`
                (pool workers that are gone) or `"all"` (both).
            timeout: Seconds to wait for the panel's thread to remove them. Default 5.0;
                past it, they are removed as soon as it can.

        Raises:
            ValueError: `status` is not `"done"`, `"exited"` or `"all"`.
        """
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
        """Stop listening and leave the panel in its final state (once; again does nothing).

        Args:
            status: The panel's final status: `"done"` (default), `"failed"` or
                `"cancelled"`. Leaving a `with` block picks `"failed"` on an exception.
        """
        self._session.close(status)

    def __enter__(self) -> "Panel":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("failed" if exc_type is not None else "done")


class Remote:
    """What [`pb.connect`][poolbars.connect] returns: bars and messages for a distant panel.

    Its `bar()`, `track()` and `message()` work as `pb.bar`, `pb.track` and
    `pb.message`, but report to the panel it is connected to, from any thread of this
    process. Call `close()` when done (it is also called at exit). Made by `connect()`,
    not directly.

    Args:
        reporter: Where its bars report (the connection's coalescing reporter).
        outbox: The connection to close with it; None when there is no panel to report
            to (an unreachable one: its bars then do nothing).

    Example:
        ```python
        import poolbars as pb

        panel = pb.Panel(title="Jobs")
        info = panel.connect_info()
        remote = pb.connect(info["address"], info["authkey"], name="loader")
        with remote.bar(total=2, desc="files") as bar:
            bar.update(2)
        remote.message("all loaded")
        remote.close()
        panel.close()
        ```
    """

    def __init__(self, reporter: Reporter, outbox: Outbox | None = None):
        self.reporter = reporter
        self._outbox = outbox  # None when there is no panel to report to

    def bar(self, total: float | None = None, desc: str | None = None, unit: str = "it",
            meta: dict | None = None) -> Bar:
        """A bar to drive by hand, shown in the distant panel (see `pb.bar`).

        Args:
            total: The number of steps, an int or float; None (default) for an
                open-ended bar.
            desc: The bar's label. Default None.
            unit: The unit shown with its rate. Default `"it"`.
            meta: A dict of at most 20 str keys with JSON-able values, shown on hover.
                Default None.

        Returns:
            A [`Bar`][poolbars.Bar].

        Raises:
            TypeError: `meta` is not a dict, has a key that is not a str, or a value
                JSON cannot write (and, for `bar`, `total` is not a number or None).
            ValueError: `meta` has more than 20 keys.
        """
        return Bar(total, desc, unit, reporter=self.reporter, meta=meta)

    def track(self, iterable: Iterable, total: float | None = None, desc: str | None = None,
              unit: str = "it", meta: dict | None = None) -> Tracked:
        """Iterate `iterable` with a bar in the distant panel (see `pb.track`).

        Args:
            iterable: What to iterate.
            total: The number of items. Default None: `len(iterable)` when it has one.
            desc: The bar's label. Default None.
            unit: The unit shown with its rate. Default `"it"`.
            meta: A dict of at most 20 str keys with JSON-able values, shown on hover.
                Default None.

        Returns:
            An iterable of the same items.

        Raises:
            TypeError: `meta` is not a dict, has a key that is not a str, or a value
                JSON cannot write (and, for `bar`, `total` is not a number or None).
            ValueError: `meta` has more than 20 keys.
        """
        return Tracked(iterable, total=total, desc=desc, unit=unit, reporter=self.reporter,
                       meta=meta)

    def message(self, text: str) -> None:
        """Show `text` in the distant panel as this process's message, sent at once.

        Args:
            text: The message (shown as its `str()`).
        """
        self.reporter.message(text)
        self.reporter.flush()

    def close(self) -> None:
        """Send what is pending, then end the connection and the reporter's thread."""
        atexit.unregister(self.close)
        self.reporter.stop_timer()
        self.reporter.flush()
        if self._outbox is not None:
            self._outbox.close()


def connect(address: tuple[str, int], authkey: bytes | str,
            name: str | None = None) -> Remote:
    """Report to the panel at `address` from this process: bars and messages by address.

    Use it in any process — a script, a job on another machine that can reach the
    address — with what the panel's `connect_info()` gave. A panel that cannot be
    reached, or does not answer within 5 seconds, never breaks the job: `connect()`
    warns once (`RuntimeWarning`) and returns a `Remote` whose bars do nothing.

    Args:
        address: The panel's `(host, port)`, as `connect_info()["address"]`.
        authkey: The panel's `connect_info()["authkey"]`: bytes, or their hex.
        name: The lane name of this process's bars and messages. Default None:
            `"hostname:pid"`.

    Returns:
        A [`Remote`][poolbars.Remote], connected; `close()` it when done (also done at
            exit).

    Raises:
        PermissionError: The panel refused the authkey (it is not that panel's).
        ValueError: An authkey str that is not hex, or an empty authkey.
        TypeError: An authkey that is neither bytes nor str.

    Example:
        ```python
        import poolbars as pb

        panel = pb.Panel(title="Remote work")  # usually in another process
        info = panel.connect_info()

        remote = pb.connect(info["address"], info["authkey"], name="etl")
        for row in remote.track(["a", "b", "c"], desc="rows"):
            pass
        remote.close()
        panel.close()
        ```
    """
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
