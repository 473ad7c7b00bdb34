"""The TCP proxy of the test harness does what the fault tests rely on: it forwards, `cut()`
refuses and breaks, `pause()` accepts and holds every byte until `resume()`."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.servers import TcpProxy

HELD_SECONDS = 0.6


@contextlib.contextmanager
def echo_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that sends back what it receives; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(connection,), daemon=True).start()

    def echo(connection: socket.socket) -> None:
        with connection:
            while data := connection.recv(1024):
                connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with echo_server() as port, TcpProxy("127.0.0.1", port) as running:
        yield running


def round_trip(port: int, payload: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(payload)
        return client.recv(1024)


def test_forwards_both_ways(proxy: TcpProxy) -> None:
    assert round_trip(proxy.port, b"hello") == b"hello"


def test_cut_refuses_and_restore_listens_on_the_same_port(proxy: TcpProxy) -> None:
    port = proxy.port
    proxy.cut()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    proxy.restore()
    assert proxy.port == port
    assert round_trip(port, b"back") == b"back"


def test_pause_accepts_but_holds_every_byte_until_resume(proxy: TcpProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as open_before:
        open_before.sendall(b"one")
        assert open_before.recv(1024) == b"one"
        proxy.pause()
        open_before.sendall(b"two")
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as opened_during:  # accepted
            opened_during.sendall(b"three")
            for held in (open_before, opened_during):
                held.settimeout(HELD_SECONDS)
                with pytest.raises(TimeoutError):
                    held.recv(1024)
            proxy.resume()
            for held, payload in ((open_before, b"two"), (opened_during, b"three")):
                held.settimeout(5)
                assert held.recv(1024) == payload
