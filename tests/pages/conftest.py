"""Fixtures of the dataset page tests: apps talking to the stand-in OpenML, and one real
gunicorn serving the page for the browser tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.servers import Gunicorn, environment_for_testing, gunicorn, gunicorn_command_for_testing, migrate
from tests.standin_openml import StandinOpenML

TIMEOUT = 30.0  # generous: a busy machine must not turn a healthy fetch into a 503


@pytest.fixture
def page_app(make_app: Callable[..., Flask], standin_openml: StandinOpenML) -> Callable[..., Flask]:
    """Build apps (on each database backend) that read datasets from the stand-in OpenML."""

    def build(env: dict[str, str] | None = None, **overrides) -> Flask:
        settings = {"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": str(TIMEOUT), **(env or {})}
        return make_app(env=settings, **overrides)

    return build


@pytest.fixture(scope="module")
def page_server(standin_openml_session: StandinOpenML, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Gunicorn]:
    """A real gunicorn (2 workers, a migrated SQLite file) reading the stand-in OpenML."""
    scratch: Path = tmp_path_factory.mktemp("page-server")
    env = environment_for_testing(scratch, f"sqlite:///{scratch / 'pages.db'}",
                                  OPENML_SERVER_URL=standin_openml_session.api_url, OPENML_TIMEOUT=str(TIMEOUT))
    migrate(env)
    with gunicorn(env, scratch / "server.log", command=gunicorn_command_for_testing(2)) as server:
        yield server
