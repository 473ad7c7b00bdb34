"""Passkeys: the service's own tables `user_passkeys` (registered WebAuthn credentials) and
`passkey_challenges` (outstanding single-use challenges), keyed by `users.id` without a
foreign key, so OpenML's tables are left as they are on every kind of database.

The credential id is ASCII on MariaDB: its unique index then fits InnoDB's key limit
whatever the database's default character set (OpenML's is latin1, a fresh one utf8mb4).

Revision ID: 0007_user_passkeys
Revises: 0006_user_avatars
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007_user_passkeys"
down_revision = "0006_user_avatars"
branch_labels = None
depends_on = None

CREDENTIAL_ID_LENGTH = 1364  # 1023 bytes (WebAuthn's limit) as base64url


def upgrade():
    op.create_table(
        "user_passkeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=CREDENTIAL_ID_LENGTH).with_variant(
            mysql.VARCHAR(CREDENTIAL_ID_LENGTH, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"),
            nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_user_passkeys_credential_id")),
    )
    op.create_index(op.f("ix_user_passkeys_user_id"), "user_passkeys", ["user_id"], unique=False)
    op.create_table(
        "passkey_challenges",
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("challenge_hash", name=op.f("pk_passkey_challenges")),
    )
    op.create_index(op.f("ix_passkey_challenges_expires_at"), "passkey_challenges", ["expires_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_passkey_challenges_expires_at"), table_name="passkey_challenges")
    op.drop_table("passkey_challenges")
    op.drop_index(op.f("ix_user_passkeys_user_id"), table_name="user_passkeys")
    op.drop_table("user_passkeys")
