"""Tables of the shared statistics cache: ready entries, leases that coalesce computations, and
OpenML's recent refusals and failures."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# MySQL's plain BLOB stops at 64 KiB; statistics of wide datasets are larger.
CompressedPayload = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql")
# MySQL's DATETIME drops fractions of a second by default; leases are measured in seconds.
PreciseDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


class StatsEntry(db.Model):
    """The statistics of one dataset as computed by one engine version, stored gzip-compressed.

    One row per (dataset, engine version): a refresh replaces the row in one transaction, so a
    reader sees the old entry or the new one, never half of either.
    """

    __tablename__ = "stats_entries"
    __table_args__ = (sa.UniqueConstraint("dataset_id", "engine_version", name="uq_stats_entries_dataset_engine"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    engine_version: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    dataset_version: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    checksum: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    name: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(PreciseDateTime, nullable=False)
    etag: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    payload_gzip: Mapped[bytes] = mapped_column(CompressedPayload, nullable=False)
    # When OpenML's description last confirmed `dataset_version` and `checksum` (NULL: never).
    validated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, nullable=True)


class StatsLease(db.Model):
    """Who is computing a dataset's statistics right now, until when (renewed by a heartbeat).

    The primary key makes taking a lease an atomic INSERT; a holder that dies stops renewing,
    so its lease expires within seconds and the next request takes over.
    """

    __tablename__ = "stats_leases"

    dataset_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    engine_version: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(PreciseDateTime, nullable=False)


class StatsFailure(db.Model):
    """OpenML's last answer for a dataset that has no entry, remembered until `expires_at`:
    404 or 403 (a refusal), or a failed fetch or computation (502, 503).

    Until it expires, every process answers the same error without asking OpenML again.
    """

    __tablename__ = "stats_failures"

    dataset_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    engine_version: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    status: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    code: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    message: Mapped[str] = mapped_column(sa.String(512), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(PreciseDateTime, nullable=False)
