"""In production the browser cookie of a login is Secure (sent over HTTPS only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openml_backend import create_app
from openml_backend.config import ProductionConfig
from tests.conftest import migrate_to_head, release_app
from tests.oauth.conftest import API, provider_settings
from tests.oauth.standin_provider import StandinProvider


def test_the_browser_cookie_is_secure_in_production(mariadb_database: str, tmp_path: Path,
                                                    provider: StandinProvider) -> None:
    # Production refuses SQLite: this test runs on MariaDB only.
    database_uri = mariadb_database
    migrate_to_head(database_uri, tmp_path / "migrations")
    environ = {**provider_settings(provider), "ENVIRONMENT": "production", "DATABASE_URI": database_uri,
               "DATA_DIR": str(tmp_path), "APP_SECRET_KEY": "a-strong-app-secret-for-this-test-only-0123",
               "JWT_SECRET_KEY": "a-strong-jwt-secret-for-this-test-only-4567",
               "OAUTH_RETURN_ORIGINS": "https://www.openml.org"}
    app = create_app(ProductionConfig(environ=environ))
    try:
        started = app.test_client().get(f"{API}/auth/oauth/github/start",
                                        query_string={"return_to": "https://www.openml.org/auth/callback"})
        assert started.status_code == 302
        cookie = started.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        release_app(app)
