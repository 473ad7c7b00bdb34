"""A table of bad input for every accounts endpoint, with the status and code each must get.

Generated per endpoint from its valid body: no body, malformed JSON, a JSON array, a body over
MAX_CONTENT_LENGTH, each required field missing, of the wrong type or empty, and an unknown
field (no mass assignment). Then hand-written rows for unicode, SQL-looking strings and
length limits. Every answer must be problem+json with the expected code, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.helpers import API, PASSWORD, AccountActions, bearer

HUGE = 64 * 1024 + 1  # one byte over the default MAX_CONTENT_LENGTH


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    valid: dict[str, Any]
    required: tuple[str, ...]
    authenticated: bool = False
    optional: tuple[str, ...] = field(default=())


ENDPOINTS = [
    Endpoint("POST", "/auth/signup", {"email": "new@example.org", "password": PASSWORD, "first_name": "A",
                                      "last_name": "B"}, ("email", "password", "first_name", "last_name")),
    Endpoint("POST", "/auth/confirm", {"token": "x" * 43}, ("token",)),
    Endpoint("POST", "/auth/confirm/resend", {"email": "new@example.org"}, ("email",)),
    Endpoint("POST", "/auth/login", {"email": "user@example.org", "password": PASSWORD}, ("password",)),
    Endpoint("POST", "/auth/password/forgot", {"email": "user@example.org"}, ("email",)),
    Endpoint("POST", "/auth/password/reset", {"token": "x" * 43, "new_password": PASSWORD},
             ("token", "new_password")),
    Endpoint("PATCH", "/users/me", {"first_name": "Ada"}, (), authenticated=True,
             optional=("first_name", "last_name", "email")),
    Endpoint("PUT", "/users/me/password", {"current_password": PASSWORD, "new_password": "another passphrase"},
             ("current_password", "new_password"), authenticated=True),
    Endpoint("DELETE", "/users/me", {"password": PASSWORD}, ("password",), authenticated=True),
    Endpoint("POST", "/feedback", {"email": "visitor@example.org", "message": "hello"}, ("email", "message")),
]

WRONG_TYPES = [123, None, ["a"], {"a": 1}, True]


def generated_cases() -> list[Any]:
    cases = []
    for endpoint in ENDPOINTS:
        name = f"{endpoint.method} {endpoint.path}"
        cases += [
            pytest.param(endpoint, None, b"", 400, "missing_body", id=f"{name} no body"),
            pytest.param(endpoint, None, b'{"email": ', 400, "malformed_json", id=f"{name} malformed json"),
            pytest.param(endpoint, None, b"[]", 400, "malformed_json", id=f"{name} array"),
            pytest.param(endpoint, None, b'{"a": "' + b"x" * HUGE + b'"}', 413, "payload_too_large",
                         id=f"{name} huge body"),
            pytest.param(endpoint, {**endpoint.valid, "active": True}, None, 400, "invalid_fields",
                         id=f"{name} unknown field"),
        ]
        for required in endpoint.required:
            missing = {key: value for key, value in endpoint.valid.items() if key != required}
            cases.append(pytest.param(endpoint, missing, None, 400, "invalid_fields", id=f"{name} missing {required}"))
        for checked in endpoint.required + endpoint.optional:
            for index, wrong in enumerate(WRONG_TYPES):
                cases.append(pytest.param(endpoint, {**endpoint.valid, checked: wrong}, None, 400, "invalid_fields",
                                          id=f"{name} {checked} wrong type {index}"))
            cases.append(pytest.param(endpoint, {**endpoint.valid, checked: ""}, None, 400, "invalid_fields",
                                      id=f"{name} {checked} empty"))
    return cases


SIGNUP, LOGIN, CONFIRM, PATCH, FEEDBACK, RESET = (ENDPOINTS[0], ENDPOINTS[3], ENDPOINTS[1], ENDPOINTS[6],
                                                    ENDPOINTS[9], ENDPOINTS[5])
SQL = "Robert'); DROP TABLE users;--"

SPECIFIC = [
    pytest.param(SIGNUP, {**SIGNUP.valid, "password": "short7!"}, None, 400, "invalid_fields", id="password 7 chars"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "password": "p" * 1025}, None, 400, "invalid_fields",
                 id="password over 1024"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "password": "p" * 1024}, None, 202, None, id="password of 1024"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "email": "not-an-address"}, None, 400, "invalid_fields", id="no at sign"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "email": "a b@example.org"}, None, 400, "invalid_fields", id="space"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "email": "a@" + "x" * 250 + ".org"}, None, 400, "invalid_fields",
                 id="email too long"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": "   "}, None, 400, "invalid_fields", id="blank name"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": "n" * 101}, None, 400, "invalid_fields", id="long name"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": "n" * 51}, None, 400, "invalid_fields",
                 id="name longer than OpenML's column"),
    # OpenML's tables are latin1: what it holds is stored, anything else is refused by name.
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": "Zoë Öberg €", "password": "pässwörd 🔑"}, None, 202, None,
                 id="latin1 name, any password"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": "Zoë 李 ⚡"}, None, 400, "unsupported_characters",
                 id="han and emoji name"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": SQL, "email": "o'hara'or'1'='1@example.org"}, None, 202,
                 None, id="sql-looking"),
    pytest.param(SIGNUP, {**SIGNUP.valid, "first_name": "\u0000nul"}, None, 202, None, id="nul char"),
    pytest.param(LOGIN, {"password": PASSWORD}, None, 400, "invalid_fields", id="login without identifier"),
    pytest.param(LOGIN, {**LOGIN.valid, "username": "ada"}, None, 400, "invalid_fields", id="login both ids"),
    # A username is 3-30 of [A-Za-z0-9_.-]: anything else is refused before any lookup.
    pytest.param(LOGIN, {"username": "admin'--", "password": "' OR '1'='1"}, None, 400, "invalid_fields",
                 id="login sql-looking"),
    pytest.param(LOGIN, {"username": "ädmin 李", "password": PASSWORD}, None, 400, "invalid_fields",
                 id="login unicode"),
    pytest.param(LOGIN, {"username": "admin_1.x-y", "password": PASSWORD}, None, 401, "invalid_credentials",
                 id="login unknown username"),
    pytest.param(LOGIN, {**LOGIN.valid, "password": "p" * 1025}, None, 400, "invalid_fields",
                 id="login password over 1024"),
    pytest.param(CONFIRM, {"token": "' OR 1=1 --"}, None, 400, "token_invalid", id="confirm sql-looking"),
    pytest.param(CONFIRM, {"token": "t" * 201}, None, 400, "invalid_fields", id="confirm token too long"),
    pytest.param(RESET, {**RESET.valid, "new_password": "short"}, None, 400, "invalid_fields", id="reset short"),
    pytest.param(PATCH, {}, None, 400, "invalid_fields", id="patch nothing"),
    pytest.param(PATCH, {"api_key": "0" * 32}, None, 400, "invalid_fields", id="patch api_key"),
    pytest.param(PATCH, {"id": 7}, None, 400, "invalid_fields", id="patch id"),
    pytest.param(PATCH, {"password_hash": "x"}, None, 400, "invalid_fields", id="patch password hash"),
    pytest.param(PATCH, {"created_at": "2020-01-01"}, None, 400, "invalid_fields", id="patch created_at"),
    pytest.param(PATCH, {"bio": "b" * 2001}, None, 400, "invalid_fields", id="patch bio too long"),
    pytest.param(PATCH, {"bio": SQL + " ünï"}, None, 200, None, id="patch sql-looking latin1 bio"),
    pytest.param(PATCH, {"bio": "🧪"}, None, 400, "unsupported_characters", id="patch emoji bio"),
    pytest.param(PATCH, {"company": "李"}, None, 400, "unsupported_characters", id="patch han company"),
    pytest.param(PATCH, {"username": "ab"}, None, 400, "invalid_fields", id="patch username too short"),
    pytest.param(PATCH, {"username": "a@b.org"}, None, 400, "invalid_fields", id="patch username with at sign"),
    pytest.param(PATCH, {"username": "x" * 31}, None, 400, "invalid_fields", id="patch username too long"),
    pytest.param(PATCH, {"country": "c" * 51}, None, 400, "invalid_fields", id="patch country too long"),
    pytest.param(PATCH, {"bio": ""}, None, 200, None, id="patch empty bio allowed"),
    pytest.param(FEEDBACK, {**FEEDBACK.valid, "message": "m" * 5001}, None, 400, "invalid_fields",
                 id="feedback too long"),
    pytest.param(FEEDBACK, {**FEEDBACK.valid, "message": SQL + " 🐛"}, None, 202, None, id="feedback sql unicode"),
]


@pytest.mark.parametrize(("endpoint", "body", "raw", "status", "code"), generated_cases() + SPECIFIC)
def test_bad_input(accounts: AccountActions, endpoint: Endpoint, body: Any, raw: bytes | None, status: int,
                   code: str | None) -> None:
    headers = {}
    if endpoint.authenticated:
        accounts.confirmed_user("me@example.org")
        headers = bearer(accounts.login("me@example.org")["access_token"])
    if raw is None:
        response = accounts.client.open(API + endpoint.path, method=endpoint.method, json=body, headers=headers)
    else:
        response = accounts.client.open(API + endpoint.path, method=endpoint.method, data=raw,
                                        content_type="application/json", headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if code is not None:
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == code
        if code == "invalid_fields":
            assert response.json["fields"], "the error names the failing fields"
            assert PASSWORD not in response.get_data(as_text=True)
    # The tables survived whatever was sent.
    assert accounts.post("/auth/login", {"email": "nobody@example.org", "password": PASSWORD}).status_code == 401


def test_sql_looking_name_is_stored_verbatim(accounts: AccountActions) -> None:
    accounts.confirmed_user("robert@example.org")
    access = accounts.login("robert@example.org")["access_token"]
    response = accounts.client.patch(f"{API}/users/me", headers=bearer(access),
                                     json={"first_name": SQL, "last_name": "Tables Straße"})
    assert response.status_code == 200
    me = accounts.me(access).json
    assert (me["first_name"], me["last_name"]) == (SQL, "Tables Straße")


def test_wrong_content_type_is_415(accounts: AccountActions) -> None:
    response = accounts.client.post(f"{API}/auth/login", data="email=a&password=b",
                                    content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["code"] == "unsupported_media_type"
