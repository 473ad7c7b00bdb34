"""Fixtures for the accounts tests: a real SMTP server capturing mail, an app wired to it, and
helpers that walk the public HTTP API the way the website does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from openml_backend.accounts import emails
from tests.support.smtp import Mailbox, running_smtp_server, token_from

PASSWORD = "correct horse battery staple"
API = "/api/v1"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def mailbox(smtp_server: tuple[int, Mailbox]) -> Mailbox:
    """The captured mail, emptied for this test."""
    smtp_server[1].clear()
    return smtp_server[1]


@pytest.fixture
def smtp_settings(smtp_server: tuple[int, Mailbox]) -> dict[str, Any]:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server[0], "SMTP_TIMEOUT": 2.0,
            "EMAIL_SERVER": "https://www.openml.test", "FEEDBACK_EMAIL": "feedback@openml.test"}


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any], mailbox: Mailbox) -> Iterator[Flask]:
    """A testing app on a clean database whose mail goes to the capturing SMTP server."""
    application = make_app(**smtp_settings)
    yield application
    emails.wait_for_pending(10)
    from openml_backend.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Accounts:
    """Drives the accounts API through the test client, like the website would."""

    client: FlaskClient
    mailbox: Mailbox

    def post(self, path: str, body: Any = None, token: str | None = None):
        return self.client.post(API + path, json=body, headers=bearer(token) if token else {})

    def signup(self, email: str, password: str = PASSWORD, **names: str):
        body = {"email": email, "password": password, "first_name": names.get("first_name", "Ada"),
                "last_name": names.get("last_name", "Lovelace")}
        return self.post("/auth/signup", body)

    def last_token(self, email: str, count: int = 1) -> str:
        """The token in the newest of at least `count` emails to `email`."""
        emails.wait_for_pending(10)
        return token_from(self.mailbox.wait_for(email, count)[-1])

    def confirmed_user(self, email: str, password: str = PASSWORD) -> None:
        assert self.signup(email, password).status_code == 202
        assert self.post("/auth/confirm", {"token": self.last_token(email)}).status_code == 200

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.post("/auth/login", {"email": email, "password": password})
        assert response.status_code == 200, response.json
        return response.json

    def me(self, access_token: str):
        return self.client.get(f"{API}/users/me", headers=bearer(access_token))


@pytest.fixture
def accounts(client: FlaskClient, mailbox: Mailbox) -> Accounts:
    return Accounts(client, mailbox)
