"""The one error shape: every 4xx and 5xx is problem+json with a stable code, never HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask
from sqlalchemy import exc as sqlalchemy_errors, text

from openml_backend import create_app
from openml_backend.config import TestingConfig
from openml_backend.errors import NotFound, ServiceUnavailable
from openml_backend.extensions import db
from openml_backend.jsonio import json_response, read_json_object
from tests.helpers import assert_problem

@pytest.fixture
def probe_app(tmp_path: Path) -> Flask:
    """An app with a few routes that exercise the error paths (no database needed)."""
    app = create_app(TestingConfig(environ={"DATA_DIR": str(tmp_path)}, MAX_CONTENT_LENGTH=2048))

    @app.post("/probe/echo")
    def echo():
        return json_response(read_json_object())

    @app.get("/probe/crash")
    def crash():
        raise RuntimeError("secret internals /srv/app/db.py")

    @app.get("/probe/missing")
    def missing():
        raise NotFound("No such thing.", code="thing_not_found", thing_id=7)

    @app.get("/probe/busy")
    def busy():
        raise ServiceUnavailable("Upstream is down.", code="upstream_down", retry_after=30)

    return app


def test_unknown_path_is_404(probe_app: Flask) -> None:
    assert_problem(probe_app.test_client().get("/no/such/path"), 404, "not_found")


def test_wrong_method_is_405_with_allow(probe_app: Flask) -> None:
    response = probe_app.test_client().delete("/health")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_413(probe_app: Flask) -> None:
    response = probe_app.test_client().post("/probe/echo", data=b"{" + b" " * 4096 + b"}",
                                             content_type="application/json")
    assert_problem(response, 413, "payload_too_large")


def test_unexpected_exception_is_500_without_details(probe_app: Flask) -> None:
    body = assert_problem(probe_app.test_client().get("/probe/crash"), 500, "internal_error")
    assert "secret internals" not in body["detail"]


def test_api_error_carries_extra_members(probe_app: Flask) -> None:
    body = assert_problem(probe_app.test_client().get("/probe/missing"), 404, "thing_not_found")
    assert body["detail"] == "No such thing."
    assert body["thing_id"] == 7


def test_retryable_error_sets_retry_after(probe_app: Flask) -> None:
    response = probe_app.test_client().get("/probe/busy")
    assert_problem(response, 503, "upstream_down")
    assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 400, "malformed_json"),
        (b"\"text\"", "application/json", 400, "malformed_json"),
        (b"", "application/json", 400, "missing_body"),
        (b"a=b", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
    ],
)
def test_bad_json_bodies(probe_app: Flask, data: bytes, content_type: str, status: int, code: str) -> None:
    response = probe_app.test_client().post("/probe/echo", data=data, content_type=content_type)
    assert_problem(response, status, code)


def test_good_json_body_passes(probe_app: Flask) -> None:
    response = probe_app.test_client().post("/probe/echo", json={"a": "ünïcode", "b": [1, 2]})
    assert response.status_code == 200
    assert response.json == {"a": "ünïcode", "b": [1, 2]}


def test_an_unreachable_database_is_503_under_any_blueprint(tmp_path: Path) -> None:
    # A SQLite file in a directory that does not exist cannot be opened: a real OperationalError.
    app = create_app(TestingConfig(environ={"DATA_DIR": str(tmp_path),
                                            "DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/app.db"}))
    probe = Blueprint("probe", __name__)

    @probe.get("/probe/query")
    def query():
        db.session.execute(text("SELECT 1"))
        return json_response({"reached": True})

    app.register_blueprint(probe)
    response = app.test_client().get("/probe/query")
    body = assert_problem(response, 503, "database_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert "missing" not in body["detail"]  # no path or driver message reaches the client


@pytest.mark.parametrize("error", [
    sqlalchemy_errors.OperationalError("SELECT 1", {}, Exception("server has gone away")),
    sqlalchemy_errors.InterfaceError("SELECT 1", {}, Exception("connection already closed")),
    sqlalchemy_errors.DisconnectionError("connection invalidated"),
    sqlalchemy_errors.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
], ids=lambda error: type(error).__name__)
def test_each_lost_database_error_is_503_database_unavailable(probe_app: Flask, error: Exception) -> None:
    @probe_app.get("/probe/lost-database")
    def lost_database():
        raise error

    body = assert_problem(probe_app.test_client().get("/probe/lost-database"), 503, "database_unavailable")
    assert "QueuePool" not in body["detail"] and "gone away" not in body["detail"]


def test_error_pages_cover_their_prefix_only_and_fall_back_to_problem_json(tmp_path: Path) -> None:
    from flask import Response

    from openml_backend.errors import register_error_page

    app = create_app(TestingConfig(environ={"DATA_DIR": str(tmp_path)}))

    def page(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
        return Response(f"<p>{status} {code}</p>", status=status, mimetype="text/html", headers=headers)

    def broken(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
        raise RuntimeError("the page itself failed")

    register_error_page(app, "/people/", page)
    register_error_page(app, "/broken/", broken)

    @app.get("/people/busy")
    def busy():
        raise ServiceUnavailable("Upstream is down.", code="upstream_down", retry_after=30)

    client = app.test_client()
    shown = client.get("/people/busy")
    assert (shown.status_code, shown.mimetype, shown.headers["Retry-After"]) == (503, "text/html", "30")
    assert shown.get_data(as_text=True) == "<p>503 upstream_down</p>"
    assert client.get("/people/nowhere").get_data(as_text=True) == "<p>404 not_found</p>"
    assert_problem(client.get("/peoplex/nowhere"), 404, "not_found")
    assert_problem(client.get("/broken/nowhere"), 404, "not_found")
