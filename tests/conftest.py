"""Fixtures for the whole suite: `app`, `client` and `db` on a real SQLite file and a real
MariaDB; the stand-in OpenML; a capturing SMTP server; starters for subprocess servers.

Every test that uses `app` runs once per database backend (`--backend sqlite`, `mariadb` or
`openml` picks some; all by default). The schema comes from the Alembic migrations (upgraded
once per backend per run); each test starts from empty tables. The `openml` backend is a
MariaDB laid out by OpenML's schema.sql (latin1) holding OpenML's legacy accounts before the
migrations run; only the account and passkey tests (tests/accounts, tests/passkeys) run on it, and there each test
starts with those legacy accounts in place.

Tests that start a subprocess server (through `start_gunicorn` or `spawn`) are marked `slow`
automatically, so `-m "not slow"` runs without any.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from openml_backend import create_app
from openml_backend.config import TestingConfig
from tests.helpers import AccountActions, fresh_mariadb_database
from tests.openml_db import OPENML_LAYOUT_URIS, add_legacy_accounts, lay_out_as_openml
from tests.servers import Gunicorn, Mailbox, SmtpServer, gunicorn, smtp_server, standin_openml_server, stop_process
from tests.standin_openml import StandinOpenML

DATABASE_BACKENDS = ("sqlite", "mariadb", "openml")
# Test folders whose `app` tests also run on a database laid out as OpenML's.
OPENML_LAYOUT_FOLDERS = ("accounts", "avatars", "passkeys")
# Fixtures that start a process serving on a port: tests using them are `slow`.
SUBPROCESS_SERVER_FIXTURES = {"start_gunicorn", "spawn"}
# Fixtures that need MariaDB: deselected by `--backend sqlite`.
MARIADB_FIXTURES = {"mariadb_database"}


# --- options and automatic markers ---------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", action="append", choices=DATABASE_BACKENDS, dest="backends",
                     help="database backend(s) for the app tests (repeatable; default: all)")


def selected_backends(config: pytest.Config) -> tuple[str, ...]:
    return tuple(config.getoption("backends") or DATABASE_BACKENDS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_uri" in metafunc.fixturenames:
        backends = selected_backends(metafunc.config)
        if Path(str(metafunc.definition.path)).parent.name not in OPENML_LAYOUT_FOLDERS:
            backends = tuple(backend for backend in backends if backend != "openml")
        if backends:
            metafunc.parametrize("database_uri", backends, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    without_mariadb = not {"mariadb", "openml"} & set(selected_backends(config))
    kept, deselected = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & SUBPROCESS_SERVER_FIXTURES:
            item.add_marker(pytest.mark.slow)
        if without_mariadb and (names & MARIADB_FIXTURES or item.get_closest_marker("mariadb")):
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


# --- databases and apps --------------------------------------------------------------------


def migrate_to_head(database_uri: str, data_dir: Path) -> None:
    """Apply every migration to `database_uri`."""
    from flask_migrate import upgrade

    app = create_app(TestingConfig(environ={"DATABASE_URI": database_uri, "DATA_DIR": str(data_dir)}))
    with app.app_context():
        upgrade()


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    """A fresh, empty MariaDB database (dropped afterwards): its SQLAlchemy URI (pymysql).

    MariaDB unreachable: fails under CI=true, skips (saying why) elsewhere.
    """
    with fresh_mariadb_database() as uri:
        yield uri


@pytest.fixture(scope="session")
def database_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of the backend `request.param`: a SQLite file or a fresh MariaDB database."""
    scratch = tmp_path_factory.mktemp(f"db-{request.param}")
    if request.param == "sqlite":
        uri = f"sqlite:///{scratch / 'test.db'}"
        migrate_to_head(uri, scratch)
        yield uri
        return
    with fresh_mariadb_database() as uri:
        if request.param == "openml":
            lay_out_as_openml(uri)
            OPENML_LAYOUT_URIS.add(uri)
        migrate_to_head(uri, scratch)
        yield uri


# Reference rows the migrations (or OpenML) put in place; tests never change them.
REFERENCE_TABLES = {"groups"}


def empty_all_tables(app: Flask) -> None:
    """Delete every row, children before parents, so each test starts clean (OpenML's layout
    starts with its legacy accounts again)."""
    from openml_backend.extensions import db

    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    connection.execute(table.delete())
        db.engine.dispose()
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri in OPENML_LAYOUT_URIS:
        add_legacy_accounts(uri)


def release_app(app: Flask) -> None:
    """Let the emails `app` queued go out, then close its database connections."""
    from openml_backend.accounts import emails
    from openml_backend.extensions import db

    emails.wait_for_pending(10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(database_uri: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build testing apps on the current backend (the first one empties every table); each is
    released (queued emails sent, connections closed) after the test.

    `env` adds environment variables (as the deployment would set them); keyword arguments
    override config attributes after they are read.
    """
    built: list[Flask] = []

    def build(env: dict[str, str] | None = None, **overrides: Any) -> Flask:
        environ = {"DATABASE_URI": database_uri, "DATA_DIR": str(tmp_path / "data"), **(env or {})}
        app = create_app(TestingConfig(environ=environ, **overrides))
        if not built:  # later apps of one test share its database, like workers of one service
            empty_all_tables(app)
        built.append(app)
        return app

    yield build
    for app in built:
        release_app(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """A testing app on a clean database (each backend in turn)."""
    return make_app()


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


# --- servers in this process ---------------------------------------------------------------


@pytest.fixture(scope="session")
def standin_openml_session() -> Iterator[StandinOpenML]:
    """One stand-in OpenML for the session (building its datasets takes about a second)."""
    with standin_openml_server() as server:
        yield server


@pytest.fixture
def standin_openml(standin_openml_session: StandinOpenML) -> Iterator[StandinOpenML]:
    """The session's stand-in OpenML, with the faults a test sets removed afterwards."""
    standin_openml_session.clear_faults()
    yield standin_openml_session
    standin_openml_session.clear_faults()


@pytest.fixture
def openml() -> Iterator[StandinOpenML]:
    """A stand-in OpenML for this test alone (its faults and request log are its own)."""
    with standin_openml_server() as server:
        yield server


@pytest.fixture(scope="session")
def smtp_session() -> Iterator[SmtpServer]:
    """One capturing SMTP server (aiosmtpd) for the session."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def smtp(smtp_session: SmtpServer) -> SmtpServer:
    """The session's SMTP server, its mailbox emptied for this test."""
    smtp_session.mailbox.clear()
    return smtp_session


@pytest.fixture
def mailbox(smtp: SmtpServer) -> Mailbox:
    """The mail captured during this test."""
    return smtp.mailbox


@pytest.fixture
def smtp_settings(smtp: SmtpServer) -> dict[str, Any]:
    """App config overrides that send mail to the capturing SMTP server."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "SMTP_TIMEOUT": 2.0,
            "EMAIL_SERVER": "https://www.openml.test", "FEEDBACK_EMAIL": "feedback@openml.test"}


@pytest.fixture
def accounts(client: FlaskClient, mailbox: Mailbox) -> AccountActions:
    """The accounts API of `app`, one method per user action (folders whose mail must be
    captured override `app` with the `smtp_settings`)."""
    return AccountActions(client, mailbox)


# --- subprocess servers (these make a test `slow`) -----------------------------------------


@pytest.fixture
def start_gunicorn() -> Iterator[Callable[..., Gunicorn]]:
    """Start docker/entrypoint.sh serving gunicorn: `start_gunicorn(env, log_path, **kwargs)`
    takes the arguments of `tests.servers.gunicorn` and returns the running server once it
    answers; every server started is stopped after the test (or by `server.stop()`)."""
    with contextlib.ExitStack() as stack:
        yield lambda env, log_path, **kwargs: stack.enter_context(gunicorn(env, log_path, **kwargs))


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a long-running command: `spawn(argv, **popen_kwargs)` (own process group);
    every process started is stopped after the test (`stop_process`)."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **kwargs: Any) -> subprocess.Popen:
        process = subprocess.Popen(argv, start_new_session=True, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process(process, seconds=15)
