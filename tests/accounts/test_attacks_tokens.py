"""Access tokens signed with the right key but without `exp`, or with a `type` other than
access or refresh, are refused with a 401 problem: a token without an expiry would never die.
The forgeries are built with PyJWT from a real token's claims, independently of the app."""

from __future__ import annotations

import jwt as pyjwt
import pytest

from tests.helpers import API, TESTING_JWT_KEY, AccountActions, bearer


@pytest.fixture
def claims(accounts: AccountActions) -> dict:
    accounts.confirmed_user("holder@example.org")
    token = accounts.login("holder@example.org")["access_token"]
    return pyjwt.decode(token, TESTING_JWT_KEY, algorithms=["HS256"])


def forged(claims: dict, **changes) -> str:
    payload = {key: value for key, value in {**claims, **changes}.items() if value is not None}
    return pyjwt.encode(payload, TESTING_JWT_KEY, algorithm="HS256")


def test_the_untouched_claims_are_accepted(accounts: AccountActions, claims: dict) -> None:
    # Guards the tests below: re-signing the same claims gives a working token.
    assert accounts.me(forged(claims, jti="another-id")).status_code == 200


@pytest.mark.parametrize("changes", [
    pytest.param({"exp": None}, id="no exp"),
    pytest.param({"exp": "4102444800"}, id="exp as a string"),
    pytest.param({"type": "admin"}, id="unknown type"),
    pytest.param({"type": None}, id="no type"),
    pytest.param({"type": None, "exp": None}, id="neither"),
])
def test_tokens_without_exp_or_with_an_unknown_type_are_refused(accounts: AccountActions, claims: dict,
                                                                changes: dict) -> None:
    token = forged(claims, jti="forged-id", **changes)
    for method, path in (("GET", "/users/me"), ("GET", "/users/me/api-key"), ("POST", "/auth/logout-all")):
        response = accounts.client.open(API + path, method=method, headers=bearer(token))
        assert response.status_code == 401, (path, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] in ("invalid_token", "token_expired")
    assert accounts.me(forged(claims, jti="yet-another-id")).status_code == 200  # nothing was revoked
