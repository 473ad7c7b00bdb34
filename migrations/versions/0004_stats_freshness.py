"""Fresh statistics: when an entry was last checked against OpenML, and OpenML's recent
refusals and failures (stats_failures).

Revision ID: 0004_stats_freshness
Revises: 0003_accounts
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_stats_freshness"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None

PreciseDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade():
    with op.batch_alter_table("stats_entries") as batch:
        batch.add_column(sa.Column("validated_at", PreciseDateTime, nullable=True))
    op.create_table(
        "stats_failures",
        sa.Column("dataset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("engine_version", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("expires_at", PreciseDateTime, nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "engine_version", name=op.f("pk_stats_failures")),
    )


def downgrade():
    op.drop_table("stats_failures")
    with op.batch_alter_table("stats_entries") as batch:
        batch.drop_column("validated_at")
