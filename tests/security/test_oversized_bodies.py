"""A body over the limit cannot take a real gunicorn worker's threads (entrypoint.sh,
gunicorn.conf.py, the project's gthread worker; 1 worker, 4 threads, over real HTTP).

The app answers 413 to a Content-Length over MAX_CONTENT_LENGTH without reading the body. Kept
alive, such a connection made gunicorn discard the rest of the body in a pool thread, blocking
and without a timeout, as soon as more of it arrived: one thread per attacking connection, and
with four of them /health no longer answered. The worker now closes the connection after such
an answer (openml_backend/gunicorn_worker.py, request_bodies.py)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.servers import Gunicorn, environment_for_testing, gunicorn_command_for_testing

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
THREADS = 4
LOGIN = "/api/v1/auth/login"
HEALTH_SECONDS = 2.0


@pytest.fixture
def server(make_app: Callable[..., Flask], database_uri: str, tmp_path: Path,
           start_gunicorn: Callable[..., Gunicorn]) -> Gunicorn:
    make_app()  # empty tables
    env = environment_for_testing(tmp_path, database_uri, PASSWORD_HASH_COST="low")
    return start_gunicorn(env, tmp_path / "server.log",
                          command=[*gunicorn_command_for_testing(1), "--threads", str(THREADS)])


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of the one answer on `sock`."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the answer's body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_by_server(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@contextlib.contextmanager
def closed_at_the_end() -> Iterator[list[socket.socket | requests.Session]]:
    """A list whose sockets and sessions are closed when the block ends."""
    opened: list[socket.socket | requests.Session] = []
    try:
        yield opened
    finally:
        for each in opened:
            each.close()


def test_bodies_over_the_limit_on_kept_alive_connections_leave_health_answering(server: Gunicorn) -> None:
    for _ in range(3):  # a worker that has served before, as in the report
        assert server.get("/health")[0] == 200
    head = (f"POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {6 * MIB}\r\n\r\n").encode()

    with closed_at_the_end() as attackers, closed_at_the_end() as sessions:
        # Half the threads' worth: the head of a 6 MiB body, the answer read, then a trickle of
        # the body on a connection kept open.
        for _ in range(THREADS // 2):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            attackers.append(sock)
            sock.sendall(head)
            status, headers, body = read_answer(sock)
            assert (status, headers["content-type"]) == (413, "application/problem+json")
            assert json.loads(body)["code"] == "payload_too_large"
            assert headers["connection"] == "close"
            with contextlib.suppress(OSError):  # the server may have closed already
                sock.sendall(b'{"email": "' + b"a" * 4096)
        # The other half: the whole 6 MiB with `requests`, each session keeping its connection.
        for _ in range(THREADS - THREADS // 2):
            session = requests.Session()
            sessions.append(session)
            with contextlib.suppress(requests.ConnectionError):  # a close before the answer is read
                answer = session.post(server.url + LOGIN, data=b"{" + b" " * (6 * MIB), timeout=10,
                                      headers={"Content-Type": "application/json"})
                assert (answer.status_code, answer.json()["code"]) == (413, "payload_too_large")

        started = time.monotonic()
        health = server.http("GET", "/health", timeout=HEALTH_SECONDS + 3)
        assert health.status_code == 200
        assert time.monotonic() - started < HEALTH_SECONDS

        for sock in attackers:
            assert closed_by_server(sock, 5), "the connection with the unread body stayed open"
