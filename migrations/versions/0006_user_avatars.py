"""Profile pictures: `user_avatars`, one 256x256 WebP per account.

A table of the service's own, keyed by `users.id` without a foreign key like the other account
tables, so it is the same on SQLite, a fresh MariaDB and OpenML's own database (whose tables
are not touched). MEDIUMBLOB on MariaDB: a plain BLOB stops at 64 KiB.

Revision ID: 0006_user_avatars
Revises: 0005_openml_accounts
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006_user_avatars"
down_revision = "0005_openml_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_avatars",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("image", sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_avatars")),
    )


def downgrade():
    op.drop_table("user_avatars")
