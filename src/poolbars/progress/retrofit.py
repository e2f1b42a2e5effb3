"""`pb.install()`: this interpreter's tqdm bars (and `pb.track`/`pb.bar`) reported to a
panel by address — what `python -m poolbars run` puts in every interpreter it starts,
through a generated `sitecustomize.py`, and what a `sitecustomize.py` of your own can do.

Per process, one `ProcessReporter` is installed (`reporting.install`) and the tqdm import
hook (`tqdm_compat.install_capture`). Nothing connects and no thread starts until the
process makes its first bar: a program's helper interpreters (the fork server, the
resource tracker, a `pip` it runs) cost no connection. A forked child never writes on
its parent's socket: `os.register_at_fork` gives it a reporter of its own, and the
connection (`LazyOutbox`) notices a new pid and opens one of its own.
"""

from __future__ import annotations

import atexit
import os
import pickle
import sys
import threading
from typing import Any, Callable

from ..protocol.channel import Outbox, authkey_bytes, connect
from . import reporting, tqdm_compat
from .reporting import Bar, Reporter

PANEL_ENV = "POOLBARS_PANEL"  # "host:port" of the panel to report to
AUTHKEY_ENV = "POOLBARS_AUTHKEY"  # the panel's authkey, as hex

_target: tuple[tuple[str, int], bytes] | None = None  # (address, authkey) once installed


def parse_address(text: str) -> tuple[str, int]:
    """("host", port) from "host:port" (IPv6 hosts in brackets), or a ValueError that
    says the expected form."""
    host, _, port = str(text).strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"panel address {text!r} is not HOST:PORT: pass the panel's "
                         "connect_info()['address'] as host:port, e.g. 127.0.0.1:50123")
    return host, int(port)


def process_name() -> str:
    """The lane name of this process's bars: `main [pid]`, or the multiprocessing name
    of a child (`ForkPoolWorker-2 [pid]`, `SpawnProcess-1 [pid]`)."""
    name = "main"
    for module in ("multiprocessing", "multiprocess"):
        mp = sys.modules.get(module)
        if mp is not None and mp.parent_process() is not None:
            name = mp.current_process().name
            break
    return f"{name} [{os.getpid()}]"


class LazyOutbox:
    """A channel connection opened at the first batch, by the process that sends it
    (a forked child opens its own rather than writing on its parent's)."""

    def __init__(self, address: tuple[str, int], authkey: bytes):
        self.address, self.authkey = address, authkey
        self._outbox: Outbox | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def send(self, batch: list[Any]) -> None:
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if self._outbox is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._outbox = connect(self.address, self.authkey)
            try:
                self._outbox.put(data)
            except BaseException:  # cut off mid-message (a Ctrl-C): the stream is unusable
                self._outbox.close()
                self._outbox = None
                raise

    def close(self) -> None:
        with self._lock:
            if self._outbox is not None and self._pid == os.getpid():
                self._outbox.close()
            self._outbox = None


class ProcessReporter(Reporter):
    """This process's reporter to a panel by address: named, and its timer started, at
    its first bar or message; flushed at exit (also a multiprocessing child's, which
    skips atexit)."""

    def __init__(self, address: tuple[str, int], authkey: bytes):
        self.outbox = LazyOutbox(address, authkey)
        super().__init__(self.outbox.send, source="", flush_on_close=True)
        self._started = False
        self._start_lock = threading.Lock()

    def post(self, bar: Bar) -> None:
        self._start()
        super().post(bar)

    def message(self, text: str) -> None:
        self._start()
        super().message(text)

    def _start(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self.source = process_name()
            self.start_timer()
            atexit.register(self.close)
            _at_multiprocessing_exit(self.close)

    def close(self) -> None:
        """Send what is pending, then end the timer and the connection."""
        self.stop_timer()
        self.flush()
        self.outbox.close()


def _at_multiprocessing_exit(callback: Callable[[], None]) -> None:
    """Run `callback` when a multiprocessing (or multiprocess) child ends: such a child
    leaves by os._exit, after its finalizers but without atexit."""
    for module in ("multiprocessing", "multiprocess"):
        mp = sys.modules.get(module)
        if mp is not None and mp.parent_process() is not None:
            util = sys.modules.get(f"{module}.util")
            if util is not None:
                util.Finalize(None, callback, exitpriority=100)


def _after_fork_in_child() -> None:
    # the parent's reporter (its locks, its timer, its socket) is not this process's
    if _target is not None and isinstance(reporting.current(), ProcessReporter):
        reporting.install(ProcessReporter(*_target))


def install(address: str | tuple[str, int] | None = None,
            authkey: bytes | str | None = None) -> None:
    """Show this interpreter's tqdm bars, and `pb.track()`/`pb.bar()` bars, in a panel.

    For programs you do not change: put it in a `sitecustomize.py` on their
    `PYTHONPATH`, and every interpreter they start reports to the panel at `address`,
    one lane per bar, named by process (`main [pid]`, `ForkPoolWorker-1 [pid]`).
    `python -m poolbars run` does exactly that for the program it runs. Nothing
    connects until the process makes its first bar; a forked child opens a connection
    of its own. tqdm bars print nothing once captured. A panel that cannot be reached
    or refuses the authkey never breaks the program: its first bar warns once
    (`RuntimeWarning`) and the program goes on.

    Args:
        address: The panel's `"host:port"` (IPv6 hosts in brackets), or a
            `(host, port)` tuple, as `pb.Panel().connect_info()["address"]`. Default
            None: the environment variable `POOLBARS_PANEL`.
        authkey: The panel's authkey, bytes or their hex (a str). Default None: the
            environment variable `POOLBARS_AUTHKEY`.

    Raises:
        ValueError: No address or authkey, given or in the environment, or one that is
            malformed (the message says which, and the form expected).
        TypeError: An authkey that is neither bytes nor str.

    Example:
        ```python
        import poolbars as pb

        panel = pb.Panel(title="A retrofitted program")  # e.g. in a notebook
        host, port = panel.connect_info()["address"]
        key = panel.connect_info()["authkey"].hex()

        # in the program (its sitecustomize.py), usually with pb.install() and the
        # address and key in POOLBARS_PANEL and POOLBARS_AUTHKEY:
        pb.install(f"{host}:{port}", key)
        for step in pb.track(range(3), desc="now in the panel"):
            pass
        panel.close()
        ```
    """
    global _target
    address = address if address is not None else os.environ.get(PANEL_ENV)
    authkey = authkey if authkey is not None else os.environ.get(AUTHKEY_ENV)
    if not address:
        raise ValueError(f"no panel address: pass address='host:port' or set {PANEL_ENV} "
                         "to the panel's connect_info()['address'] as host:port")
    if not authkey:
        raise ValueError(f"no authkey: pass authkey= or set {AUTHKEY_ENV} to the panel's "
                         "connect_info()['authkey'].hex()")
    where = parse_address(address) if isinstance(address, str) else (str(address[0]),
                                                                      int(address[1]))
    key = authkey_bytes(authkey)
    if _target is None:
        os.register_at_fork(after_in_child=_after_fork_in_child)
    _target = (where, key)
    reporting.install(ProcessReporter(where, key))
    tqdm_compat.install_capture()
