"""OpenML's application database as the tests lay it out: the account tables of schema.sql
(latin1, production's shape) and the accounts OpenML's other systems left there
(legacy_users.sql: argon2i, bcrypt `$2y$`, MD5, unconfirmed, an admin, latin1 names)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine

from tests.paths import LEGACY_USERS, OPENML_SCHEMA

# The legacy accounts of legacy_users.sql: username -> (id, email, password, active, key).
LEGACY = {
    "ada": (1, "Ada.Lovelace@example.org", "ada's argon2i password", True, "1" * 32),
    "phpera": (2, "php.era@example.org", "a PHP-era bcrypt password", True, "2" * 32),
    "md5user": (3, "md5@example.org", "an md5 password", True, "3" * 32),
    "pending": (4, "pending@example.org", "a pending argon2i password", False, None),
    "openml_admin": (5, "admin@example.org", "the admin's argon2i password", True, "5" * 32),
    "zoe": (6, "zoe@example.org", "zoe's argon2i password", True, "6" * 32),
}


# The databases laid out as OpenML's in this run (the `openml` backend): they hold the legacy
# accounts from the start, and emptying them between tests puts those back.
OPENML_LAYOUT_URIS: set[str] = set()


def statements(path: Path) -> list[str]:
    """The SQL statements of `path`, without comments."""
    without_comments = re.sub(r"^\s*--.*$", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]


def run_sql_file(database_uri: str, path: Path) -> None:
    """Execute every statement of `path` on `database_uri` in one transaction."""
    engine = create_engine(database_uri)
    try:
        with engine.begin() as connection:
            for statement in statements(path):
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def lay_out_as_openml(database_uri: str) -> None:
    """Create OpenML's account tables (schema.sql) and its legacy accounts in an empty MariaDB."""
    run_sql_file(database_uri, OPENML_SCHEMA)
    add_legacy_accounts(database_uri)


def add_legacy_accounts(database_uri: str) -> None:
    """Insert the accounts of legacy_users.sql (any backend whose tables are migrated)."""
    run_sql_file(database_uri, LEGACY_USERS)


def ensure_legacy_accounts(database_uri: str) -> None:
    """Make the legacy accounts present on any backend (the `openml` one has them already)."""
    if database_uri not in OPENML_LAYOUT_URIS:
        add_legacy_accounts(database_uri)
