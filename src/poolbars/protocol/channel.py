"""The channel: a `multiprocess` manager server that any process can reach by address.

Shared objects and who touches them:
- `Channel.queue` -- a `queue.Queue` living in the parent. The collector thread reads it
  directly (no round-trip); the parent puts its own lifecycle batches on it directly.
- the manager server -- threads in the parent that accept connections on
  `Channel.address` (127.0.0.1 and a free port unless told otherwise), check the random
  `authkey`, and run remote `put(batch)` calls against the channel's `Inbox`, which passes
  `bytes` on to `Channel.queue` (and a marker the collector counts as dropped for
  anything else).
- `connect(address, authkey)` -- in a worker or any other process: an `Outbox`, one
  connection of its own, whose `put(bytes)` lands in `Channel.queue` in the order sent.

The server runs in threads of the parent rather than in a manager process: no process to
start (fast pool start-up), and the collector reads the queue without IPC.

Trust: the authkey is the boundary. A peer that knows it is trusted (the manager protocol
and the batches are pickles, and loading a pickle can run code); the channel only makes
sure that such a peer's malformed data cannot stop the panel, and that a peer that does
not complete the handshake within HANDSHAKE_TIMEOUT holds no thread.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import struct
import sys
import threading
from typing import Any, Iterator

from multiprocess import connection
from multiprocess.managers import Server, dispatch, listener_client

SERIALIZER = "poolbars"  # the manager's pickle transport, with Nagle's algorithm off
HANDSHAKE_TIMEOUT = 5.0  # seconds a peer may take for each step of the authkey handshake


def authkey_bytes(authkey: object) -> bytes:
    """`authkey` as bytes: bytes as they are, a str as the hex of the bytes."""
    if isinstance(authkey, str):
        try:
            authkey = bytes.fromhex(authkey)
        except ValueError:  # the value is a secret: name its length, not its text
            raise ValueError(f"authkey: a str of {len(authkey)} characters that is not hex; "
                             "pass the bytes of the panel's connect_info()['authkey'], or "
                             "their .hex()") from None
    if not isinstance(authkey, (bytes, bytearray)):
        raise TypeError(f"authkey: {type(authkey).__name__} is not a key; pass the bytes of "
                        "the panel's connect_info()['authkey'], or their .hex()")
    if not authkey:
        raise ValueError("authkey is empty: pass the bytes of the panel's "
                         "connect_info()['authkey'], or their .hex()")
    return bytes(authkey)


@contextlib.contextmanager
def _socket_of(conn: connection.Connection) -> Iterator[socket.socket]:
    """The socket behind `conn`, to set options on (closing it leaves `conn` open)."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        yield sock


def _no_delay(sock: socket.socket) -> None:
    # small request/answer messages: without this, each auth round waits ~40 ms for an ACK
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _read_timeout(sock: socket.socket, seconds: float) -> None:
    """Make each blocking read of `sock` give up after `seconds` (0: wait for ever).

    `Connection` reads the raw descriptor, so `settimeout()` (which makes it non-blocking)
    does not apply; the kernel's receive timeout does."""
    if sys.platform == "win32":
        value = struct.pack("I", int(seconds * 1000))
    else:
        value = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)


def _client(address: Any, family: str | None = None,
            authkey: bytes | None = None) -> connection.Connection:  # untyped: Any to us
    """`multiprocess.connection.Client` for TCP addresses, with TCP_NODELAY, and a
    TimeoutError from a peer that does not answer the handshake in HANDSHAKE_TIMEOUT."""
    if connection.address_type(address) != "AF_INET":
        return connection.Client(address, family, authkey)
    sock = socket.create_connection(tuple(address), timeout=HANDSHAKE_TIMEOUT)
    sock.settimeout(None)  # blocking again: the timeout below bounds each read instead
    _no_delay(sock)
    _read_timeout(sock, HANDSHAKE_TIMEOUT)
    conn = connection.Connection(sock.detach())
    try:
        if authkey is not None:
            connection.answer_challenge(conn, authkey)
            connection.deliver_challenge(conn, authkey)
        with _socket_of(conn) as sock:
            _read_timeout(sock, 0)  # authenticated: answers to requests may take their time
    except (BlockingIOError, TimeoutError):  # what a read that timed out raises
        conn.close()
        raise TimeoutError(f"no answer to the handshake within {HANDSHAKE_TIMEOUT:g} s") from None
    except BaseException:
        conn.close()
        raise
    return conn


listener_client[SERIALIZER] = (connection.Listener, _client)


class _Server(Server):  # type: ignore[misc]  # multiprocess is untyped: its Server is Any
    """The manager server, with the handshake timeout lifted once a peer is in."""

    def accept_connection(self, c: connection.Connection, name: str) -> None:
        with _socket_of(c) as sock:  # an authenticated reporter may be quiet for hours
            _read_timeout(sock, 0)
        super().accept_connection(c, name)


class Inbox:
    """What the server exposes to peers: `put(batch)` and nothing else (no `get`)."""

    def __init__(self, target: queue.Queue[Any]) -> None:
        self._target = target

    def put(self, batch: object) -> None:
        # anything but bytes is queued as None: neither a local list nor STOP, so the
        # collector drops it and counts it
        self._target.put(bytes(batch) if isinstance(batch, (bytes, bytearray)) else None)


class Channel:
    """The parent's end: a queue, and a manager server that serves it by address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 authkey: bytes | None = None) -> None:
        # batches: bytes from peers, None for a peer's malformed one, lists and the stop
        # marker from this process (see panel/session.py)
        self.queue: queue.Queue[Any] = queue.Queue()
        self.authkey = authkey_bytes(authkey) if authkey is not None else os.urandom(32)
        inbox = Inbox(self.queue)
        registry = {"get_queue": (lambda: inbox, ("put",), None, None)}
        self._server = _Server(registry, (host, port), self.authkey, SERIALIZER)
        # serve_client() polls it; serve_forever() would normally set it
        self._server.stop_event = threading.Event()
        self.address = self._server.address
        self._stopping = threading.Event()
        self._accepter = threading.Thread(target=self._accept, name="poolbars-channel",
                                          daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        listener = self._server.listener
        while not self._stopping.is_set():
            try:
                conn = listener.accept()
            except OSError:
                continue
            if self._stopping.is_set():
                conn.close()
                break
            with _socket_of(conn) as sock:
                _no_delay(sock)
                _read_timeout(sock, HANDSHAKE_TIMEOUT)  # a peer that never speaks is let go
            threading.Thread(target=self._server.handle_request, args=(conn,),
                             name="poolbars-channel-client", daemon=True).start()

    def close(self) -> None:
        """Stop accepting connections and free the port."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        try:  # wake the blocked accept() so the thread sees the flag
            socket.create_connection(self.address, timeout=1).close()
        except OSError:
            pass
        self._accepter.join(timeout=2)
        self._server.listener.close()


class Outbox:
    """One process's end of a channel: `put(bytes)` over a connection of its own, one
    call at a time, so batches arrive in the order they were put; `close()` ends it
    (and the server thread that served it)."""

    def __init__(self, address: Any, authkey: bytes) -> None:
        address = tuple(address)
        setup = _client(address, authkey=authkey)
        try:
            self._ident, _ = dispatch(setup, None, "create", ("get_queue",))
        finally:
            setup.close()
        self._conn = _client(address, authkey=authkey)
        self._lock = threading.Lock()
        try:
            dispatch(self._conn, None, "accept_connection", (f"poolbars-{os.getpid()}",))
        except BaseException:
            self._conn.close()
            raise

    def put(self, batch: bytes) -> None:
        with self._lock:
            dispatch(self._conn, self._ident, "put", (batch,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def connect(address: Any, authkey: bytes) -> Outbox:
    """An `Outbox` to the channel at `address`, from any process."""
    return Outbox(address, authkey_bytes(authkey))
