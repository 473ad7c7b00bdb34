"""The current time as the database columns store it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC, naive (without tzinfo), to the microsecond.

    Every DateTime column of the project stores naive UTC, which compares the same on SQLite
    and MariaDB.
    """
    return datetime.now(UTC).replace(tzinfo=None)
