"""Fixtures for the upload endpoint: an app talking to a stand-in OpenML of this module, whose
upload directory the tests inspect, and a confirmed user whose API key the stand-in knows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from openml_backend.accounts.models import User
from openml_backend.extensions import db
from tests.helpers import AccountActions
from tests.standin_openml import StandinOpenML

OPENML_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def standin_server() -> Iterator[StandinOpenML]:
    with StandinOpenML() as server:
        yield server


@pytest.fixture
def standin(standin_server: StandinOpenML) -> Iterator[StandinOpenML]:
    """The module's stand-in OpenML with no users, records or faults from other tests."""
    standin_server.reset_writes()
    yield standin_server
    standin_server.reset_writes()


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app_with(make_app: Callable[..., Flask], smtp_settings: dict[str, Any], standin: StandinOpenML,
             upload_dir: Path) -> Callable[..., Flask]:
    """Build the app against the stand-in, uploads under `upload_dir`; keywords override settings."""

    def build(**overrides: Any) -> Flask:
        settings = {"OPENML_SERVER_URL": standin.api_url, "OPENML_TIMEOUT": OPENML_TIMEOUT,
                    "UPLOAD_TMP_DIR": str(upload_dir), **smtp_settings, **overrides}
        return make_app(**settings)

    return build


@pytest.fixture
def app(app_with: Callable[..., Flask]) -> Flask:
    return app_with()


@dataclass(frozen=True)
class Uploader:
    """A confirmed, logged-in user that OpenML (the stand-in) knows by their API key."""

    user_id: int
    api_key: str
    access_token: str


def sign_in(app: Flask, accounts: AccountActions, standin: StandinOpenML, email: str) -> Uploader:
    accounts.confirmed_user(email)
    tokens = accounts.login(email)
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        user_id, api_key = user.id, user.api_key
    standin.writes.add_user(api_key, user_id)
    return Uploader(user_id, api_key, tokens["access_token"])


@pytest.fixture
def uploader(app: Flask, accounts: AccountActions, standin: StandinOpenML) -> Uploader:
    return sign_in(app, accounts, standin, "uploader@openml.test")
