"""Database operations of the statistics cache: entries and leases (SQL only, no Flask).

Every function takes the SQLAlchemy engine and runs its own short transaction, so it can be
called from a request thread or from a lease heartbeat thread alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .models import StatsEntry, StatsLease

entries = StatsEntry.__table__
leases = StatsLease.__table__


def utcnow() -> datetime:
    """The current time in UTC, naive (how the tables store it), to the microsecond."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class EntryHeader:
    """What identifies a stored entry without its payload."""

    etag: str
    computed_at: datetime


@dataclass(frozen=True)
class StoredEntry:
    """A complete stored entry."""

    dataset_id: int
    etag: str
    computed_at: datetime
    payload_gzip: bytes


def _key(table: sa.Table, dataset_id: int, engine_version: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.dataset_id == dataset_id, table.c.engine_version == engine_version)


def read_header(engine: Engine, dataset_id: int, engine_version: str) -> EntryHeader | None:
    """Return the etag and time of the stored entry, or None when there is none."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(entries.c.etag, entries.c.computed_at).where(_key(entries, dataset_id, engine_version))
        ).first()
    return EntryHeader(row.etag, row.computed_at) if row else None


def read_entry(engine: Engine, dataset_id: int, engine_version: str) -> StoredEntry | None:
    """Return the stored entry with its payload, or None when there is none."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(entries.c.etag, entries.c.computed_at, entries.c.payload_gzip).where(
                _key(entries, dataset_id, engine_version)
            )
        ).first()
    return StoredEntry(dataset_id, row.etag, row.computed_at, bytes(row.payload_gzip)) if row else None


def save_entry(
    engine: Engine,
    *,
    dataset_id: int,
    engine_version: str,
    dataset_version: int | None,
    checksum: str | None,
    name: str,
    computed_at: datetime,
    etag: str,
    payload_gzip: bytes,
) -> None:
    """Store the entry, replacing any previous one of the same key in one transaction."""
    values = {
        "dataset_version": dataset_version,
        "checksum": checksum,
        "name": name[:256],
        "computed_at": computed_at,
        "etag": etag,
        "payload_gzip": payload_gzip,
    }
    for _attempt in range(2):
        try:
            with engine.begin() as connection:
                updated = connection.execute(
                    entries.update().where(_key(entries, dataset_id, engine_version)).values(**values)
                ).rowcount
                if not updated:
                    connection.execute(
                        entries.insert().values(dataset_id=dataset_id, engine_version=engine_version, **values)
                    )
            return
        except IntegrityError:
            # Another process inserted the first entry between our UPDATE and INSERT: update it.
            continue


def try_acquire_lease(engine: Engine, dataset_id: int, engine_version: str, owner: str, ttl: float) -> bool:
    """Take the computation lease when nobody holds a live one; True when taken."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    try:
        with engine.begin() as connection:
            connection.execute(
                leases.insert().values(
                    dataset_id=dataset_id, engine_version=engine_version, owner=owner, expires_at=expires
                )
            )
        return True
    except IntegrityError:
        pass
    with engine.begin() as connection:
        taken = connection.execute(
            leases.update()
            .where(_key(leases, dataset_id, engine_version), leases.c.expires_at < now)
            .values(owner=owner, expires_at=expires)
        ).rowcount
    return taken == 1


def renew_lease(engine: Engine, dataset_id: int, engine_version: str, owner: str, ttl: float) -> bool:
    """Extend our lease; False when it is no longer ours."""
    with engine.begin() as connection:
        renewed = connection.execute(
            leases.update()
            .where(_key(leases, dataset_id, engine_version), leases.c.owner == owner)
            .values(expires_at=utcnow() + timedelta(seconds=ttl))
        ).rowcount
    return renewed == 1


def release_lease(engine: Engine, dataset_id: int, engine_version: str, owner: str) -> None:
    """Give our lease back (nothing happens when it is not ours any more)."""
    with engine.begin() as connection:
        connection.execute(leases.delete().where(_key(leases, dataset_id, engine_version), leases.c.owner == owner))


def lease_is_live(engine: Engine, dataset_id: int, engine_version: str) -> bool:
    """True while someone holds an unexpired lease on the dataset."""
    with engine.connect() as connection:
        expires = connection.execute(
            sa.select(leases.c.expires_at).where(_key(leases, dataset_id, engine_version))
        ).scalar()
    return expires is not None and expires >= utcnow()
