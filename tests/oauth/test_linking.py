"""Which account a provider login reaches: an existing account is linked only through an
address the provider verified; a password-less account can set a password by the reset flow;
identities are listed and unlinked, never the last way in."""

from __future__ import annotations

from flask import Flask

from openml_backend.accounts.models import User
from openml_backend.extensions import db
from openml_backend.oauth.models import OAuthIdentity
from tests.helpers import PASSWORD, AccountActions, bearer
from tests.oauth.conftest import API, Browser
from tests.oauth.standin_provider import ProviderUser, StandinProvider

EMAIL = "existing@example.org"


def _identities(browser: Browser, access_token: str) -> list[str]:
    answer = browser.client.get(f"{API}/users/me/identities", headers=bearer(access_token))
    assert answer.status_code == 200
    return [identity["provider"] for identity in answer.get_json()["identities"]]


def _unlink(browser: Browser, access_token: str, source: str):
    return browser.client.delete(f"{API}/users/me/identities/{source}", headers=bearer(access_token))


def test_a_verified_address_links_the_existing_account(app: Flask, accounts: AccountActions, browser: Browser,
                                                       provider: StandinProvider) -> None:
    accounts.confirmed_user(EMAIL)
    password_login = accounts.login(EMAIL)
    provider.log_in_as(ProviderUser("77", EMAIL.upper(), verified=True))

    tokens = browser.tokens("github")

    me = accounts.me(tokens["access_token"]).json
    assert me["id"] == accounts.me(password_login["access_token"]).json["id"]
    assert _identities(browser, tokens["access_token"]) == ["github"]
    assert accounts.login(EMAIL)  # the password still works


def test_an_unverified_address_does_not_link_an_existing_account(app: Flask, accounts: AccountActions,
                                                                 browser: Browser, provider: StandinProvider) -> None:
    accounts.confirmed_user(EMAIL)
    for name, external_id in (("github", "78"), ("google", "79")):
        provider.log_in_as(ProviderUser(external_id, EMAIL, verified=False))
        answer = browser.callback(browser.authorize(name))
        assert answer.status_code == 403 and answer.get_json()["code"] == "oauth_email_unverified"
    with app.app_context():
        assert db.session.query(OAuthIdentity).count() == 0


def test_an_unverified_address_creates_no_account(app: Flask, browser: Browser, provider: StandinProvider) -> None:
    provider.log_in_as(ProviderUser("80", "nobody@example.org", verified=False))
    answer = browser.callback(browser.authorize("google"))
    assert answer.status_code == 403 and answer.get_json()["code"] == "oauth_email_unverified"
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_linking_an_unconfirmed_account_drops_the_unproven_password(app: Flask, accounts: AccountActions,
                                                                    browser: Browser,
                                                                    provider: StandinProvider) -> None:
    # Someone signed up with this address but never confirmed it: they may not own it.
    assert accounts.signup(EMAIL, "squatter password").status_code == 202
    provider.log_in_as(ProviderUser("81", EMAIL))
    tokens = browser.tokens("google")
    assert accounts.me(tokens["access_token"]).json["email"] == EMAIL
    assert accounts.try_login(EMAIL, "squatter password").status_code == 401


def test_a_provider_account_sets_a_password_through_the_reset_flow(accounts: AccountActions, browser: Browser,
                                                                   provider: StandinProvider) -> None:
    provider.log_in_as(ProviderUser("82", "new.person@example.org"))
    browser.tokens("github")
    assert accounts.try_login("new.person@example.org", PASSWORD).status_code == 401
    assert accounts.forgot_password("new.person@example.org").status_code == 202
    reset = accounts.reset_password(accounts.last_token("new.person@example.org"), PASSWORD)
    assert reset.status_code == 200
    assert accounts.login("new.person@example.org", PASSWORD)


def test_unlinking_the_last_login_method_is_refused(browser: Browser, provider: StandinProvider) -> None:
    provider.log_in_as(ProviderUser("83", "only.github@example.org"))
    tokens = browser.tokens("github")
    answer = _unlink(browser, tokens["access_token"], "github")
    assert answer.status_code == 409 and answer.get_json()["code"] == "last_login_method"
    assert _identities(browser, tokens["access_token"]) == ["github"]


def test_unlinking_one_of_two_identities_without_a_password_works(browser: Browser,
                                                                  provider: StandinProvider) -> None:
    provider.log_in_as(ProviderUser("84", "two.ways@example.org"))
    tokens = browser.tokens("github")
    browser.tokens("google")
    assert _identities(browser, tokens["access_token"]) == ["github", "google"]
    assert _unlink(browser, tokens["access_token"], "github").status_code == 204
    assert _identities(browser, tokens["access_token"]) == ["google"]
    assert _unlink(browser, tokens["access_token"], "google").status_code == 409


def test_unlinking_when_a_password_exists_works(accounts: AccountActions, browser: Browser,
                                                provider: StandinProvider) -> None:
    accounts.confirmed_user(EMAIL)
    provider.log_in_as(ProviderUser("85", EMAIL))
    tokens = browser.tokens("github")
    assert _unlink(browser, tokens["access_token"], "github").status_code == 204
    assert _identities(browser, tokens["access_token"]) == []
    missing = _unlink(browser, tokens["access_token"], "github")
    assert missing.status_code == 404 and missing.get_json()["code"] == "oauth_identity_not_found"
    # Unlinked, the next login of that identity links it again (the address is still verified).
    again = browser.tokens("github")
    assert accounts.me(again["access_token"]).json["email"] == EMAIL


def test_deleting_the_account_removes_its_identities(app: Flask, accounts: AccountActions, browser: Browser,
                                                     provider: StandinProvider) -> None:
    accounts.confirmed_user(EMAIL)
    provider.log_in_as(ProviderUser("86", EMAIL))
    tokens = browser.tokens("github")
    assert accounts.delete_account(tokens["access_token"], PASSWORD).status_code == 204
    with app.app_context():
        assert db.session.query(OAuthIdentity).count() == 0
    # The same person logging in again gets a new account, not the tombstone.
    again = browser.tokens("github")
    assert accounts.me(again["access_token"]).json["email"] == EMAIL
