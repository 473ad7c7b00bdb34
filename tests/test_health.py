"""GET /health and GET /health/ready, on both database backends."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from openml_backend import __version__
from tests.servers import free_port


def test_health_answers_ok(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "environment": "testing", "version": __version__}


def test_health_is_cheap(client: FlaskClient) -> None:
    # Not a timing assertion: a sanity bound that catches accidental I/O (1000 calls).
    started = time.perf_counter()
    for _ in range(1000):
        client.get("/health")
    assert (time.perf_counter() - started) < 10


def test_ready_when_database_and_directories_work(client: FlaskClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json == {"status": "ready",
                             "checks": {"database": "ok", "data_dir": "ok", "cache_dir": "ok"}}


def test_ready_is_503_when_the_database_port_is_closed(tmp_path) -> None:
    port = free_port()
    from openml_backend import create_app
    from openml_backend.config import TestingConfig

    broken = create_app(TestingConfig(environ={
        "DATABASE_URI": f"mysql://root:topsecret@127.0.0.1:{port}/openml",
        "DATA_DIR": str(tmp_path / "broken"),
    }))
    started = time.perf_counter()
    response = broken.test_client().get("/health/ready")
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == "not_ready"
    assert body["checks"] == {"database": "failed", "data_dir": "ok", "cache_dir": "ok"}
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and "topsecret" not in text and str(tmp_path) not in text
    assert elapsed < 5
    # liveness stays up while the database is down
    assert broken.test_client().get("/health").status_code == 200


def test_ready_names_a_cache_dir_that_cannot_exist(make_app: Callable[..., Flask], tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = make_app(OPENML_CACHE_DIR=str(blocker / "cache"))
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "data_dir": "ok", "cache_dir": "failed"}
    assert str(tmp_path) not in response.get_data(as_text=True)
