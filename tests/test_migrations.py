"""Migrations: `flask db upgrade` builds the schema from empty on SQLite and MariaDB, and the
models match what the migrations build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from tests.paths import MIGRATIONS_DIR, REPO_ROOT


def flask_db_upgrade(database_uri: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENVIRONMENT": "testing",
           "DATABASE_URI": database_uri, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "autoapp", "db", "upgrade"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def assert_schema_matches_models(database_uri: str, data_dir: Path) -> None:
    from openml_backend import create_app
    from openml_backend.config import TestingConfig
    from openml_backend.extensions import db

    app = create_app(TestingConfig(environ={"DATABASE_URI": database_uri, "DATA_DIR": str(data_dir)}))
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
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
