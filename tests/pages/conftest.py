"""Fixtures of the dataset page tests: apps talking to the stand-in OpenML, and one real
gunicorn serving the page for the browser tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import migrate_to_head
from tests.standin_openml import StandinOpenML
from tests.support.gunicorn import RunningGunicorn, running_gunicorn

TIMEOUT = 30.0  # generous: a busy machine must not turn a healthy fetch into a 503


@pytest.fixture
def page_app(make_app: Callable[..., Flask], standin_openml: StandinOpenML) -> Callable[..., Flask]:
    """Build apps (on each database backend) that read datasets from the stand-in OpenML."""

    def build(env: dict[str, str] | None = None, **overrides) -> Flask:
        settings = {"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": str(TIMEOUT), **(env or {})}
        return make_app(env=settings, **overrides)

    return build


@pytest.fixture(scope="module")
def page_server(standin_openml_server: StandinOpenML, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RunningGunicorn]:
    """A real gunicorn (2 sync workers, a migrated SQLite file) reading the stand-in OpenML."""
    scratch: Path = tmp_path_factory.mktemp("page-server")
    database_uri = f"sqlite:///{scratch / 'pages.db'}"
    migrate_to_head(database_uri, scratch)
    env = {"OPENML_SERVER_URL": standin_openml_server.api_url, "OPENML_TIMEOUT": str(TIMEOUT)}
    with running_gunicorn(database_uri, scratch / "gunicorn", workers=2, env=env) as server:
        yield server
