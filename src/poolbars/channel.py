"""The channel: a `multiprocess` manager queue that any process can reach by address.

Shared objects and who touches them:
- `Channel.queue` -- a `queue.Queue` living in the parent. The collector thread reads it
  directly (no round-trip); the parent puts its own lifecycle batches on it directly.
- the manager server -- threads in the parent that accept connections on
  `Channel.address` (127.0.0.1 and a free port unless told otherwise), check the random
  `authkey`, and run remote `put(batch)` calls against `Channel.queue`.
- `connect(address, authkey)` -- in a worker or any other process: a proxy whose
  `put(bytes)` lands in `Channel.queue`.

The server runs in threads of the parent rather than in a manager process: no process to
start (fast pool start-up), and the collector reads the queue without IPC.
"""

from __future__ import annotations

import os
import queue
import socket
import threading

from multiprocess import connection
from multiprocess.managers import BaseManager, Server, listener_client

SERIALIZER = "poolbars"  # the manager's pickle transport, with Nagle's algorithm off


def _no_delay(sock: socket.socket) -> None:
    # small request/answer messages: without this, each auth round waits ~40 ms for an ACK
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _client(address, family=None, authkey=None):
    """`multiprocess.connection.Client` for TCP addresses, with TCP_NODELAY."""
    if connection.address_type(address) != "AF_INET":
        return connection.Client(address, family, authkey)
    sock = socket.create_connection(tuple(address))
    _no_delay(sock)
    conn = connection.Connection(sock.detach())
    if authkey is not None:
        connection.answer_challenge(conn, authkey)
        connection.deliver_challenge(conn, authkey)
    return conn


listener_client[SERIALIZER] = (connection.Listener, _client)


class _QueueClient(BaseManager):
    """The client side of the channel (the server side is built in `Channel`)."""


_QueueClient.register("get_queue")


class Channel:
    """The parent's end: a queue, and a manager server that serves it by address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, authkey: bytes | None = None):
        self.queue: queue.Queue = queue.Queue()
        self.authkey = authkey if authkey is not None else os.urandom(32)
        registry = {"get_queue": (lambda: self.queue, None, None, None)}
        self._server = Server(registry, (host, port), self.authkey, SERIALIZER)
        # serve_client() polls it; serve_forever() would normally set it
        self._server.stop_event = threading.Event()
        self.address = self._server.address
        self._stopping = threading.Event()
        self._accepter = threading.Thread(target=self._accept, name="poolbars-channel",
                                          daemon=True)
        self._accepter.start()

    def _accept(self):
        listener = self._server.listener
        while not self._stopping.is_set():
            try:
                conn = listener.accept()
            except OSError:
                continue
            if self._stopping.is_set():
                conn.close()
                break
            with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                _no_delay(sock)
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


def connect(address, authkey: bytes):
    """A proxy for the channel's queue at `address`, from any process."""
    client = _QueueClient(address=tuple(address), authkey=authkey, serializer=SERIALIZER)
    client.connect()
    return client.get_queue()
