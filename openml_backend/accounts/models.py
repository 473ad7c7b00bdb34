"""Tables of the accounts feature.

Accounts are rows of OpenML's own `users` table, which OpenML's REST API and website share:
`OPENML_TABLES` (users, users_groups, groups) are declared here in OpenML's production shape
and never altered by this service. What only this service needs (token generations,
emailed tokens, revoked JWTs, throttle counters) lives in tables of its own, keyed by
`users.id` without foreign keys, so OpenML's tools can still manage their rows.

Times of the service's own tables are naive UTC (`utcnow()`), which compares the same on
SQLite and MariaDB; OpenML's columns `created_on` and `last_login` are epoch seconds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db

EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit, and OpenML's users.email
# The tables OpenML owns: created in its shape on an empty database, never altered or dropped.
OPENML_TABLES = ("groups", "users", "users_groups")
MEMBERS_GROUP = 2  # "members": OpenML's REST API requires it (or admin, 1) for uploads
# The options OpenML's production tables have; SQLite ignores them.
OPENML_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "latin1"}


def _unsigned(mysql_type: type, **arguments) -> Integer:
    # INTEGER on SQLite (so an INTEGER PRIMARY KEY autoincrements), OpenML's unsigned types on MariaDB.
    return Integer().with_variant(mysql_type(unsigned=True, **arguments), "mysql", "mariadb")


class Flag(TypeDecorator):
    """OpenML's `tinyint(1) unsigned` flags as bool; NULL reads as False."""

    impl = Integer
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.TINYINT(1, unsigned=True))
        return dialect.type_descriptor(Integer())

    def process_bind_param(self, value, dialect):
        return None if value is None else int(bool(value))

    def process_result_value(self, value, dialect):
        return bool(value)


class Group(db.Model):
    """OpenML's user groups: 1 admin, 2 members, 3 readonly."""

    __tablename__ = "groups"
    __table_args__ = (OPENML_TABLE_OPTIONS,)

    id: Mapped[int] = mapped_column(_unsigned(mysql.MEDIUMINT, display_width=8), primary_key=True)
    name: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str] = mapped_column(String(100), nullable=False)


class User(db.Model):
    """An account: one row of OpenML's `users` table.

    Attribute names are this service's; the column names are OpenML's (`password`,
    `session_hash`, ...). Legacy columns are declared so the table can be created in OpenML's
    shape, and left as OpenML's other systems wrote them. OpenML does not make `email` unique
    (only `(username, email)`), so this service looks addresses up case-insensitively and
    refuses a second account for one address itself.
    """

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username", "email", name="username"),
        UniqueConstraint("session_hash", name="session_hash"),
        UniqueConstraint("activation_selector", name="activation_selector"),
        UniqueConstraint("forgotten_password_selector", name="forgotten_password_selector"),
        UniqueConstraint("remember_selector", name="remember_selector"),
        OPENML_TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(_unsigned(mysql.MEDIUMINT, display_width=8), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column("password", String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), nullable=False)
    activation_selector: Mapped[str | None] = mapped_column(String(255))
    activation_code: Mapped[str | None] = mapped_column(String(255))
    forgotten_password_selector: Mapped[str | None] = mapped_column(String(255))
    forgotten_password_code: Mapped[str | None] = mapped_column(String(255))
    forgotten_password_time: Mapped[int | None] = mapped_column(_unsigned(mysql.INTEGER, display_width=11))
    remember_selector: Mapped[str | None] = mapped_column(String(255))
    remember_code: Mapped[str | None] = mapped_column(String(255))
    created_on: Mapped[int] = mapped_column(_unsigned(mysql.INTEGER, display_width=11), nullable=False)
    last_login: Mapped[int | None] = mapped_column(_unsigned(mysql.INTEGER, display_width=11))
    active: Mapped[bool] = mapped_column(Flag, nullable=True, default=False)
    first_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50))
    company: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    image: Mapped[str | None] = mapped_column(String(128))
    bio: Mapped[str] = mapped_column(Text, nullable=False, default="")
    core: Mapped[str] = mapped_column(Enum("true", "false", name="core", native_enum=True, create_constraint=False),
                                      nullable=False, server_default="false")
    external_source: Mapped[str | None] = mapped_column(String(50))
    external_id: Mapped[str | None] = mapped_column(String(50))
    api_key: Mapped[str | None] = mapped_column("session_hash", String(40))
    api_key_date: Mapped[datetime | None] = mapped_column(
        "session_hash_date", mysql.TIMESTAMP().with_variant(DateTime(), "sqlite"), nullable=True,
        server_default=text("CURRENT_TIMESTAMP"))
    gamification_visibility: Mapped[str] = mapped_column(String(32), nullable=False, server_default="show")


class UserGroup(db.Model):
    """A membership of OpenML's `users_groups`."""

    __tablename__ = "users_groups"
    __table_args__ = (OPENML_TABLE_OPTIONS,)

    id: Mapped[int] = mapped_column(_unsigned(mysql.MEDIUMINT, display_width=8), primary_key=True)
    user_id: Mapped[int] = mapped_column(_unsigned(mysql.MEDIUMINT, display_width=8), nullable=False)
    group_id: Mapped[int] = mapped_column(_unsigned(mysql.MEDIUMINT, display_width=8), nullable=False)


class AccountState(db.Model):
    """What this service keeps about an account beyond OpenML's row. `token_generation` is
    bumped to revoke every token at once. Absent until the service first needs it (accounts
    made by OpenML's other systems have none; generation 0)."""

    __tablename__ = "account_states"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, default=utcnow)


class EmailToken(db.Model):
    """A single-use token sent by email; only its sha256 is stored. `purpose` is confirm,
    email_change or reset; `new_email` is the address an email_change token confirms."""

    __tablename__ = "email_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    new_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class RevokedToken(db.Model):
    """A JWT that may no longer be used: logged out, or a refresh token already rotated.
    Kept until the token would have expired anyway, then pruned."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, index=True)


class ThrottleCounter(db.Model):
    """How many attempts one key (an account digest or a client address) made in one fixed
    window of one scope. Shared by every worker and replica through the database."""

    __tablename__ = "throttle_counters"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False)

    __table_args__ = (Index("ix_throttle_counters_expires_at", "expires_at"),)


__all__ = ["AccountState", "EmailToken", "Group", "RevokedToken", "ThrottleCounter", "User", "UserGroup", "utcnow"]
