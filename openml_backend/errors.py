"""The API's one error shape: exceptions raised anywhere, rendered as RFC 9457 problem+json.

Every 4xx and 5xx the service sends, its own or Werkzeug's (404, 405, 413, ...), and every
unexpected exception, leaves through `init_app`, so an API client never sees HTML or a
traceback. Body: {"type", "title", "status", "code", "detail", "request_id", ...extra}. A
database that cannot be reached, under any blueprint, is a temporary 503 `database_unavailable`.

The pages meant for people (paths under a prefix given to `register_error_page`, e.g.
/datasets/) get the same status, code, message and headers as an HTML page instead.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import exc as sqlalchemy_errors
from werkzeug.exceptions import HTTPException

from .extensions import db
from .jsonio import json_response

PROBLEM_JSON = "application/problem+json"
_ERROR_PAGES = "openml_backend.error_pages"

# (status, code, message, headers) -> an HTML response with that status and those headers
ErrorPage = Callable[[int, str, str, dict[str, str]], Response]

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5
# What SQLAlchemy raises when the database is down, unreachable, dropped the connection or the
# pool found no free connection in time: a temporary condition, not a bug.
DATABASE_UNAVAILABLE_ERRORS = (
    sqlalchemy_errors.OperationalError,
    sqlalchemy_errors.InterfaceError,
    sqlalchemy_errors.DisconnectionError,
    sqlalchemy_errors.TimeoutError,
)


class ApiError(Exception):
    """An error with an HTTP status, a stable machine-readable `code` and a human message."""

    status = 500
    code = "internal_error"
    message = "The server could not complete the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(self.message)


class BadRequest(ApiError):
    status, code, message = 400, "bad_request", "The request is malformed."


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Authentication is required."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "You may not access this resource."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "The resource does not exist."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "unsupported_media_type", "The request body must be application/json."


class UnprocessableEntity(ApiError):
    status, code, message = 422, "unprocessable_entity", "The request is well-formed but cannot be served."


class _RetryableError(ApiError):
    def __init__(self, message: str | None = None, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, int(retry_after)))


class TooManyRequests(_RetryableError):
    status, code, message = 429, "too_many_requests", "Too many requests; try again later."


class BadGateway(ApiError):
    status, code, message = 502, "bad_gateway", "An upstream service answered with something unusable."


class ServiceUnavailable(_RetryableError):
    status, code, message = 503, "service_unavailable", "The service is temporarily unavailable."


# Werkzeug's exceptions get stable codes of our own; their HTML descriptions are replaced.
_HTTP_CODES = {
    400: ("bad_request", "The request is malformed."),
    401: ("unauthorized", "Authentication is required."),
    403: ("forbidden", "You may not access this resource."),
    404: ("not_found", "No endpoint at this path."),
    405: ("method_not_allowed", "This method is not allowed on this path."),
    406: ("not_acceptable", "No acceptable representation."),
    408: ("request_timeout", "The request took too long to arrive."),
    411: ("length_required", "A Content-Length header is required."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The request URI is too long."),
    415: ("unsupported_media_type", "The request body must be application/json."),
    416: ("range_not_satisfiable", "The requested range cannot be served."),
    429: ("too_many_requests", "Too many requests; try again later."),
    431: ("request_header_fields_too_large", "The request headers are too large."),
    501: ("not_implemented", "The request uses a feature the server does not support."),
}


def http_problem(status: int) -> tuple[str, str]:
    """The stable (code, message) the API uses for an HTTP error `status`."""
    if status >= 500 and status not in _HTTP_CODES:
        return "internal_error", ApiError.message
    return _HTTP_CODES.get(status, ("http_error", "The request could not be served."))


def problem_body(status: int, code: str, message: str, request_id: str | None = None, **extra: Any) -> dict:
    """The problem+json document for `status` (also written by the gunicorn worker, outside Flask)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {"type": "about:blank", "title": title, "status": status, "code": code, "detail": message}
    body.update(extra)
    body["request_id"] = request_id
    return body


def problem_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """Return the problem+json response every error leaves through."""
    body = problem_body(status, code, message, g.get("request_id"), **extra)
    response = json_response(body, status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_page(app: Flask, path_prefix: str, render: ErrorPage) -> None:
    """Render the errors of requests whose path starts with `path_prefix` with `render` (a page
    for people) instead of problem+json; every other path keeps problem+json."""
    app.extensions.setdefault(_ERROR_PAGES, []).append((path_prefix, render))


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                    **extra: Any) -> Response:
    if has_request_context():
        for prefix, render in current_app.extensions.get(_ERROR_PAGES, ()):
            if request.path.startswith(prefix):
                try:
                    return render(status, code, message, dict(headers or {}))
                except Exception:  # a broken page must still leave as an error, never a traceback
                    log.exception("error page failed", extra={"status": status})
                    break
    return problem_response(status, code, message, headers, **extra)


def _render_api_error(error: ApiError) -> Response:
    return _error_response(error.status, error.code, error.message, error.headers, **error.extra)


def _render_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code, message = _HTTP_CODES.get(status, ("http_error", "The request could not be served."))
    headers = {}
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    if status >= 500:
        code, message = "internal_error", ApiError.message
    return _error_response(status, code, message, headers)


def _render_database_unavailable(error: Exception) -> Response:
    log.error("database unavailable", extra={"error_type": type(error).__name__})
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded with the request
        pass
    return _error_response(503, "database_unavailable", "The database is unavailable; try again shortly.",
                           {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def _render_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _render_http_exception(error)
    log.exception("unhandled error", extra={"error_type": type(error).__name__})
    return _error_response(500, "internal_error", ApiError.message)


def init_app(app: Flask) -> None:
    """Render every error of `app` in the one problem+json shape."""
    app.register_error_handler(ApiError, _render_api_error)
    app.register_error_handler(HTTPException, _render_http_exception)
    for error_class in DATABASE_UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, _render_database_unavailable)
    app.register_error_handler(Exception, _render_unexpected)
