"""Fixtures for the contributions tests: a stand-in OpenML of this folder's own (its write
state is reset for each test), an app that talks to it with a small OPENML_TIMEOUT and mails
to the capturing SMTP server, and `contributors`: confirmed users whose API keys the stand-in
knows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.helpers import AccountActions
from tests.standin_openml import StandinOpenML

OPENML_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def openml_server() -> Iterator[StandinOpenML]:
    """One stand-in OpenML per test module (its datasets take about a second to build)."""
    with StandinOpenML() as server:
        yield server


@pytest.fixture
def standin(openml_server: StandinOpenML) -> Iterator[StandinOpenML]:
    """The module's stand-in with no users, owners, tasks, write records or faults."""
    openml_server.reset_writes()
    openml_server.clear_faults()
    yield openml_server
    openml_server.reset_writes()
    openml_server.clear_faults()


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any], standin: StandinOpenML) -> Flask:
    return make_app(env={"OPENML_SERVER_URL": standin.api_url, "OPENML_TIMEOUT": str(OPENML_TIMEOUT)},
                    **smtp_settings)


@dataclass(frozen=True)
class Contributor:
    """A confirmed, logged-in user whose API key the stand-in OpenML accepts."""

    email: str
    user_id: int
    api_key: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Contributors:
    """Makes `Contributor`s through the accounts API (signup, confirmation link, login)."""

    def __init__(self, accounts: AccountActions, standin: StandinOpenML) -> None:
        self.accounts, self.standin = accounts, standin
        self.count = 0

    def new(self, *, known_to_openml: bool = True) -> Contributor:
        self.count += 1
        email = f"contributor{self.count}@example.org"
        self.accounts.confirmed_user(email)
        token = self.accounts.login(email)["access_token"]
        user_id = self.accounts.me(token).json["id"]
        api_key = self.accounts.api_key(token)
        if known_to_openml:
            self.standin.writes.add_user(api_key, user_id)
        return Contributor(email, user_id, api_key, token)


@pytest.fixture
def contributors(accounts: AccountActions, standin: StandinOpenML) -> Contributors:
    return Contributors(accounts, standin)
