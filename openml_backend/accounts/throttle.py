"""Fixed-window attempt counters in the database, so a limit holds across workers and replicas.

Each call counts first and decides after, with one atomic upsert (`INSERT ... ON CONFLICT /
ON DUPLICATE KEY UPDATE attempts = attempts + 1`), so concurrent requests from several
processes cannot slip past the limit together. The counting runs on its own connection and
commits at once: a request that fails afterwards (a wrong password) still counts. Keys are
sha256 digests, so no address or email is stored.
"""

from __future__ import annotations

import math
import secrets
import time
from datetime import timedelta

from sqlalchemy import delete, exc, select, update

from .. import metrics
from ..digests import sha256_hex
from ..errors import ServiceUnavailable, TooManyRequests
from ..extensions import db
from .models import ThrottleCounter, utcnow

PRUNE_ONE_IN = 100  # expired rows are deleted on about one call in this many
DEADLOCK_RETRIES = 3


def _upsert(dialect: str, scope: str, key: str, window_start: int, expires_at):
    values = {"scope": scope, "key": key, "window_start": window_start, "attempts": 1, "expires_at": expires_at}
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(ThrottleCounter).values(**values)
        return statement.on_conflict_do_update(
            index_elements=["scope", "key", "window_start"],
            set_={"attempts": ThrottleCounter.attempts + 1},
        )
    from sqlalchemy.dialects.mysql import insert as mysql_insert

    statement = mysql_insert(ThrottleCounter).values(**values)
    return statement.on_duplicate_key_update(attempts=ThrottleCounter.attempts + 1)


def count_attempt(scope: str, value: str, limit: int, window_seconds: int) -> None:
    """Count one attempt of `value` in `scope`; raise 429 with Retry-After once it exceeds
    `limit` attempts in the current window of `window_seconds`."""
    now = time.time()
    window_start = int(now // window_seconds) * window_seconds
    key = sha256_hex(value)
    row = (ThrottleCounter.scope == scope) & (ThrottleCounter.key == key) & (
        ThrottleCounter.window_start == window_start
    )
    expires_at = utcnow() + timedelta(seconds=window_seconds)
    for attempt in range(DEADLOCK_RETRIES):
        try:
            with db.engine.begin() as connection:
                connection.execute(_upsert(connection.dialect.name, scope, key, window_start, expires_at))
                attempts = connection.execute(select(ThrottleCounter.attempts).where(row)).scalar_one()
                if secrets.randbelow(PRUNE_ONE_IN) == 0:
                    connection.execute(delete(ThrottleCounter).where(ThrottleCounter.expires_at < utcnow()))
            break
        except exc.OperationalError as error:
            # InnoDB may pick this transaction as a deadlock victim when many processes
            # insert the same new row; the statement is safe to repeat.
            if attempt + 1 == DEADLOCK_RETRIES or "1213" not in str(error.orig):
                raise
    if attempts > limit:
        retry_after = math.ceil(window_start + window_seconds - now)
        metrics.throttled(scope)
        raise TooManyRequests("Too many attempts; try again later.", code="too_many_attempts", retry_after=retry_after)


LOCK_WINDOW = 0  # the one window of a lock row; it never counts attempts against a limit
LOCK_ROW_HOURS = 24


def hold(scope: str, value: str) -> None:
    """Make the session's current transaction wait for, then exclude, every other transaction
    holding `value` in `scope`, in any worker or replica, until it commits or rolls back.

    It updates one row per value, which takes the row's write lock (InnoDB's row lock, SQLite's
    database write lock). Call it before the transaction's first read, so what the transaction
    reads afterwards includes whatever the previous holder committed, and with nothing pending
    in the session (the first use of a value rolls the transaction back)."""
    key = sha256_hex(value)
    row = (ThrottleCounter.scope == scope) & (ThrottleCounter.key == key) & (ThrottleCounter.window_start == LOCK_WINDOW)
    for _ in range(DEADLOCK_RETRIES):
        if db.session.execute(update(ThrottleCounter).where(row).values(attempts=ThrottleCounter.attempts + 1)).rowcount:
            return
        # First use, or pruned: end the transaction (SQLite gave it the write lock even though
        # no row changed), create the row on a connection of its own, committed at once so no
        # two requests hold an insert lock on it, then take the lock on it.
        db.session.rollback()
        expires_at = utcnow() + timedelta(hours=LOCK_ROW_HOURS)
        try:
            with db.engine.begin() as connection:
                connection.execute(_upsert(connection.dialect.name, scope, key, LOCK_WINDOW, expires_at))
        except exc.OperationalError as error:
            if "1213" not in str(error.orig):
                raise
    raise ServiceUnavailable("Busy; try again.", code="lock_unavailable", retry_after=1)


def forget(scope: str, value: str) -> None:
    """Drop every counter of `value` in `scope` (after a successful login)."""
    with db.engine.begin() as connection:
        connection.execute(delete(ThrottleCounter).where(
            (ThrottleCounter.scope == scope) & (ThrottleCounter.key == sha256_hex(value))))


def prune_expired() -> int:
    """Delete counters whose window has ended; return how many."""
    with db.engine.begin() as connection:
        return connection.execute(delete(ThrottleCounter).where(ThrottleCounter.expires_at < utcnow())).rowcount
