"""Migrations: `flask db upgrade` builds the schema from empty on SQLite and MariaDB, and the
models match what the migrations build. On OpenML's own database it adds only the service's
tables and leaves OpenML's byte for byte as they were; an earlier deployment's accounts move
into OpenML's layout without losing any."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from openml_backend.schema import include_in_autogenerate
from tests.openml_db import lay_out_as_openml, run_sql_file
from tests.paths import MIGRATIONS_DIR, OPENML_SCHEMA, REPO_ROOT


def flask_db_upgrade(database_uri: str, data_dir: Path, revision: str = "head") -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENVIRONMENT": "testing",
           "DATABASE_URI": database_uri, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "autoapp", "db", "upgrade", revision],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def assert_schema_matches_models(database_uri: str, data_dir: Path) -> None:
    from openml_backend import create_app
    from openml_backend.config import TestingConfig
    from openml_backend.extensions import db

    app = create_app(TestingConfig(environ={"DATABASE_URI": database_uri, "DATA_DIR": str(data_dir)}))
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                  "include_object": include_in_autogenerate})
            assert context.get_current_revision() == _head_revision()
            assert compare_metadata(context, db.metadata) == []
            tables = set(inspect(connection).get_table_names())
        engine.dispose()
    assert {table.name for table in db.metadata.sorted_tables} <= tables


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def test_upgrade_from_empty_on_sqlite(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = flask_db_upgrade(uri, tmp_path)
    assert result.returncode == 0, result.stderr
    assert_schema_matches_models(uri, tmp_path)
    again = flask_db_upgrade(uri, tmp_path)  # idempotent: a second release job changes nothing
    assert again.returncode == 0, again.stderr


def test_upgrade_from_empty_on_mariadb(mariadb_database: str, tmp_path: Path) -> None:
    result = flask_db_upgrade(mariadb_database, tmp_path)
    assert result.returncode == 0, result.stderr
    assert_schema_matches_models(mariadb_database, tmp_path)
    engine = create_engine(mariadb_database)
    with engine.connect() as connection:
        charset = connection.exec_driver_sql("SELECT @@character_set_database").scalar()
    engine.dispose()
    assert charset == "utf8mb4"


# --- OpenML's database ---------------------------------------------------------------------

OPENML_TABLES = ("groups", "users", "users_groups")
# A table of OpenML's that this service knows nothing of: autogenerate must not propose dropping it.
OPENML_DATASET_TABLE = ("CREATE TABLE `dataset` (`did` int(10) unsigned NOT NULL AUTO_INCREMENT, "
                        "`name` varchar(128) NOT NULL, PRIMARY KEY (`did`)) ENGINE=InnoDB DEFAULT CHARSET=latin1")


def show_create(database_uri: str, tables=OPENML_TABLES) -> dict[str, str]:
    """SHOW CREATE TABLE of `tables`, and a checksum of their rows."""
    engine = create_engine(database_uri)
    with engine.connect() as connection:
        shapes = {name: connection.exec_driver_sql(f"SHOW CREATE TABLE `{name}`").one()[1] for name in tables}
        rows = {name: connection.exec_driver_sql(f"CHECKSUM TABLE `{name}`").one()[1] for name in tables}
    engine.dispose()
    return {**shapes, **{f"{name} rows": str(checksum) for name, checksum in rows.items()}}


def test_upgrade_on_openml_database_leaves_its_tables_identical(mariadb_database: str, tmp_path: Path) -> None:
    lay_out_as_openml(mariadb_database)
    engine = create_engine(mariadb_database)
    with engine.begin() as connection:
        connection.exec_driver_sql(OPENML_DATASET_TABLE)
    engine.dispose()
    before = show_create(mariadb_database, OPENML_TABLES + ("dataset",))
    for _ in range(2):  # idempotent: a second release job changes nothing either
        result = flask_db_upgrade(mariadb_database, tmp_path)
        assert result.returncode == 0, result.stderr
        assert show_create(mariadb_database, OPENML_TABLES + ("dataset",)) == before
    assert "latin1" in before["users"]
    # The service's own tables are there, and autogenerate proposes nothing, no drop above all.
    assert_schema_matches_models(mariadb_database, tmp_path)


def test_fresh_mariadb_gets_openml_tables_in_openml_shape(mariadb_database: str, tmp_path: Path) -> None:
    result = flask_db_upgrade(mariadb_database, tmp_path)
    assert result.returncode == 0, result.stderr
    from tests.helpers import fresh_mariadb_database

    with fresh_mariadb_database() as reference:
        run_sql_file(reference, OPENML_SCHEMA)
        expected = show_create(reference)
    built = show_create(mariadb_database)
    for table in OPENML_TABLES:
        assert _without_counter(built[table]) == _without_counter(expected[table]), table
    assert built["groups rows"] == expected["groups rows"]  # 1 admin, 2 members, 3 readonly


def _without_counter(create_table: str) -> str:
    return re.sub(r" AUTO_INCREMENT=\d+", "", create_table)


# --- an earlier deployment of this service -------------------------------------------------

EARLIER_ACCOUNTS = [
    # id, email, username, hash, first name, active, api key, generation, confirmed
    (7, "ada@example.org", "ada_l", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "Ada", 1, "a" * 32, 4,
     "2026-11-27 10:00:00"),
    (9, "bob@example.org", None, "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$Ym9i", "B" * 60, 0, "b" * 32, 0, None),
    (12, "ada_l@other.example", None, "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$Y2Fyb2w", "Carol", 1, "c" * 32,
     1, "2026-11-28 10:00:00"),
]


def _earlier_deployment(database_uri: str, data_dir: Path) -> None:
    result = flask_db_upgrade(database_uri, data_dir, "0003_accounts")
    assert result.returncode == 0, result.stderr
    engine = create_engine(database_uri)
    with engine.begin() as connection:
        for user in EARLIER_ACCOUNTS:
            connection.execute(text(
                "INSERT INTO users (id, email, username, password_hash, first_name, last_name, bio, active, api_key,"
                " token_generation, created_at, updated_at, confirmed_at) VALUES (:id, :email, :username, :hash,"
                " :first, 'Last', 'bio', :active, :key, :generation, '2026-11-26 09:00:00', '2026-11-29 09:00:00',"
                " :confirmed)"), dict(zip(("id", "email", "username", "hash", "first", "active", "key", "generation",
                                           "confirmed"), user)))
        connection.execute(text(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES"
            " ('f00d', 9, 'confirm', '2026-11-26 09:00:00', '2099-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO revoked_tokens (jti, user_id, reason, expires_at) VALUES ('j1', 7, 'logout', '2099-01-01')"))
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_an_earlier_deployment_keeps_every_account(backend: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'earlier.db'}" if backend == "sqlite" else request.getfixturevalue(
        "mariadb_database")
    _earlier_deployment(uri, tmp_path)
    result = flask_db_upgrade(uri, tmp_path)
    assert result.returncode == 0, result.stderr
    assert_schema_matches_models(uri, tmp_path)
    engine = create_engine(uri)
    with engine.connect() as connection:
        users = {row.id: row for row in connection.execute(text("SELECT * FROM users ORDER BY id"))}
        states = dict(connection.execute(text("SELECT user_id, token_generation FROM account_states")).all())
        members = sorted(connection.execute(text("SELECT user_id, group_id FROM users_groups")).all())
        tokens = connection.execute(text("SELECT user_id, purpose FROM email_tokens")).all()
        revoked = connection.execute(text("SELECT jti, user_id FROM revoked_tokens")).all()
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert sorted(users) == [7, 9, 12]
    for user_id, email, _username, password_hash, first, active, key, generation, _confirmed in EARLIER_ACCOUNTS:
        moved = users[user_id]
        assert (moved.email, moved.password, moved.session_hash, moved.active) == (email, password_hash, key, active)
        assert moved.first_name == first[:50]  # OpenML's column holds 50 characters
        assert states[user_id] == generation
    # A username the earlier layout lacked is made from the address, unique whatever the case.
    assert users[7].username == "ada_l"
    assert users[9].username == "bob"
    assert users[12].username == "ada_l2"
    assert members == [(7, 2), (12, 2)]
    assert tokens == [(9, "confirm")] and revoked == [("j1", 7)]
    assert "users_before_openml_layout" not in tables
    assert {"groups", "users_groups", "account_states"} <= tables
