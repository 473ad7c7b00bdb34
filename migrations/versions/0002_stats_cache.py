"""The shared statistics cache: stats_entries and stats_leases.

Revision ID: 0002_stats_cache
Revises: 0001_core
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_stats_cache"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stats_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("engine_version", sa.String(length=16), nullable=False),
        sa.Column("dataset_version", sa.Integer(), nullable=True),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("computed_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("payload_gzip", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_entries")),
        sa.UniqueConstraint("dataset_id", "engine_version", name="uq_stats_entries_dataset_engine"),
    )
    op.create_table(
        "stats_leases",
        sa.Column("dataset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("engine_version", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "engine_version", name=op.f("pk_stats_leases")),
    )


def downgrade():
    op.drop_table("stats_leases")
    op.drop_table("stats_entries")
