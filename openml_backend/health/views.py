"""GET /health (liveness, startup: no I/O) and GET /health/ready (readiness: database, disks)."""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, current_app
from sqlalchemy import text

from typing import Literal

from pydantic import BaseModel

from .. import __version__
from ..contract import Reply, operation, problem
from ..disks import directory_takes_writes
from ..errors import problem_response
from ..extensions import db
from ..jsonio import json_response

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)

DATABASE_CHECK_SECONDS = 1.0


class Health(BaseModel):
    status: Literal["ok"]
    environment: str
    version: str


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, Literal["ok", "failed"]]


@blueprint.get("/health")
@operation("Liveness", tags=["health"], replies=[Reply(200, "The process serves requests.", Health)])
def health() -> Response:
    """Answer 200 while the process can serve requests; touches nothing outside it."""
    return json_response(
        {"status": "ok", "environment": current_app.config["ENVIRONMENT"], "version": __version__}
    )


def _database_answers(app, timeout: float) -> bool:
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with app.app_context(), db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            outcome.append(True)
        except Exception as error:  # the readiness answer says "failed"; the log says why
            log.warning("readiness: database check failed", extra={"error_type": type(error).__name__})
            outcome.append(False)

    # A thread, so an unresponsive server costs this probe 1 s, not the driver's own timeouts.
    worker = threading.Thread(target=probe, name="readiness-db", daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(outcome and outcome[0])


@blueprint.get("/health/ready")
@operation("Readiness", tags=["health"], replies=[
    Reply(200, "The database answers and the data and cache directories are writable.", Readiness),
    problem(503, "A check failed; `checks` says which.", "not_ready"),
])
def ready() -> Response:
    """Answer 200 when the database answers SELECT 1 within 1 s and the data and cache
    directories take a small write (not read-only, not full); otherwise 503 naming each failed check (no hosts or paths)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    checks = {
        "database": _database_answers(app, DATABASE_CHECK_SECONDS),
        "data_dir": directory_takes_writes(app.config["DATA_DIR"]),
        "cache_dir": directory_takes_writes(app.config["OPENML_CACHE_DIR"]),
    }
    report = {name: ("ok" if passed else "failed") for name, passed in checks.items()}
    if all(checks.values()):
        return json_response({"status": "ready", "checks": report})
    failed = ", ".join(name for name, passed in checks.items() if not passed)
    return problem_response(503, "not_ready", f"Not ready: {failed} check failed.", checks=report)
