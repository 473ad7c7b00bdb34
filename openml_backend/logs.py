"""JSON log lines on stdout, one line per request, request ids, and no secrets.

Every record becomes one JSON object. A request's line carries method, path (never the query
string: it may hold tokens or API keys), status, duration and the request id, which is taken
from X-Request-ID when it is a sane token and echoed in the response. As a second line of
defence, any configured secret value that reaches a message is replaced by ***.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

request_log = logging.getLogger("openml_backend.request")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, extras, request id.

    Any of `secrets` found in the finished line (raw or JSON-escaped) is replaced by ***.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        plain = {s for s in secrets if s and len(s) >= 4}
        escaped = {orjson.dumps(s).decode()[1:-1] for s in plain}
        self.secrets = sorted(plain | escaped, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if has_request_context() and "request_id" not in entry:
            entry["request_id"] = g.get("request_id")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = orjson.dumps(entry, default=str).decode()
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time of each record (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str, secrets: Iterable[str | None] = ()) -> None:
    """Send every log record to stdout as JSON at `level`, redacting `secrets`."""
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_openml_backend", False):
            root.removeHandler(old)
    handler._openml_backend = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Werkzeug's dev-server access line repeats ours and includes the query string.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _request_id_from_header() -> str:
    candidate = request.headers.get(REQUEST_ID_HEADER, "")
    return candidate if _SANE_REQUEST_ID.match(candidate) else uuid.uuid4().hex


def request_seconds() -> float | None:
    """Seconds since the current request started (None outside a request that was timed).

    The one request timer: the log line and the latency metric both read it.
    """
    started = g.get("request_started") if has_request_context() else None
    return time.perf_counter() - started if started is not None else None


def register_request_logging(app: Flask) -> None:
    """Give every request an id and a start time, and write one log line when it ends."""

    @app.before_request
    def start_request() -> None:
        g.request_id = _request_id_from_header()
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or _request_id_from_header()
        response.headers[REQUEST_ID_HEADER] = request_id
        elapsed = request_seconds()
        duration_ms = round(elapsed * 1000, 2) if elapsed is not None else None
        endpoint = request.url_rule.rule if request.url_rule else None
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "request_id": request_id,
            },
        )
        return response
