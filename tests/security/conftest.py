"""Fixtures for the security tests: an app whose mail goes to the capturing SMTP server (the
root conftest's `accounts` walks its API the way the website does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any]) -> Flask:
    """A testing app on a clean database whose mail goes to the capturing SMTP server."""
    return make_app(**smtp_settings)
