"""Bounded database use per worker process, so a stalled database cannot take every thread.

A database that accepts connections and never answers holds each request that touches it
for the driver's timeouts (DB_READ_TIMEOUT, DB_CONNECT_TIMEOUT, DB_POOL_TIMEOUT, see
config.database_engine_options). gunicorn gives a worker a fixed number of threads; if every
one of them waits on the database, GET /health queues behind them and the liveness probe
fails on every pod at once. So at most DB_MAX_CONCURRENT_REQUESTS requests of one process may
use the database at a time (set it below the thread count): a further one answers
503 `database_unavailable` at once, without waiting, and a thread stays free for /health.

Which requests count: those of the blueprints in DATABASE_BLUEPRINTS (the accounts feature,
whose every endpoint reads or writes the database). The statistics endpoint is not gated:
it uses the database only as a cache and answers from memory or OpenML without it.
"""

from __future__ import annotations

import threading

from flask import Flask, Response, g, request

from .errors import problem_response

DATABASE_BLUEPRINTS = frozenset({"accounts"})
RETRY_AFTER_SECONDS = 5


class DatabaseGate:
    """A non-blocking count of the requests that use the database in this process, at most
    `limit` at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        """Take a slot if one is free right now; never waits."""
        with self._lock:
            if self.in_use >= self.limit:
                return False
            self.in_use += 1
            return True

    def leave(self) -> None:
        """Give back a slot taken by `try_enter`."""
        with self._lock:
            self.in_use -= 1


def _uses_database() -> bool:
    return request.blueprint in DATABASE_BLUEPRINTS and request.method != "OPTIONS"


def init_app(app: Flask) -> None:
    """Gate the requests that use the database by DB_MAX_CONCURRENT_REQUESTS per process."""
    gate = DatabaseGate(app.config["DB_MAX_CONCURRENT_REQUESTS"])
    app.extensions["openml_backend.database_gate"] = gate

    @app.before_request
    def enter_database_gate() -> Response | None:
        if not _uses_database():
            return None
        if not gate.try_enter():
            return problem_response(
                503, "database_unavailable",
                "Too many requests are waiting for the database; try again shortly.",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        g.database_gate_entered = True
        return None

    @app.teardown_request
    def leave_database_gate(_error: BaseException | None) -> None:
        if g.pop("database_gate_entered", False):
            gate.leave()
