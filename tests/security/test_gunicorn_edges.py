"""What a production gunicorn (entrypoint.sh, gunicorn.conf.py) answers at its edges, over raw
sockets: gunicorn's own refusals are problem+json, a chunked body over MAX_CONTENT_LENGTH is
413, /metrics exists only on the metrics port, and HSTS and nosniff come by default.

The database is a closed port: every request here is answered before the database is needed,
or by the 503 that proves the body got through intact."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.servers import Gunicorn, free_port, gunicorn, image_like_environment

pytestmark = pytest.mark.slow

MAX_CONTENT_LENGTH = 64 * 1024  # the production default
LOGIN = "/api/v1/auth/login"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    scratch: Path = tmp_path_factory.mktemp("edges")
    env = {**image_like_environment(scratch), "ENVIRONMENT": "production", "LOG_LEVEL": "INFO",
           "APP_SECRET_KEY": "e" * 40, "JWT_SECRET_KEY": "f" * 40,
           "DATABASE_URI": f"mysql://root@127.0.0.1:{free_port()}/openml", "DB_CONNECT_TIMEOUT": "1",
           "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"}
    with gunicorn(env, scratch / "server.log", start_seconds=120) as running:
        yield running


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a fresh connection; return the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(raw)
        except OSError:  # the server may answer and close before reading everything
            pass
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
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


def assert_problem(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> dict:
    got_status, headers, body = answer
    assert got_status == status, (got_status, body[:300])
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    document = json.loads(body)
    assert (document["status"], document["code"]) == (status, code)
    assert set(document) >= {"type", "title", "detail", "request_id"}
    assert b"<html" not in body.lower()
    return document


def chunked(body: bytes, piece: int = 8192) -> bytes:
    pieces = (body[i:i + piece] for i in range(0, len(body), piece))
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def post_chunked(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + chunked(body)


def test_a_malformed_request_line_is_a_problem_document(server: Gunicorn) -> None:
    document = assert_problem(exchange(server.port, b"GARBAGE\r\n\r\n"), 400, "bad_request")
    assert "GARBAGE" not in json.dumps(document)  # nothing of the request is echoed
    assert document["request_id"] is None


def test_an_overlong_request_line_is_a_problem_document(server: Gunicorn) -> None:
    raw = b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: api.test\r\n\r\n"
    assert_problem(exchange(server.port, raw), 400, "bad_request")


def test_too_large_headers_are_431_problem_documents(server: Gunicorn) -> None:
    huge_field = b"GET /health HTTP/1.1\r\nHost: api.test\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    assert_problem(exchange(server.port, huge_field), 431, "request_header_fields_too_large")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
    assert_problem(exchange(server.port, b"GET /health HTTP/1.1\r\nHost: api.test\r\n" + many + b"\r\n"),
                   431, "request_header_fields_too_large")


def test_a_chunked_body_over_the_limit_is_413(server: Gunicorn) -> None:
    oversized = b'{"email": "a@example.org", "password": "' + b"p" * MAX_CONTENT_LENGTH + b'"}'
    assert_problem(exchange(server.port, post_chunked(LOGIN, oversized)), 413, "payload_too_large")


def test_a_chunked_body_within_the_limit_reaches_the_view(server: Gunicorn) -> None:
    # Parsed and valid, so the view goes on to the database, which is a closed port here.
    # Whitespace makes the body span several chunks (40 kB) without breaking any field's rules.
    body = b'{"email": "a@example.org",' + b" " * 40000 + b'"password": "a long enough password"}'
    assert_problem(exchange(server.port, post_chunked(LOGIN, body)), 503, "database_unavailable")


@pytest.mark.parametrize("path", ["/metrics", "//metrics", "/metrics/", "/./metrics", "/health/../metrics"])
def test_the_public_port_serves_no_metrics(server: Gunicorn, path: str) -> None:
    raw = f"GET {path} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n".encode()
    assert_problem(exchange(server.port, raw), 404, "not_found")


def test_the_metrics_port_serves_every_workers_metrics(server: Gunicorn) -> None:
    port = server.env["METRICS_PORT"]  # type: ignore[attr-defined]
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    assert 'openml_backend_build_info{environment="production"' in response.text
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 404


def test_production_sends_hsts_and_nosniff(server: Gunicorn) -> None:
    status, headers, _ = exchange(server.port, b"GET /health HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert headers["x-content-type-options"] == "nosniff"
