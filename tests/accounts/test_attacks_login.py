"""Replays of the login-limit bypass observed against a production deployment: the per-account
limit (5 per window) was escaped with variants of one address that MariaDB's
utf8mb4_general_ci collation matched to the same row (trailing spaces, accents), each with a
counter of its own: 37 of 40 guesses were evaluated, and the right password sent as
`{"username": "fränk@example.org  "}` got tokens while the real address answered 429.

Now every variant is refused before any lookup (400) or shares the account's counter (429),
and the limit also counts per resolved account, whatever identifier named it."""

from __future__ import annotations

import pytest

from openml_backend.accounts.models import User
from tests.helpers import API, PASSWORD, AccountActions

LIMIT = 5
GUESSES = 40
VICTIM = "frank@example.org"
# The observed variants, plus the case variants an exact comparison must still fold.
VARIANTS = ([{"email": VICTIM}, {"email": "FRANK@Example.org"}]
            + [{"username": VICTIM + " " * spaces} for spaces in range(1, 9)]
            + [{"username": "fränk@example.org"}, {"username": "frânk@example.org"},
               {"username": "fränk@example.org  "}, {"email": "fränk@example.org"}, {"email": VICTIM + "   "},
               {"username": "ｆｒａｎｋ@example.org"}])


@pytest.fixture
def throttled_app(make_app, smtp_settings):
    # Many guesses from one client: only the per-account limit is under test.
    return make_app(**smtp_settings, LOGIN_MAX_PER_ACCOUNT=LIMIT, LOGIN_MAX_PER_ADDRESS=10_000)


def test_identifier_variants_get_no_guesses_past_the_limit(throttled_app, mailbox) -> None:
    accounts = AccountActions(throttled_app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    statuses = []
    for guess in range(GUESSES):
        identifier = VARIANTS[guess % len(VARIANTS)]
        response = accounts.post("/auth/login", {**identifier, "password": f"wrong guess {guess}"})
        statuses.append(response.status_code)
        assert response.status_code in (400, 401, 429), response.json
    # A 401 is a password checked against the account: exactly the limit's worth, not 37.
    assert statuses.count(401) == LIMIT, statuses
    assert statuses.count(429) >= 1

    # The right password, through every variant, while throttled: never a token.
    for identifier in VARIANTS:
        response = accounts.post("/auth/login", {**identifier, "password": PASSWORD})
        assert response.status_code in (400, 429), (identifier, response.status_code)
        assert "access_token" not in (response.json or {})
    assert accounts.post("/auth/login", {"email": VICTIM, "password": PASSWORD}).status_code == 429


def test_the_limit_counts_per_account_across_email_and_username(throttled_app, mailbox) -> None:
    accounts = AccountActions(throttled_app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    from openml_backend.extensions import db

    with throttled_app.app_context():
        db.session.query(User).filter_by(email=VICTIM).update({"username": "frank_k"})
        db.session.commit()
    by_email = [accounts.post("/auth/login", {"email": VICTIM, "password": "wrong"}).status_code for _ in range(3)]
    by_name = [accounts.post("/auth/login", {"username": "frank_k", "password": "wrong"}).status_code
               for _ in range(3)]
    assert by_email == [401] * 3
    assert by_name == [401, 401, 429]  # the sixth guess at one account, under another name
    refused = accounts.post("/auth/login", {"username": "frank_k", "password": PASSWORD})
    assert refused.status_code == 429 and "access_token" not in refused.json


def test_a_username_must_match_the_pattern(client) -> None:
    for username in ("ab", "a" * 31, "frank@example.org", "frank ", "fränk", "frank\u200b"):
        response = client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 400, username
        assert response.json["fields"][0]["field"] == "username"
    ok = client.post(f"{API}/auth/login", json={"username": "Frank_K.1-x", "password": PASSWORD})
    assert ok.status_code == 401


def test_the_normal_logins_still_work(throttled_app, mailbox) -> None:
    accounts = AccountActions(throttled_app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    # Failures below the limit are forgotten after a success, per identifier and per account.
    for _ in range(LIMIT - 1):
        assert accounts.post("/auth/login", {"email": VICTIM, "password": "wrong"}).status_code == 401
    accounts.login("Frank@Example.ORG")
    for _ in range(LIMIT - 1):
        assert accounts.post("/auth/login", {"email": VICTIM, "password": "wrong"}).status_code == 401
    accounts.login(VICTIM)
