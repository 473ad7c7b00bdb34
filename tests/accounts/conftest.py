"""Fixtures for the accounts tests: an app whose mail goes to the capturing SMTP server (the
root conftest's `accounts` walks its API the way the website does), and a signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.helpers import AccountActions
from tests.openml_db import LEGACY, ensure_legacy_accounts


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any]) -> Flask:
    """A testing app on a clean database whose mail goes to the capturing SMTP server."""
    return make_app(**smtp_settings)


@pytest.fixture
def legacy(app: Flask) -> dict[str, tuple]:
    """The accounts OpenML's other systems left in `users` (tests/openml_db.LEGACY), present in
    `app`'s database whatever the backend."""
    ensure_legacy_accounts(app.config["SQLALCHEMY_DATABASE_URI"])
    return LEGACY


@dataclass(frozen=True)
class SignedIn:
    """A confirmed account and the token pair of one login."""

    email: str
    access_token: str
    refresh_token: str


@pytest.fixture
def signed_in(accounts: AccountActions) -> SignedIn:
    """Ada's account, signed up, confirmed and logged in once."""
    email = "ada@example.org"
    accounts.confirmed_user(email)
    pair = accounts.login(email)
    return SignedIn(email, pair["access_token"], pair["refresh_token"])
