"""Attacks on the JWTs and on the emailed tokens: every one refused with a 401/400 and a code.

Forged tokens are built here with PyJWT and the standard library, independently of the app's
own token code.
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from datetime import timedelta

import jwt as pyjwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from flask import Flask

from openml_backend.accounts import emails
from tests.helpers import API, PASSWORD, TESTING_JWT_KEY, AccountActions, assert_problem, bearer



def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict]:
    header, payload, _signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload)))


@pytest.fixture
def session(accounts: AccountActions) -> dict:
    accounts.confirmed_user("victim@example.org")
    accounts.confirmed_user("attacker@example.org")
    return {"victim": accounts.login("victim@example.org"), "attacker": accounts.login("attacker@example.org")}


def test_the_key_in_tests_is_the_app_key(app: Flask, session: dict) -> None:
    # Guards the forgeries below: a token signed here with this key is what the app signs.
    assert app.config["JWT_SECRET_KEY"] == TESTING_JWT_KEY
    decoded = pyjwt.decode(session["victim"]["access_token"], TESTING_JWT_KEY, algorithms=["HS256"])
    assert decoded["type"] == "access"


def test_missing_and_malformed_authorization(accounts: AccountActions) -> None:
    assert_problem(accounts.client.get(f"{API}/users/me"), 401, "missing_token")
    for header in ("Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 5000):
        response = accounts.client.get(f"{API}/users/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] in ("missing_token", "invalid_token")


def test_token_in_query_string_or_cookie_is_ignored(accounts: AccountActions, session: dict) -> None:
    token = session["victim"]["access_token"]
    assert_problem(accounts.client.get(f"{API}/users/me?jwt={token}"), 401, "missing_token")
    accounts.client.set_cookie("access_token_cookie", token)
    assert_problem(accounts.client.get(f"{API}/users/me"), 401, "missing_token")


def test_tampered_signature(accounts: AccountActions, session: dict) -> None:
    header, payload, signature = session["victim"]["access_token"].split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_problem(accounts.me(f"{header}.{payload}.{flipped}"), 401, "invalid_token")


def test_tampered_payload_with_original_signature(accounts: AccountActions, session: dict) -> None:
    victim_claims = parts(session["victim"]["access_token"])[1]
    header, _payload, signature = session["attacker"]["access_token"].split(".")
    forged = f"{header}.{b64(victim_claims)}.{signature}"
    assert_problem(accounts.me(forged), 401, "invalid_token")


def test_alg_none(accounts: AccountActions, session: dict) -> None:
    _header, claims = parts(session["victim"]["access_token"])
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}."
        assert_problem(accounts.me(unsigned), 401, "invalid_token")


def test_other_key_and_other_algorithm(accounts: AccountActions, session: dict) -> None:
    _header, claims = parts(session["victim"]["access_token"])
    other_key = pyjwt.encode(claims, "a-completely-different-secret-key-0123456789", algorithm="HS256")
    assert_problem(accounts.me(other_key), 401, "invalid_token")
    # Right key, unpinned algorithm: refused too. (PyJWT warns that the key is short for HS512.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        hs512 = pyjwt.encode(claims, TESTING_JWT_KEY, algorithm="HS512")
    assert_problem(accounts.me(hs512), 401, "invalid_token")


def test_expired_access_token(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=1))
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("late@example.org")
    pair = accounts.login("late@example.org")
    assert accounts.me(pair["access_token"]).status_code == 200
    time.sleep(2.1)
    assert_problem(accounts.me(pair["access_token"]), 401, "token_expired")
    # A forged expired token with the right key is refused the same way.
    _header, claims = parts(pair["access_token"])
    claims["exp"] = int(time.time()) - 10
    assert_problem(accounts.me(pyjwt.encode(claims, TESTING_JWT_KEY, algorithm="HS256")), 401, "token_expired")
    emails.wait_for_pending(10)


def test_refresh_token_used_as_access_token_and_the_reverse(accounts: AccountActions, session: dict) -> None:
    assert_problem(accounts.me(session["victim"]["refresh_token"]), 401, "wrong_token_type")
    assert_problem(accounts.post("/auth/refresh", token=session["victim"]["access_token"]), 401, "wrong_token_type")


def test_revoked_access_token(accounts: AccountActions, session: dict) -> None:
    access = session["victim"]["access_token"]
    assert accounts.post("/auth/logout", token=access).status_code == 200
    for path in ("/users/me", "/users/me/api-key"):
        assert_problem(accounts.client.get(API + path, headers=bearer(access)), 401, "token_revoked")
    assert_problem(accounts.post("/auth/logout", token=access), 401, "token_revoked")
    # The attacker's session is untouched.
    assert accounts.me(session["attacker"]["access_token"]).status_code == 200


def test_reused_refresh_token_is_refused_and_revokes_the_family(accounts: AccountActions, session: dict) -> None:
    old = session["victim"]["refresh_token"]
    rotated = accounts.post("/auth/refresh", token=old)
    assert rotated.status_code == 200
    assert_problem(accounts.post("/auth/refresh", token=old), 401, "token_revoked")
    # Reuse means the token leaked: the tokens rotated from it die too.
    assert_problem(accounts.me(rotated.json["access_token"]), 401, "token_revoked")
    assert_problem(accounts.post("/auth/refresh", token=rotated.json["refresh_token"]), 401, "token_revoked")
    assert accounts.me(session["attacker"]["access_token"]).status_code == 200


def test_forged_subject_of_another_user_needs_the_key(accounts: AccountActions, session: dict) -> None:
    header, claims = parts(session["attacker"]["access_token"])
    victim_sub = parts(session["victim"]["access_token"])[1]["sub"]
    claims["sub"] = victim_sub
    forged = f"{b64(header)}.{b64(claims)}.{session['attacker']['access_token'].split('.')[2]}"
    assert_problem(accounts.me(forged), 401, "invalid_token")


def test_reused_confirmation_token(accounts: AccountActions) -> None:
    accounts.signup("twice@example.org")
    token = accounts.last_token("twice@example.org")
    assert accounts.post("/auth/confirm", {"token": token}).status_code == 200
    assert_problem(accounts.post("/auth/confirm", {"token": token}), 400, "token_used")


def test_tampered_and_expired_confirmation_tokens(make_app, smtp_settings, mailbox, db) -> None:
    from openml_backend.accounts.models import EmailToken, utcnow

    app = make_app(**smtp_settings)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.signup("expiring@example.org")
    token = accounts.last_token("expiring@example.org")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_problem(accounts.post("/auth/confirm", {"token": tampered}), 400, "token_invalid")
    with app.app_context():
        db.session.query(EmailToken).update({"expires_at": utcnow() - timedelta(seconds=1)})
        db.session.commit()
    assert_problem(accounts.post("/auth/confirm", {"token": token}), 400, "token_expired")
    assert accounts.post("/auth/login", {"email": "expiring@example.org", "password": PASSWORD}).status_code == 403


def test_reset_token_cannot_confirm_and_confirmation_token_cannot_reset(accounts: AccountActions) -> None:
    accounts.signup("purpose@example.org")
    confirm_token = accounts.last_token("purpose@example.org")
    reset = accounts.post("/auth/password/reset", {"token": confirm_token, "new_password": "hijacked password"})
    assert_problem(reset, 400, "token_invalid")
    accounts.post("/auth/password/forgot", {"email": "purpose@example.org"})
    reset_token = accounts.last_token("purpose@example.org", 2)
    assert_problem(accounts.post("/auth/confirm", {"token": reset_token}), 400, "token_invalid")


def test_expired_and_reused_reset_token(make_app, smtp_settings, mailbox, db) -> None:
    from openml_backend.accounts.models import EmailToken, utcnow

    app = make_app(**smtp_settings)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("resetter@example.org")
    accounts.post("/auth/password/forgot", {"email": "resetter@example.org"})
    token = accounts.last_token("resetter@example.org", 2)
    with app.app_context():
        db.session.query(EmailToken).filter_by(purpose="reset").update(
            {"expires_at": utcnow() - timedelta(seconds=1)})
        db.session.commit()
    assert_problem(accounts.post("/auth/password/reset", {"token": token, "new_password": "p" * 10}), 400,
                   "token_expired")
    accounts.login("resetter@example.org")


def test_tokens_are_stored_hashed(accounts: AccountActions, db) -> None:
    from openml_backend.accounts.models import EmailToken

    accounts.signup("hashed@example.org")
    token = accounts.last_token("hashed@example.org")
    stored = [row.token_hash for row in db.session.query(EmailToken).all()]
    assert token not in stored
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_signing_up_first_with_someone_elses_address_does_not_give_their_account(accounts: AccountActions) -> None:
    attacker_password, victim_password = "attacker knows this", "only the victim knows"
    assert accounts.signup("target@example.org", password=attacker_password).status_code == 202
    first_link = accounts.last_token("target@example.org")
    assert accounts.signup("target@example.org", password=victim_password).status_code == 202
    newest_link = accounts.last_token("target@example.org", 2)
    # The older link died with the newer signup; the newest confirms the victim's password.
    assert_problem(accounts.post("/auth/confirm", {"token": first_link}), 400, "token_used")
    assert accounts.post("/auth/confirm", {"token": newest_link}).status_code == 200
    assert_problem(accounts.post("/auth/login", {"email": "target@example.org", "password": attacker_password}),
                   401, "invalid_credentials")
    accounts.login("target@example.org", victim_password)
