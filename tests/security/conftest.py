"""Fixtures for the security tests: an app whose mail goes to the capturing SMTP server, and
the accounts API walked the way the website does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import AccountActions
from tests.servers import Mailbox


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any]) -> Flask:
    """A testing app on a clean database whose mail goes to the capturing SMTP server."""
    return make_app(**smtp_settings)


@pytest.fixture
def accounts(client: FlaskClient, mailbox: Mailbox) -> AccountActions:
    """The accounts API of `app`, one method per user action."""
    return AccountActions(client, mailbox)
