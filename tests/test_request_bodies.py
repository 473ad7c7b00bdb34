"""A body the app answered without reading is read to its end before the answer leaves
(openml_backend/request_bodies.py), so a client that keeps its connection open afterwards
does not hold one of gunicorn's worker threads."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from openml_backend.request_bodies import BODY_LEFT_UNREAD
from tests.servers import environment_for_testing, gunicorn_command_for_testing

BODY = b'{"email": "someone@example.org", "password": "not read by anyone"}'


def test_a_body_the_app_did_not_read_is_read_before_the_answer(client: FlaskClient) -> None:
    stream = io.BytesIO(BODY)
    # /health takes no POST: routing answers 405 without the view ever reading the body.
    answer = client.open("/health", method="POST", input_stream=stream, content_length=len(BODY),
                         content_type="application/json")
    assert answer.status_code == 405
    assert stream.tell() == len(BODY)


def test_a_body_over_the_limit_is_not_read(make_app) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    stream = io.BytesIO(b"x" * 100_000)
    answer = app.test_client().open("/health", method="POST", input_stream=stream, content_length=100_000)
    assert answer.status_code == 405
    assert stream.tell() <= 1025


def answered_environ(app: Flask, body: bytes, content_length: int) -> dict:
    """The WSGI environ of a POST /health with `body` after the app has answered it."""
    environ = EnvironBuilder(path="/health", method="POST", input_stream=io.BytesIO(body),
                             content_length=content_length, content_type="application/json").get_environ()
    statuses = []
    app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses == ["405 METHOD NOT ALLOWED"]
    return environ


def test_only_a_body_left_unread_is_marked_for_gunicorn_to_close_the_connection(make_app) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    assert not answered_environ(app, BODY, len(BODY)).get(BODY_LEFT_UNREAD)
    assert answered_environ(app, b"x" * 100_000, 100_000)[BODY_LEFT_UNREAD] is True


def send_head_then_body(port: int, delay: float) -> socket.socket:
    """A kept-alive connection whose POST body arrives `delay` s after the request head, as when
    the two travel in separate TCP segments; its answer is read and the connection left open."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(b"POST /health HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(BODY))
    time.sleep(delay)
    connection.sendall(BODY)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 405"), answer
    assert b"connection: keep-alive" in answer.lower(), answer
    return connection


def test_idle_kept_alive_connections_do_not_hold_the_worker_threads(database_uri: str, tmp_path: Path,
                                                                    start_gunicorn) -> None:
    threads = 2
    env = environment_for_testing(tmp_path, database_uri)
    server = start_gunicorn(env, tmp_path / "server.log",
                            command=[*gunicorn_command_for_testing(1), "--threads", str(threads)])
    # One such connection per thread of the only worker, all kept open while /health is asked.
    held = [send_head_then_body(server.port, delay=0.3) for _ in range(threads)]
    try:
        started = time.monotonic()
        answer = requests.get(f"{server.url}/health", timeout=3)
        assert answer.status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        for connection in held:
            connection.close()
