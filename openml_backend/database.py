"""Bounded database use per worker process, so a stalled database cannot take every thread.

A database that accepts connections and never answers holds each request that touches it
for the driver's timeouts (DB_READ_TIMEOUT, DB_CONNECT_TIMEOUT, DB_POOL_TIMEOUT, see
config.database_engine_options). gunicorn gives a worker a fixed number of threads; if every
one of them waits on the database, GET /health queues behind them and the liveness probe
fails on every pod at once. So at most DB_MAX_CONCURRENT_REQUESTS requests of one process may
use the database at a time (set it below the thread count), and a thread stays free for /health.

A request that finds every slot taken waits for one only while the database looks healthy:
- it gets the first slot given back, if that happens within GATE_MAX_WAIT_SECONDS;
- it answers 503 `database_unavailable` once the holders look stalled: none of them is busy
  outside the database (hashing a password, see `outside_database`) and no slot was taken
  or given back, nor a hash finished, for GATE_STALL_SECONDS. Holders that have sat that
  long are refused at once: with a stalled database they stay until the driver's timeouts;
- it answers 503 after GATE_MAX_WAIT_SECONDS in any case.
Once a waiter has given up on stalled holders, the gate stops letting anyone wait: a request
takes a free slot or answers 503 at once, until a request leaves its slot with an answer
below 500 (the database answers again). Without that, gunicorn's queue would hand each
queued login in turn the one free thread for GATE_STALL_SECONDS, and /health queued behind
several of them would miss its probe.
Elapsed time alone cannot tell a stall from a burst of logins: three argon2 verifies sharing
a busy CPU take a second or more, with no slot given back meanwhile. Hashing is the only
long work a holder does outside the database, so it counts as progress. A burst of logins
on a healthy database therefore queues instead of failing, while in a stall a waiter gives
up within GATE_STALL_SECONDS and the thread it held is free again for /health.

A refused request's body is read before its answer (openml_backend/request_bodies.py): left
unread, it could park a thread on the client's kept-alive connection, and /health then queued
behind the holders after all.

Which requests count: those of the blueprints in DATABASE_BLUEPRINTS (the accounts, avatars,
OAuth, passkeys and contributions features, whose every endpoint reads or writes the database).
The statistics endpoint is not gated:
it uses the database only as a cache and answers from memory or OpenML without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, current_app, g, request

from .errors import problem_response
from .extensions import db

DATABASE_BLUEPRINTS = frozenset({"accounts", "avatars", "avatars_me", "contributions", "oauth", "passkeys"})
GATE_EXTENSION = "openml_backend.database_gate"
RETRY_AFTER_SECONDS = 5
# Nothing moved for this long while all slots are taken and no holder is hashing: the
# database looks stalled. Well above a healthy query, below DB_READ_TIMEOUT (5 s) and the
# liveness probe's 2 s: in a stall it bounds how long /health can queue behind a waiter.
GATE_STALL_SECONDS = 0.5
# The longest a request waits while the holders do make progress (a healthy but overloaded
# process); with gunicorn's 4 threads and 3 slots only one request per worker waits at once.
GATE_MAX_WAIT_SECONDS = 3.0
# How often a waiter re-checks whether the holders look stalled.
GATE_POLL_SECONDS = 0.05


class DatabaseGate:
    """A count of the requests that use the database in this process, at most `limit` at a
    time; a request waits for a slot only while the holders make progress."""

    def __init__(self, limit: int, stall_seconds: float = GATE_STALL_SECONDS,
                 max_wait_seconds: float = GATE_MAX_WAIT_SECONDS) -> None:
        self.limit = limit
        self.stall_seconds = stall_seconds
        self.max_wait_seconds = max_wait_seconds
        self.in_use = 0
        self._outside = 0  # holders busy outside the database right now (hashing)
        self._last_progress = time.monotonic()  # a slot taken or given back, or a hash finished
        self.stalled = False  # a waiter gave up on stalled holders; no one waits until a healthy answer
        self._changed = threading.Condition()

    def try_enter(self) -> bool:
        """Take a slot if one is free right now; never waits."""
        with self._changed:
            return self._take()

    def enter(self) -> bool:
        """Take a slot, waiting for one while the holders make progress; False (no slot taken)
        once they look stalled (see the module), or after `max_wait_seconds`."""
        with self._changed:
            give_up_at = time.monotonic() + self.max_wait_seconds
            while not self._take():
                now = time.monotonic()
                if self.stalled or now >= give_up_at:
                    return False
                if self._looks_stalled(now):
                    self.stalled = True
                    return False
                self._changed.wait(min(GATE_POLL_SECONDS, give_up_at - now))
            return True

    def leave(self, healthy: bool = True) -> None:
        """Give back a slot taken by `enter` or `try_enter`; `healthy` when its request got an
        answer below 500, which ends a stall."""
        with self._changed:
            self.in_use -= 1
            self._last_progress = time.monotonic()
            if healthy:
                self.stalled = False
            self._changed.notify()

    @contextmanager
    def busy_outside_database(self) -> Iterator[None]:
        """Count the block as progress: its thread works (hashes) and is not stuck on the database."""
        with self._changed:
            self._outside += 1
        try:
            yield
        finally:
            with self._changed:
                self._outside -= 1
                self._last_progress = time.monotonic()

    def _looks_stalled(self, now: float) -> bool:
        return self._outside == 0 and now - self._last_progress >= self.stall_seconds

    def _take(self) -> bool:
        if self.in_use >= self.limit:
            return False
        self.in_use += 1
        self._last_progress = time.monotonic()
        return True


@contextmanager
def outside_database() -> Iterator[None]:
    """Mark CPU work of the current request (password hashing) on the app's gate, so requests
    waiting for a slot do not take it for a stalled database."""
    gate = current_app.extensions.get(GATE_EXTENSION)
    if gate is None:
        yield
        return
    with gate.busy_outside_database():
        yield


def _uses_database() -> bool:
    return request.blueprint in DATABASE_BLUEPRINTS and request.method != "OPTIONS"


def init_app(app: Flask) -> None:
    """Gate the requests that use the database by DB_MAX_CONCURRENT_REQUESTS per process."""
    gate = DatabaseGate(app.config["DB_MAX_CONCURRENT_REQUESTS"])
    app.extensions[GATE_EXTENSION] = gate

    @app.before_request
    def enter_database_gate() -> Response | None:
        if not _uses_database():
            return None
        if not gate.enter():
            return problem_response(
                503, "database_unavailable",
                "Too many requests are waiting for the database; try again shortly.",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        g.database_gate_entered = True
        return None

    @app.after_request
    def note_database_answer(response: Response) -> Response:
        g.database_gate_healthy = response.status_code < 500
        return response

    @app.teardown_request
    def leave_database_gate(error: BaseException | None) -> None:
        if not g.pop("database_gate_entered", False):
            return
        try:
            # Hand the connection back while this request still holds its slot: returning it
            # rolls back, and on a stalled database that waits out DB_READ_TIMEOUT as well.
            # After the slot is given back, that wait would take the thread kept for /health.
            db.session.remove()
        finally:
            gate.leave(healthy=error is None and g.pop("database_gate_healthy", False))
