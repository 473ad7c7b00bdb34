"""Logging in with GitHub and Google end to end: the stand-in provider over HTTP, the app's
redirects followed by hand, the one-time code traded for the usual token pair."""

from __future__ import annotations

import pytest
from flask import Flask

from openml_backend.accounts.models import MEMBERS_GROUP, User, UserGroup
from openml_backend.accounts.passwords import UNUSABLE_PASSWORD
from openml_backend.extensions import db
from tests.helpers import bearer
from tests.oauth.conftest import API, Browser
from tests.oauth.standin_provider import ProviderUser, StandinProvider


def _account(app: Flask, email: str) -> dict:
    with app.app_context():
        user = db.session.query(User).filter_by(email=email).one()
        groups = [row.group_id for row in db.session.query(UserGroup).filter_by(user_id=user.id)]
        return {"id": user.id, "active": user.active, "api_key": user.api_key, "password": user.password_hash,
                "groups": groups}


@pytest.mark.parametrize("provider_name", ["github", "google"])
def test_a_first_login_creates_a_confirmed_account_and_a_second_logs_into_it(
        app: Flask, browser: Browser, provider: StandinProvider, provider_name: str) -> None:
    provider.log_in_as(ProviderUser("4242", "Ada.Lovelace@Example.org", name="Ada Lovelace"))

    tokens = browser.tokens(provider_name)

    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    profile = browser.client.get(f"{API}/users/me", headers=bearer(tokens["access_token"]))
    assert profile.status_code == 200
    assert profile.get_json()["email"] == "ada.lovelace@example.org"
    assert (profile.get_json()["first_name"], profile.get_json()["last_name"]) == ("Ada", "Lovelace")
    account = _account(app, "ada.lovelace@example.org")
    assert account["active"] is True and account["groups"] == [MEMBERS_GROUP]
    assert account["api_key"] is not None and len(account["api_key"]) == 32
    assert account["password"] == UNUSABLE_PASSWORD
    key = browser.client.get(f"{API}/users/me/api-key", headers=bearer(tokens["access_token"]))
    assert key.get_json() == {"api_key": account["api_key"]}
    identities = browser.client.get(f"{API}/users/me/identities", headers=bearer(tokens["access_token"]))
    assert [(i["provider"], i["email"]) for i in identities.get_json()["identities"]] == [
        (provider_name, "ada.lovelace@example.org")]

    again = browser.tokens(provider_name)
    profile_again = browser.client.get(f"{API}/users/me", headers=bearer(again["access_token"]))
    assert profile_again.get_json()["id"] == account["id"]
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_the_refresh_token_of_a_provider_login_works(browser: Browser) -> None:
    tokens = browser.tokens("github")
    refreshed = browser.client.post(f"{API}/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200


def test_declining_at_the_provider_returns_to_the_website_with_an_error(browser: Browser) -> None:
    callback = browser.authorize("github")
    declined = callback.split("?")[0] + "?" + "&".join(
        part for part in callback.split("?")[1].split("&") if part.startswith("state=")) + "&error=access_denied"
    answer = browser.callback(declined)
    assert answer.status_code == 302
    assert "error=access_denied" in answer.headers["Location"] and "code=" not in answer.headers["Location"]
