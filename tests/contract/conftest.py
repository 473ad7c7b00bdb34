"""Fixtures for the contract tests: an app wired to the stand-in OpenML server and a real SMTP
server, on each database backend, and a confirmed account whose tokens reach past the 401s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from openml_backend.accounts import emails
from tests.support.smtp import Mailbox, running_smtp_server, token_from

API = "/api/v1"
EMAIL = "contract.user@openml.test"
PASSWORD = "contract test password"
OPENML_TIMEOUT = "3"
# High enough that fuzzing reaches past the throttles (tests/accounts checks that they hold).
GENEROUS_LIMITS = {"LOGIN_MAX_PER_ADDRESS": 100_000, "LOGIN_MAX_PER_ACCOUNT": 100_000,
                   "EMAIL_MAX_PER_ADDRESS": 100_000, "FEEDBACK_MAX_PER_ADDRESS": 100_000,
                   "EMAIL_MAX_PER_ACCOUNT": 100_000, "EMAIL_MAX_PER_RECIPIENT": 100_000}


@pytest.fixture(scope="session")
def contract_smtp() -> Iterator[tuple[int, Mailbox]]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def contract_app(make_app: Callable[..., Flask], standin_openml, contract_smtp) -> Iterator[Flask]:
    """The service as deployed, talking to the stand-in OpenML and the capturing SMTP server."""
    port, mailbox = contract_smtp
    mailbox.clear()
    app = make_app(
        env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": OPENML_TIMEOUT},
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, SMTP_TIMEOUT=2.0, EMAIL_SERVER="https://www.openml.test",
        FEEDBACK_EMAIL="feedback@openml.test", **GENEROUS_LIMITS,
    )
    yield app
    emails.wait_for_pending(10)
    from openml_backend.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@dataclass
class Account:
    """A confirmed account of `app`, signed up and confirmed through the API."""

    app: Flask
    mailbox: Mailbox
    email: str = EMAIL

    def ensure_exists(self) -> None:
        """Sign up and confirm the account unless it exists (a fuzzed DELETE may remove it)."""
        from openml_backend.accounts.models import User
        from openml_backend.extensions import db

        with self.app.app_context():
            if db.session.query(User).filter_by(email=self.email).one_or_none() is not None:
                return
        client = self.app.test_client()
        sent = len(self.mailbox.to(self.email))
        body = {"email": self.email, "password": PASSWORD, "first_name": "Con", "last_name": "Tract"}
        assert client.post(f"{API}/auth/signup", json=body).status_code == 202
        emails.wait_for_pending(10)
        token = token_from(self.mailbox.wait_for(self.email, sent + 1)[-1])
        assert client.post(f"{API}/auth/confirm", json={"token": token}).status_code == 200

    def fresh_tokens(self) -> dict[str, Any]:
        """A new, valid token pair (fuzzed logouts and password changes revoke older ones).

        Issued by the service's own token code rather than by logging in, so the login
        throttle and password hashing do not slow the fuzzing down.
        """
        from openml_backend.accounts.models import User
        from openml_backend.accounts.tokens import issue_token_pair
        from openml_backend.extensions import db

        self.ensure_exists()
        with self.app.app_context():
            user = db.session.query(User).filter_by(email=self.email).one()
            return issue_token_pair(user)


@pytest.fixture
def account(contract_app: Flask, contract_smtp) -> Account:
    created = Account(contract_app, contract_smtp[1])
    created.ensure_exists()
    return created
