"""What an OAuth login refuses: forged, replayed, expired or foreign-browser state; replayed
one-time and provider codes; ID tokens that fail verification; return_to off the website."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from sqlalchemy import update

from openml_backend.clock import utcnow
from openml_backend.extensions import db
from openml_backend.oauth.models import OAuthLoginCode, OAuthState
from tests.oauth.conftest import API, WEBSITE, Browser
from tests.oauth.standin_provider import FAULTS, StandinProvider


def _with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **params})).geturl()


def _code(answer) -> str:
    return answer.get_json()["code"]


# --- state --------------------------------------------------------------------------------

def test_a_forged_state_is_refused(browser: Browser, provider: StandinProvider) -> None:
    callback = browser.authorize("github")
    answer = browser.callback(_with_params(callback, state="forged-state-value"))
    assert answer.status_code == 400 and _code(answer) == "oauth_state_invalid"
    assert provider.state.token_requests == 0


def test_a_replayed_state_is_refused(browser: Browser, provider: StandinProvider) -> None:
    callback = browser.authorize("github")
    assert browser.callback(callback).status_code == 302
    again = browser.callback(callback)
    assert again.status_code == 400 and _code(again) == "oauth_state_used"
    assert provider.state.token_requests == 1


def test_an_expired_state_is_refused(app: Flask, browser: Browser, provider: StandinProvider) -> None:
    callback = browser.authorize("github")
    with app.app_context():
        db.session.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    answer = browser.callback(callback)
    assert answer.status_code == 400 and _code(answer) == "oauth_state_expired"
    assert provider.state.token_requests == 0


def test_a_state_of_another_provider_is_refused(browser: Browser) -> None:
    callback = browser.authorize("github")
    answer = browser.callback(callback.replace("/github/", "/google/"))
    assert answer.status_code == 400 and _code(answer) == "oauth_state_invalid"


def test_a_state_without_the_browser_cookie_is_refused(app: Flask, browser: Browser,
                                                       provider: StandinProvider) -> None:
    # Login CSRF: the attacker's own login, finished in the victim's browser.
    callback = browser.authorize("github")
    victim = Browser(app.test_client())
    answer = victim.callback(callback)
    assert answer.status_code == 400 and _code(answer) == "oauth_state_wrong_browser"
    assert provider.state.token_requests == 0
    # The attacker's browser could still finish it: the refusal did not use it up.
    assert browser.callback(callback).status_code == 302


def test_the_browser_cookie_is_httponly_lax_and_scoped(browser: Browser) -> None:
    started = browser.start("github")
    cookie = started.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/api/v1/auth/oauth" in cookie
    assert "Secure" not in cookie  # testing; production sets it (ENVIRONMENT=production)
    assert started.headers["Cache-Control"] == "no-store"


def test_the_provider_gets_an_s256_challenge_and_no_verifier(browser: Browser) -> None:
    location = browser.start("google").headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert "code_verifier" not in query and query["nonce"][0] and query["state"][0]
    assert query["redirect_uri"] == ["http://api.openml.test/api/v1/auth/oauth/google/callback"]


# --- codes --------------------------------------------------------------------------------

def test_a_replayed_exchange_code_is_refused(browser: Browser) -> None:
    code = browser.log_in("github")
    assert browser.exchange(code).status_code == 200
    again = browser.exchange(code)
    assert again.status_code == 400 and _code(again) == "oauth_code_used"


def test_an_expired_exchange_code_is_refused(app: Flask, browser: Browser) -> None:
    code = browser.log_in("github")
    with app.app_context():
        db.session.execute(update(OAuthLoginCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    answer = browser.exchange(code)
    assert answer.status_code == 400 and _code(answer) == "oauth_code_expired"


def test_an_unknown_exchange_code_is_refused(browser: Browser) -> None:
    answer = browser.exchange("made-up-code")
    assert answer.status_code == 400 and _code(answer) == "oauth_code_invalid"


def test_a_replayed_provider_code_is_refused(browser: Browser) -> None:
    first = browser.authorize("github")
    assert browser.callback(first).status_code == 302
    # A fresh login of this browser, with the provider's code of the first one.
    second = browser.authorize("github")
    replayed = _with_params(second, code=parse_qs(urlsplit(first).query)["code"][0])
    answer = browser.callback(replayed)
    assert answer.status_code == 400 and _code(answer) == "oauth_code_rejected"


# --- ID tokens ----------------------------------------------------------------------------

@pytest.mark.parametrize("fault", FAULTS)
def test_an_id_token_that_does_not_verify_is_refused(app: Flask, browser: Browser, provider: StandinProvider,
                                                     fault: str) -> None:
    provider.id_token_fault(fault)
    answer = browser.callback(browser.authorize("google"))
    assert answer.status_code == 401 and _code(answer) == "oauth_id_token_invalid"
    with app.app_context():
        from openml_backend.accounts.models import User
        assert db.session.query(User).count() == 0


# --- return_to ----------------------------------------------------------------------------

@pytest.mark.parametrize("return_to", [
    "https://evil.example/auth/callback",
    "http://localhost:3000.evil.example/",
    "http://localhost:3001/auth/callback",
    "https://localhost:3000/auth/callback",
    "http://user@localhost:3000/auth/callback",
    "//localhost:3000/auth/callback",
    "/auth/callback",
    "javascript:alert(1)",
])
def test_return_to_off_the_website_is_refused(browser: Browser, return_to: str) -> None:
    answer = browser.start("github", return_to)
    assert answer.status_code == 400 and _code(answer) == "oauth_return_to_invalid"
    assert "Set-Cookie" not in answer.headers


def test_return_to_on_the_website_is_accepted(browser: Browser) -> None:
    assert browser.start("github", f"{WEBSITE}/").status_code == 302


def test_a_provider_without_a_client_id_is_404(make_app) -> None:
    bare = make_app()  # no GITHUB_CLIENT_ID, no GOOGLE_CLIENT_ID
    for path in ("/auth/oauth/github/start?return_to=http://localhost:3000/",
                 "/auth/oauth/google/callback?state=x&code=y", "/auth/oauth/gitlab/start?return_to=x"):
        answer = bare.test_client().get(API + path)
        assert answer.status_code == 404, path


def test_an_unreachable_provider_is_502(make_app, provider: StandinProvider) -> None:
    from tests.oauth.conftest import provider_settings

    # Port 9 (discard) refuses the connection: the token request fails, bounded by OAUTH_TIMEOUT.
    app = make_app(env={**provider_settings(provider), "GITHUB_TOKEN_URL": "http://127.0.0.1:9/token"})
    browser = Browser(app.test_client())
    answer = browser.callback(browser.authorize("github"))
    assert answer.status_code == 502 and _code(answer) == "oauth_provider_error"
