"""Fixtures for the contract tests: an app wired to the stand-in OpenML server and the
capturing SMTP server, on each database backend, and a confirmed account whose tokens reach
past the 401s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.helpers import StandingAccount
from tests.servers import Mailbox
from tests.standin_openml import StandinOpenML

OPENML_TIMEOUT = "3"
# High enough that fuzzing reaches past the throttles (tests/accounts checks that they hold).
GENEROUS_LIMITS = {"LOGIN_MAX_PER_ADDRESS": 100_000, "LOGIN_MAX_PER_ACCOUNT": 100_000,
                   "EMAIL_MAX_PER_ADDRESS": 100_000, "FEEDBACK_MAX_PER_ADDRESS": 100_000,
                   "EMAIL_MAX_PER_ACCOUNT": 100_000, "EMAIL_MAX_PER_RECIPIENT": 100_000,
                   "CONTRIBUTIONS_MAX_PER_HOUR": 100_000, "UPLOAD_MAX_PER_HOUR": 100_000}
# Both login providers configured, so their routes answer past the 404; requests with a valid
# state never happen while fuzzing, so the provider endpoints are never called.
OAUTH_PROVIDERS = {"GITHUB_CLIENT_ID": "contract-github-client", "GOOGLE_CLIENT_ID": "contract-google-client",
                   "OAUTH_RETURN_ORIGINS": "http://localhost:3000", "OAUTH_TIMEOUT": "1",
                   "GITHUB_TOKEN_URL": "http://127.0.0.1:9/token", "GOOGLE_TOKEN_URL": "http://127.0.0.1:9/token"}


@pytest.fixture
def contract_app(make_app: Callable[..., Flask], standin_openml: StandinOpenML,
                 smtp_settings: dict[str, Any]) -> Flask:
    """The service as deployed, talking to the stand-in OpenML and the capturing SMTP server."""
    return make_app(env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": OPENML_TIMEOUT,
                         **OAUTH_PROVIDERS},
                    **smtp_settings, **GENEROUS_LIMITS)


@pytest.fixture
def account(contract_app: Flask, mailbox: Mailbox) -> StandingAccount:
    """A confirmed account of `contract_app`."""
    created = StandingAccount(contract_app, mailbox, "contract.user@openml.test", "contract test password")
    created.ensure_exists()
    return created
