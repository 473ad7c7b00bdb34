"""Fixtures for the OAuth tests: the stand-in provider over HTTP, an app configured to use it
for GitHub and Google, and a browser that walks a login through both of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import AccountActions
from tests.oauth.standin_provider import CLIENT_SECRETS, GITHUB_CLIENT, GOOGLE_CLIENT, StandinProvider

API = "/api/v1"
WEBSITE = "http://localhost:3000"
RETURN_TO = f"{WEBSITE}/auth/callback?next=%2Fdatasets"


@pytest.fixture(scope="session")
def provider_session() -> Iterator[StandinProvider]:
    with StandinProvider() as server:
        yield server


@pytest.fixture
def provider(provider_session: StandinProvider) -> StandinProvider:
    """The stand-in provider with no grants, no fault, and its default user."""
    provider_session.reset()
    return provider_session


def provider_settings(provider: StandinProvider) -> dict[str, str]:
    """The environment that points both providers at the stand-in."""
    base = provider.base_url
    return {
        "GITHUB_CLIENT_ID": GITHUB_CLIENT, "GITHUB_CLIENT_SECRET": CLIENT_SECRETS[GITHUB_CLIENT],
        "GITHUB_AUTHORIZE_URL": f"{base}/authorize", "GITHUB_TOKEN_URL": f"{base}/token", "GITHUB_API_URL": base,
        "GOOGLE_CLIENT_ID": GOOGLE_CLIENT, "GOOGLE_CLIENT_SECRET": CLIENT_SECRETS[GOOGLE_CLIENT],
        "GOOGLE_AUTHORIZE_URL": f"{base}/authorize", "GOOGLE_TOKEN_URL": f"{base}/token",
        "GOOGLE_ISSUER": base, "GOOGLE_JWKS_URL": f"{base}/jwks",
        "OAUTH_RETURN_ORIGINS": WEBSITE, "URL_API": "http://api.openml.test", "OAUTH_TIMEOUT": "5",
    }


@pytest.fixture
def app(make_app: Callable[..., Flask], provider: StandinProvider, smtp_settings: dict[str, Any]) -> Flask:
    return make_app(env=provider_settings(provider), **smtp_settings)


@pytest.fixture
def browser(client: FlaskClient, provider: StandinProvider) -> Browser:
    return Browser(client)


class Browser:
    """One browser (one cookie jar) walking the login: our API through the Flask test client,
    the provider over HTTP; redirects followed by hand so each hop can be checked."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def start(self, provider: str, return_to: str = RETURN_TO):
        return self.client.get(f"{API}/auth/oauth/{provider}/start", query_string={"return_to": return_to})

    def authorize(self, provider: str, return_to: str = RETURN_TO) -> str:
        """Start and log in at the provider; the callback address the provider sent back."""
        started = self.start(provider, return_to)
        assert started.status_code == 302, started.get_json()
        at_provider = requests.get(started.headers["Location"], allow_redirects=False, timeout=5)
        assert at_provider.status_code == 302, at_provider.text
        return at_provider.headers["Location"]

    def callback(self, callback_url: str):
        parts = urlsplit(callback_url)
        assert parts.netloc == "api.openml.test"
        return self.client.get(parts.path, query_string=parts.query)

    def log_in(self, provider: str) -> str:
        """The whole browser part: the one-time code the website receives in return_to."""
        returned = self.callback(self.authorize(provider))
        assert returned.status_code == 302, returned.get_json()
        return returned_code(returned.headers["Location"])

    def exchange(self, code: str):
        return self.client.post(f"{API}/auth/oauth/exchange", json={"code": code})

    def tokens(self, provider: str) -> dict[str, Any]:
        answer = self.exchange(self.log_in(provider))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()


def returned_code(location: str) -> str:
    """The `code` in the website address a finished login redirects to (which must be return_to's)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{WEBSITE}/auth/callback"
    query = parse_qs(parts.query)
    assert query["next"] == ["/datasets"]
    assert "access_token" not in location and "refresh_token" not in location
    return query["code"][0]


@pytest.fixture
def accounts(client: FlaskClient, mailbox) -> AccountActions:
    return AccountActions(client, mailbox)
