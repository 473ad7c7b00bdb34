"""The base revision: the service core owns no tables; features add theirs after it.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-26
"""

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
