"""Every response says `nosniff`; responses of the accounts feature (tokens, profiles, API
keys) are never stored by a cache; HSTS is sent when configured (production by default); the
HTML docs page may load nothing and be framed by no one."""

from __future__ import annotations

import re

from flask import Flask

from openml_backend.config import ProductionConfig, TestingConfig
from tests.helpers import API, AccountActions, bearer

DOCS = f"{API}/docs"


def test_every_kind_of_response_says_nosniff(app: Flask) -> None:
    client = app.test_client()
    answers = [client.get("/health"), client.get("/no/such/path"), client.delete("/health"),
               client.get(f"{API}/openapi.json"), client.get(DOCS),
               client.post(f"{API}/auth/login", data="not json", content_type="text/plain")]
    assert [a.status_code for a in answers] == [200, 404, 405, 200, 200, 415]
    assert all(a.headers["X-Content-Type-Options"] == "nosniff" for a in answers)


def test_tokens_profiles_and_api_keys_are_never_cached(app: Flask, accounts: AccountActions) -> None:
    accounts.confirmed_user("cache@example.org")
    login = accounts.client.post(f"{API}/auth/login", json={"email": "cache@example.org",
                                                            "password": "correct horse battery staple"})
    tokens = login.json
    answers = {
        "login": login,
        "refresh": accounts.client.post(f"{API}/auth/refresh", headers=bearer(tokens["refresh_token"])),
        "profile": accounts.me(tokens["access_token"]),
        "api key": accounts.client.get(f"{API}/users/me/api-key", headers=bearer(tokens["access_token"])),
        "refused": accounts.client.get(f"{API}/users/me"),
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "login": 200, "refresh": 200, "profile": 200, "api key": 200, "refused": 401}
    assert {name: a.headers.get("Cache-Control") for name, a in answers.items()} == dict.fromkeys(answers, "no-store")


def test_hsts_only_when_configured_and_on_by_default_in_production(make_app) -> None:
    assert "Strict-Transport-Security" not in make_app().test_client().get("/health").headers
    with_hsts = make_app(env={"HSTS_SECONDS": "600"}).test_client().get("/health")
    assert with_hsts.headers["Strict-Transport-Security"] == "max-age=600"
    production = ProductionConfig({"APP_SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40,
                                   "DATABASE_URI": "mysql://u:p@db:3306/openml"})
    assert production.HSTS_SECONDS == 365 * 24 * 3600
    assert TestingConfig(environ={}).HSTS_SECONDS == 0


def test_the_docs_page_loads_nothing_and_cannot_be_framed(app: Flask) -> None:
    response = app.test_client().get(DOCS)
    policy = {part.split()[0]: part.split()[1:]
              for part in response.headers["Content-Security-Policy"].split(";") if part.strip()}
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert set(policy) - {"default-src", "style-src", "base-uri", "form-action", "frame-ancestors"} == set()
    # What the policy allows is all the page needs: inline styles, no script, nothing fetched.
    html = response.get_data(as_text=True)
    assert "<style" in html
    assert not re.search(r"<script|<link|<img|<iframe|\ssrc=", html, re.IGNORECASE)
    # The JSON contract needs no policy of its own, and gets none.
    assert "Content-Security-Policy" not in app.test_client().get(f"{API}/openapi.json").headers
