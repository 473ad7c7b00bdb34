"""Login with GitHub and Google: `oauth_identities` (a provider identity linked to an
account), `oauth_states` (logins under way at a provider) and `oauth_login_codes` (the
one-time codes that hand a finished login to the website). New tables only; OpenML's are
not touched, and `users.id` is referred to without a foreign key, like the accounts' tables.

Revision ID: 0008_oauth_identities
Revises: 0007_user_passkeys
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_oauth_identities"
down_revision = "0007_user_passkeys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("external_source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_identities")),
        sa.UniqueConstraint("external_source", "external_id", name="uq_oauth_identities_source_id"),
        sa.UniqueConstraint("user_id", "external_source", name="uq_oauth_identities_user_source"),
    )
    with op.batch_alter_table("oauth_identities") as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_identities_user_id"), ["user_id"], unique=False)
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("return_to", sa.String(length=2000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oauth_states")),
    )
    with op.batch_alter_table("oauth_states") as batch_op:
        batch_op.create_index("ix_oauth_states_expires_at", ["expires_at"], unique=False)
    op.create_table(
        "oauth_login_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_oauth_login_codes")),
    )
    with op.batch_alter_table("oauth_login_codes") as batch_op:
        batch_op.create_index("ix_oauth_login_codes_expires_at", ["expires_at"], unique=False)


def downgrade():
    op.drop_table("oauth_login_codes")
    op.drop_table("oauth_states")
    op.drop_table("oauth_identities")
