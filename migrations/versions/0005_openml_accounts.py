"""Accounts on OpenML's own tables: `users`, `users_groups` and `groups` in OpenML's shape, and
the service's own state in `account_states`.

Three kinds of database reach this revision:
- OpenML's application database, which already has `users`, `users_groups` and `groups`:
  nothing of OpenML's is created, altered or dropped;
- an empty database (development SQLite, tests, a fresh MariaDB), where 0003 made this
  service's earlier `users` table, still empty: OpenML's three tables replace it;
- an earlier deployment of this service, whose `users` holds accounts: every account moves
  to OpenML's layout with its id, address, username, hash, API key, confirmation and token
  generation; names longer than OpenML's 50 characters are cut.

Revision ID: 0005_openml_accounts
Revises: 0004_stats_freshness
Create Date: 2026-12-01
"""

import logging
import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005_openml_accounts"
down_revision = "0004_stats_freshness"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

OPENML_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "latin1"}
EARLIER_USERS = "users_before_openml_layout"
MEMBERS_GROUP = 2
NAME_LENGTH = 50


def _unsigned(mysql_type, **arguments):
    return sa.Integer().with_variant(mysql_type(unsigned=True, **arguments), "mysql", "mariadb")


def _id():
    return _unsigned(mysql.MEDIUMINT, display_width=8)


def _epoch():
    return _unsigned(mysql.INTEGER, display_width=11)


def _flag():
    return sa.Integer().with_variant(mysql.TINYINT(1, unsigned=True), "mysql", "mariadb")


def upgrade():
    bind = op.get_bind()
    tables = set(sa.inspect(bind).get_table_names())
    earlier = "users" in tables and _has_earlier_layout(bind)
    if earlier:
        _drop_email_tokens_foreign_key(bind)
        op.rename_table("users", EARLIER_USERS)
    if "groups" not in tables:
        _create_groups()
    if "users" not in tables or earlier:
        _create_users()
    if "users_groups" not in tables:
        _create_users_groups()
    _create_account_states()
    if earlier:
        _move_accounts(bind)
        op.drop_table(EARLIER_USERS)


def downgrade():
    raise NotImplementedError("Accounts now live in OpenML's users table; restore a backup to go back.")


def _has_earlier_layout(bind) -> bool:
    columns = {column["name"] for column in sa.inspect(bind).get_columns("users")}
    return {"api_key", "password_hash", "token_generation"} <= columns


def _drop_email_tokens_foreign_key(bind) -> None:
    for key in sa.inspect(bind).get_foreign_keys("email_tokens"):
        if key["referred_table"] == "users" and key.get("name"):
            with op.batch_alter_table("email_tokens") as batch_op:
                batch_op.drop_constraint(key["name"], type_="foreignkey")


def _create_groups():
    groups = op.create_table(
        "groups",
        sa.Column("id", _id(), nullable=False, autoincrement=True),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        **OPENML_OPTIONS,
    )
    op.bulk_insert(groups, [
        {"id": 1, "name": "admin", "description": "Administrator"},
        {"id": 2, "name": "members", "description": "General User"},
        {"id": 3, "name": "readonly", "description": "Readonly Users"},
    ])


def _create_users():
    op.create_table(
        "users",
        sa.Column("id", _id(), nullable=False, autoincrement=True),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("activation_selector", sa.String(length=255), nullable=True),
        sa.Column("activation_code", sa.String(length=255), nullable=True),
        sa.Column("forgotten_password_selector", sa.String(length=255), nullable=True),
        sa.Column("forgotten_password_code", sa.String(length=255), nullable=True),
        sa.Column("forgotten_password_time", _epoch(), nullable=True),
        sa.Column("remember_selector", sa.String(length=255), nullable=True),
        sa.Column("remember_code", sa.String(length=255), nullable=True),
        sa.Column("created_on", _epoch(), nullable=False),
        sa.Column("last_login", _epoch(), nullable=True),
        sa.Column("active", _flag(), nullable=True),
        sa.Column("first_name", sa.String(length=50), nullable=True),
        sa.Column("last_name", sa.String(length=50), nullable=True),
        sa.Column("company", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=50), nullable=False),
        sa.Column("image", sa.String(length=128), nullable=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("core", sa.Enum("true", "false", name="core", create_constraint=False), nullable=False,
                  server_default="false"),
        sa.Column("external_source", sa.String(length=50), nullable=True),
        sa.Column("external_id", sa.String(length=50), nullable=True),
        sa.Column("session_hash", sa.String(length=40), nullable=True),
        sa.Column("session_hash_date", mysql.TIMESTAMP().with_variant(sa.DateTime(), "sqlite"), nullable=True,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("gamification_visibility", sa.String(length=32), nullable=False, server_default="show"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", "email", name="username"),
        sa.UniqueConstraint("session_hash", name="session_hash"),
        sa.UniqueConstraint("activation_selector", name="activation_selector"),
        sa.UniqueConstraint("forgotten_password_selector", name="forgotten_password_selector"),
        sa.UniqueConstraint("remember_selector", name="remember_selector"),
        **OPENML_OPTIONS,
    )


def _create_users_groups():
    op.create_table(
        "users_groups",
        sa.Column("id", _id(), nullable=False, autoincrement=True),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("group_id", _id(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users_groups")),
        **OPENML_OPTIONS,
    )


def _create_account_states():
    op.create_table(
        "account_states",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_account_states")),
    )


def _move_accounts(bind) -> None:
    """Copy every account of the earlier layout into OpenML's, keeping its id (emailed tokens
    and revocations refer to it)."""
    earlier = sa.table(EARLIER_USERS, *(sa.column(name) for name in (
        "id", "email", "username", "password_hash", "first_name", "last_name", "bio", "active", "api_key",
        "token_generation", "created_at", "updated_at", "confirmed_at")))
    rows = bind.execute(sa.select(earlier).order_by(earlier.c.id)).mappings().all()
    taken = {row["username"].lower() for row in rows if row["username"]}
    users, states, members = [], [], []
    for row in rows:
        created = _as_datetime(row["created_at"])
        users.append({
            "id": row["id"], "ip_address": "", "username": row["username"] or _free_username(row["email"], taken),
            "password": row["password_hash"], "email": row["email"],
            "created_on": int(created.replace(tzinfo=UTC).timestamp()), "active": 1 if row["active"] else 0,
            "first_name": _cut(row["first_name"], row["id"]), "last_name": _cut(row["last_name"], row["id"]),
            "company": "", "country": "", "bio": row["bio"] or "", "core": "false",
            "session_hash": row["api_key"], "session_hash_date": created, "gamification_visibility": "show",
        })
        states.append({"user_id": row["id"], "token_generation": row["token_generation"] or 0,
                       "confirmed_at": row["confirmed_at"] and _as_datetime(row["confirmed_at"]),
                       "updated_at": _as_datetime(row["updated_at"])})
        if row["active"]:
            members.append({"user_id": row["id"], "group_id": MEMBERS_GROUP})
    tables = {name: sa.Table(name, sa.MetaData(), autoload_with=bind)
              for name in ("users", "account_states", "users_groups")}
    for name, values in (("users", users), ("account_states", states), ("users_groups", members)):
        if values:
            bind.execute(tables[name].insert(), values)
    log.info("moved %d accounts to OpenML's users table", len(users))


def _as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))  # SQLite hands back text when reflected loosely


def _cut(name, user_id):
    if name and len(name) > NAME_LENGTH:
        log.warning("account %s: a name longer than %d characters was cut", user_id, NAME_LENGTH)
        return name[:NAME_LENGTH]
    return name


def _free_username(email: str, taken: set[str]) -> str:
    # The rule of accounts.identifiers, restated: a migration must not change with the app.
    base = re.sub(r"[^A-Za-z0-9_.-]", "", email.split("@", 1)[0])[:30]
    base = base if len(base) >= 3 else (base + "user")[:30]
    candidate, number = base, 1
    while candidate.lower() in taken:
        number += 1
        candidate = base[: 30 - len(str(number))] + str(number)
    taken.add(candidate.lower())
    return candidate
