"""Logging: one JSON line per request with a request id, and no secret in any line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from openml_backend import create_app
from openml_backend.config import TestingConfig

SECRETS = {
    "APP_SECRET_KEY": "app-secret-value-1234567890-abcdefghij",
    "JWT_SECRET_KEY": "jwt-secret-value-1234567890-abcdefghij",
    "SMTP_PASS": "smtp-password-value-0987",
}


@pytest.fixture
def app_with_secrets(tmp_path: Path):
    environ = {**SECRETS, "DATA_DIR": str(tmp_path), "LOG_LEVEL": "DEBUG",
               "DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    app = create_app(TestingConfig(environ=environ))

    @app.get("/probe/leak")
    def leak():
        logging.getLogger("somewhere").warning("connecting with %s", SECRETS["SMTP_PASS"])
        raise RuntimeError(f"failed with key {SECRETS['JWT_SECRET_KEY']}")

    return app


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_one_json_line_per_request_without_query_string(app_with_secrets, capsys) -> None:
    capsys.readouterr()
    response = app_with_secrets.test_client().get("/health?api_key=abcdef123456&token=zzz")
    lines = [entry for entry in json_lines(capsys.readouterr().out) if entry["message"] == "request"]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["method"] == "GET"
    assert entry["path"] == "/health"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert "abcdef123456" not in json.dumps(entry)


def test_sane_request_id_is_kept_and_echoed(app_with_secrets) -> None:
    response = app_with_secrets.test_client().get("/health", headers={"X-Request-ID": "frontend-42.a_b"})
    assert response.headers["X-Request-ID"] == "frontend-42.a_b"


@pytest.mark.parametrize("given", ["", "x" * 300, "bad id with spaces", "<script>", "a\u00e9b"])
def test_insane_request_id_is_replaced(app_with_secrets, given: str) -> None:
    response = app_with_secrets.test_client().get("/health", headers={"X-Request-ID": given})
    generated = response.headers["X-Request-ID"]
    assert generated != given
    assert len(generated) == 32 and all(c in "0123456789abcdef" for c in generated)


def test_generated_request_ids_differ(app_with_secrets) -> None:
    client = app_with_secrets.test_client()
    assert client.get("/health").headers["X-Request-ID"] != client.get("/health").headers["X-Request-ID"]


def test_no_secret_reaches_the_log(app_with_secrets, capsys) -> None:
    capsys.readouterr()
    response = app_with_secrets.test_client().get("/probe/leak")
    assert response.status_code == 500
    output = capsys.readouterr().out
    assert output, "expected log output"
    for secret in SECRETS.values():
        assert secret not in output
    assert "***" in output
    entries = json_lines(output)
    assert any(entry["level"] == "ERROR" and "exception" in entry for entry in entries)
