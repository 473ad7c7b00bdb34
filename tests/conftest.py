"""Fixtures for the whole suite: `app`, `client` and `db` on a real SQLite file and a real MariaDB.

Every test that uses `app` runs twice, once per database backend. The schema comes from the
Alembic migrations (upgraded once per backend per run); each test starts from empty tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from openml_backend import create_app
from openml_backend.config import TestingConfig
from tests.fixtures_path import openml_fixtures_dir
from tests.support.services import fresh_mariadb_database

pytest_plugins = ["tests.plugins.standin"]

DATABASE_BACKENDS = ("sqlite", "mariadb")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real OpenML fixtures (../shared/fixtures/openml or $OPENML_FIXTURES_DIR)."""
    return openml_fixtures_dir()


def migrate_to_head(database_uri: str, data_dir: Path) -> None:
    """Apply every migration to `database_uri`."""
    from flask_migrate import upgrade

    app = create_app(TestingConfig(environ={"DATABASE_URI": database_uri, "DATA_DIR": str(data_dir)}))
    with app.app_context():
        upgrade()


@pytest.fixture(scope="session", params=DATABASE_BACKENDS)
def database_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of each backend: a SQLite file, then a fresh MariaDB database."""
    scratch = tmp_path_factory.mktemp(f"db-{request.param}")
    if request.param == "sqlite":
        uri = f"sqlite:///{scratch / 'test.db'}"
        migrate_to_head(uri, scratch)
        yield uri
        return
    with fresh_mariadb_database() as uri:
        migrate_to_head(uri, scratch)
        yield uri


def empty_all_tables(app: Flask) -> None:
    """Delete every row, children before parents, so each test starts clean."""
    from openml_backend.extensions import db

    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def make_app(database_uri: str, tmp_path: Path) -> Callable[..., Flask]:
    """Build testing apps on the current backend (the first one empties every table).

    `env` adds environment variables (as the deployment would set them); keyword arguments
    override config attributes after they are read.
    """

    built: list[Flask] = []

    def build(env: dict[str, str] | None = None, **overrides: Any) -> Flask:
        data_dir = tmp_path / "data"
        environ = {"DATABASE_URI": database_uri, "DATA_DIR": str(data_dir), **(env or {})}
        app = create_app(TestingConfig(environ=environ, **overrides))
        if not built:  # later apps of one test share its database, like workers of one service
            empty_all_tables(app)
        built.append(app)
        return app

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """A testing app on a clean database (each backend in turn)."""
    application = make_app()
    yield application
    from openml_backend.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """The SQLAlchemy handle inside an app context of `app`."""
    from openml_backend.extensions import db as database

    with app.app_context():
        yield database
