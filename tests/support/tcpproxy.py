"""A small TCP proxy on 127.0.0.1 that a test can cut and restore, to take a shared server
(MariaDB) away from one application without stopping it for everyone else.

`cut()` closes the listening socket and every forwarded connection: new connections are
refused and open ones break, as when the server dies. `restore()` listens again on the same
port. `pause()` is a stalled server instead: connections are still accepted, but no byte moves
in either direction (the kernel buffers hold them) until `resume()`. One thread accepts, one
thread per connection forwards both directions (select); the number of connections is
bounded, and every thread ends when the proxy is cut or closed.
"""

from __future__ import annotations

import select
import socket
import threading
from types import TracebackType

BUFFER_BYTES = 65536
SELECT_SECONDS = 0.5


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` while not cut."""

    def __init__(self, target_host: str, target_port: int, max_connections: int = 128) -> None:
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.port = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self.accepted = 0

    # -- control ----------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        """Listen (on a free port the first time, on the same port afterwards)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        accepter = threading.Thread(target=self._accept, args=(listener,), name=f"tcpproxy-{self.port}", daemon=True)
        self._threads.append(accepter)
        accepter.start()
        return self

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets, self._connections = self._connections, set()
        if listener is not None:
            _close(listener)
        for sock in open_sockets:
            _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = [t for t in self._threads if t.is_alive()]

    def pause(self) -> None:
        """Keep accepting connections but forward nothing, as a server that never answers."""
        self._flowing.clear()

    def resume(self) -> None:
        """Forward again, the bytes held while paused first."""
        self._flowing.set()

    def restore(self) -> None:
        """Listen again on the same port."""
        self.start()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cut()

    # -- forwarding -------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:  # closed by cut()
                return
            with self._lock:
                if self._listener is not listener or len(self._connections) >= 2 * self.max_connections:
                    _close(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self._connections.update((client, upstream))
                self.accepted += 1
            pump = threading.Thread(target=self._pump, args=(client, upstream), daemon=True,
                                    name=f"tcpproxy-{self.port}-conn")
            self._threads = [t for t in self._threads if t.is_alive()] + [pump]
            pump.start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while True:
                with self._lock:
                    if client not in self._connections:
                        return
                if not self._flowing.wait(SELECT_SECONDS):
                    continue
                readable, _, _ = select.select(list(peers), [], [], SELECT_SECONDS)
                for sock in readable:
                    data = sock.recv(BUFFER_BYTES)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # a socket closed by cut() or by either side
            return
        finally:
            with self._lock:
                self._connections.discard(client)
                self._connections.discard(upstream)
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
