"""Accounts are rows of OpenML's `users` table: legacy accounts log in and keep their key, a new
account's row is what OpenML's REST API and website expect, the API key is `session_hash`
on every path the website calls, usernames are unique, deletion keeps the row, and latin1
is honoured. Each test runs on SQLite and MariaDB built by the migrations, and on a MariaDB
laid out by OpenML's schema.sql (latin1) with the legacy accounts in it.
"""

from __future__ import annotations

import re
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from openml_backend.accounts import emails
from tests.helpers import API, PASSWORD, assert_problem, bearer, token_from

OPENML_KEY = re.compile(r"^[0-9a-f]{32}$")


def row(db, user_id: int) -> dict:
    """The user's row of OpenML's `users`, by OpenML's column names."""
    return dict(db.session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user_id}).mappings().one())


def groups_of(db, user_id: int) -> list[int]:
    return sorted(db.session.execute(
        text("SELECT group_id FROM users_groups WHERE user_id = :id"), {"id": user_id}).scalars())


def id_of(db, email: str) -> int:
    return db.session.execute(text("SELECT id FROM users WHERE email = :email"), {"email": email}).scalar_one()


# --- legacy accounts -----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["ada", "openml_admin", "zoe"])
def test_argon2i_accounts_log_in_see_their_key_and_get_argon2id(accounts, legacy, db, username) -> None:
    user_id, email, password, _active, key = legacy[username]
    before = row(db, user_id)["password"]
    assert before.startswith("$argon2i$v=19$m=16384,t=4,p=2$")
    pair = accounts.login(email.upper(), password)  # addresses are case-insensitive
    assert accounts.api_key(pair["access_token"]) == key
    db.session.remove()
    after = row(db, user_id)
    assert after["password"].startswith("$argon2id$") and after["password"] != before
    assert PasswordHasher().verify(after["password"], password)
    assert after["last_login"] >= int(time.time()) - 60


def test_php_bcrypt_account_logs_in_by_username_and_is_rehashed(accounts, legacy, db) -> None:
    user_id, _email, password, _active, key = legacy["phpera"]
    assert row(db, user_id)["password"].startswith("$2y$10$")
    response = accounts.post("/auth/login", {"username": "PHPera", "password": password})
    assert response.status_code == 200, response.json
    assert accounts.api_key(response.json["access_token"]) == key
    db.session.remove()
    rewritten = row(db, user_id)["password"]
    assert rewritten.startswith("$argon2id$")
    assert PasswordHasher().verify(rewritten, password)
    # The rewritten hash logs in as well.
    assert accounts.post("/auth/login", {"username": "phpera", "password": password}).status_code == 200


def test_a_wrong_password_of_a_bcrypt_account_is_the_usual_401(accounts, legacy) -> None:
    _id, email, _password, _active, _key = legacy["phpera"]
    assert_problem(accounts.try_login(email, "not the PHP password"), 401, "invalid_credentials")


def test_bare_md5_never_logs_in_but_the_reset_flow_works(accounts, legacy, db) -> None:
    user_id, email, password, _active, _key = legacy["md5user"]
    stored = row(db, user_id)["password"]
    assert re.fullmatch(r"[0-9a-f]{32}", stored)
    for attempt in (password, stored, "wrong password"):  # the hash itself is no password either
        assert_problem(accounts.try_login(email, attempt), 401, "invalid_credentials")
    assert accounts.forgot_password(email).status_code == 202
    emails.wait_for_pending(10)
    token = token_from(accounts.mailbox.wait_for(email)[-1])
    assert accounts.reset_password(token, "a brand new password").status_code == 200
    assert accounts.try_login(email, "a brand new password").status_code == 200
    db.session.remove()
    assert row(db, user_id)["password"].startswith("$argon2id$")


def test_unconfirmed_legacy_account_must_confirm_first(accounts, legacy) -> None:
    _id, email, password, _active, _key = legacy["pending"]
    assert_problem(accounts.try_login(email, password), 403, "account_not_confirmed")
    assert_problem(accounts.try_login(email, "a wrong one"), 401, "invalid_credentials")


def test_latin1_profile_of_a_legacy_account_reads_back(accounts, legacy) -> None:
    _id, email, password, _active, _key = legacy["zoe"]
    me = accounts.me(accounts.login(email, password)["access_token"]).json
    assert (me["first_name"], me["last_name"], me["company"], me["country"], me["bio"]) == (
        "Zoë", "Öberg", "Straße 1", "Österreich", "Café owner")
    assert me["username"] == "zoe"


def test_legacy_account_without_names_has_a_profile(accounts, legacy) -> None:
    _id, email, password, _active, _key = legacy["md5user"]
    accounts.forgot_password(email)
    emails.wait_for_pending(10)
    accounts.reset_password(token_from(accounts.mailbox.wait_for(email)[-1]), "a brand new password")
    me = accounts.me(accounts.login(email, "a brand new password")["access_token"]).json
    assert (me["first_name"], me["last_name"], me["username"]) == ("", "", "md5user")
    assert me["created_at"].startswith("2012-10-")


def test_admin_keeps_its_group_after_login(accounts, legacy, db) -> None:
    user_id, email, password, _active, _key = legacy["openml_admin"]
    accounts.login(email, password)
    db.session.remove()
    assert groups_of(db, user_id) == [1]


def test_signup_with_a_legacy_address_in_other_case_makes_no_second_account(accounts, legacy, db) -> None:
    _id, email, _password, _active, _key = legacy["ada"]
    before = db.session.execute(text("SELECT COUNT(*) FROM users")).scalar_one()
    assert accounts.signup(email.lower()).status_code == 202
    emails.wait_for_pending(10)
    assert "Sign-up attempt" in accounts.mailbox.wait_for(email.lower())[-1]["Subject"]
    db.session.remove()
    assert db.session.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == before


# --- new accounts --------------------------------------------------------------------------


def test_a_new_account_is_the_row_openml_expects(accounts, db) -> None:
    started = int(time.time())
    assert accounts.signup("Grace.Hopper+ml@example.org", first_name="Grace", last_name="Hopper").status_code == 202
    emails.wait_for_pending(10)
    user_id = id_of(db, "grace.hopper+ml@example.org")
    unconfirmed = row(db, user_id)
    assert unconfirmed["active"] == 0
    assert groups_of(db, user_id) == []  # not a member before the address is confirmed
    accounts.confirm(token_from(accounts.mailbox.wait_for("grace.hopper+ml@example.org")[-1]))
    db.session.remove()
    stored = row(db, user_id)
    # The local part of the (lower-cased) address, without the characters usernames refuse.
    assert stored["username"] == "grace.hopperml"
    assert stored["email"] == "grace.hopper+ml@example.org"
    assert stored["password"].startswith("$argon2id$v=19$")
    assert PasswordHasher().verify(stored["password"], PASSWORD)
    assert OPENML_KEY.fullmatch(stored["session_hash"])
    assert stored["session_hash_date"] is not None
    assert stored["active"] == 1
    assert started - 5 <= stored["created_on"] <= int(time.time()) + 5
    assert (stored["first_name"], stored["last_name"]) == ("Grace", "Hopper")
    assert (stored["ip_address"], stored["company"], stored["country"], stored["bio"]) == ("", "", "", "")
    assert stored["core"] == "false" and stored["gamification_visibility"] == "show"
    assert groups_of(db, user_id) == [2]
    # Confirming is idempotent: a reset link (which also confirms) adds no second membership.
    accounts.forgot_password("grace.hopper+ml@example.org")
    emails.wait_for_pending(10)
    accounts.reset_password(token_from(accounts.mailbox.wait_for("grace.hopper+ml@example.org")[-1]), "new password 1")
    db.session.remove()
    assert groups_of(db, user_id) == [2]


def test_a_username_taken_in_any_case_gets_a_number(accounts, legacy, db) -> None:
    accounts.confirmed_user("ZOE@elsewhere.example")
    accounts.confirmed_user("zoe@third.example")
    db.session.remove()
    assert db.session.execute(text("SELECT username FROM users WHERE email = 'zoe@elsewhere.example'")
                              ).scalar_one() == "zoe2"
    assert db.session.execute(text("SELECT username FROM users WHERE email = 'zoe@third.example'")
                              ).scalar_one() == "zoe3"


def test_short_local_part_still_makes_a_valid_username(accounts, db) -> None:
    accounts.confirmed_user("x@example.org")
    db.session.remove()
    name = db.session.execute(text("SELECT username FROM users WHERE email = 'x@example.org'")).scalar_one()
    assert re.fullmatch(r"[A-Za-z0-9_.-]{3,30}", name) and name.startswith("x")


# --- the API key is session_hash -----------------------------------------------------------


def test_key_endpoint_and_both_website_aliases_agree_with_session_hash(accounts, db) -> None:
    accounts.confirmed_user("keys@example.org")
    access = accounts.login("keys@example.org")["access_token"]
    user_id = id_of(db, "keys@example.org")
    stored = row(db, user_id)["session_hash"]
    assert accounts.api_key(access) == stored
    website = accounts.client.get("/api-key", headers=bearer(access))
    assert website.status_code == 200 and website.json == {"apikey": stored}
    assert website.headers["Cache-Control"] == "no-store"

    regenerated = accounts.client.post("/api-key/regenerate", headers=bearer(access))
    assert regenerated.status_code == 200
    new_key = regenerated.json["api_key"]
    assert OPENML_KEY.fullmatch(new_key) and new_key != stored
    db.session.remove()
    after = row(db, user_id)
    assert after["session_hash"] == new_key
    assert accounts.client.get("/api-key", headers=bearer(access)).json == {"apikey": new_key}
    assert accounts.api_key(access) == new_key
    assert db.session.execute(text("SELECT COUNT(*) FROM users WHERE session_hash = :key"),
                              {"key": stored}).scalar_one() == 0


@pytest.mark.parametrize(("method", "path"), [("get", "/api-key"), ("post", "/api-key/regenerate")])
def test_website_aliases_need_an_access_token(accounts, method, path) -> None:
    response = getattr(accounts.client, method)(path)
    assert_problem(response, 401, "missing_token")
    response = getattr(accounts.client, method)(path, headers=bearer("not.a.token"))
    assert_problem(response, 401, "invalid_token")


def test_legacy_account_without_a_key_gets_one_when_it_asks(accounts, legacy, db) -> None:
    user_id, email, password, _active, _key = legacy["pending"]
    db.session.execute(text("UPDATE users SET active = 1 WHERE id = :id"), {"id": user_id})
    db.session.commit()
    access = accounts.login(email, password)["access_token"]
    key = accounts.client.get("/api-key", headers=bearer(access)).json["apikey"]
    assert OPENML_KEY.fullmatch(key)
    db.session.remove()
    assert row(db, user_id)["session_hash"] == key


# --- usernames -----------------------------------------------------------------------------


def test_username_can_be_changed_and_logs_in(accounts, signed_in, db) -> None:
    response = accounts.update_profile(signed_in.access_token, username="ada_l.ovelace-1")
    assert response.status_code == 200 and response.json["username"] == "ada_l.ovelace-1"
    assert accounts.post("/auth/login", {"username": "ADA_L.OVELACE-1", "password": PASSWORD}).status_code == 200


def test_a_taken_username_is_409_in_any_case(accounts, legacy, signed_in, db) -> None:
    before = accounts.me(signed_in.access_token).json
    for taken in ("zoe", "ZOE", "PhpEra"):
        response = accounts.update_profile(signed_in.access_token, username=taken, first_name="Changed")
        assert_problem(response, 409, "username_taken")
    # Nothing of the refused change was written.
    assert accounts.me(signed_in.access_token).json == before


# --- deletion keeps the row ----------------------------------------------------------------


def test_deleting_erases_the_person_and_keeps_the_row(accounts, legacy, db) -> None:
    user_id, email, password, _active, key = legacy["zoe"]
    pair = accounts.login(email, password)
    assert accounts.delete_account(pair["access_token"], password).status_code == 204
    db.session.remove()
    stored = row(db, user_id)
    assert stored["email"] == f"deleted-{user_id}@deleted.invalid"
    assert stored["username"] == f"deleted-{user_id}"
    assert stored["session_hash"] is None and stored["active"] == 0
    assert (stored["first_name"], stored["last_name"], stored["company"], stored["country"], stored["bio"]) == (
        None, None, "", "", "")
    assert groups_of(db, user_id) == []
    assert db.session.execute(text("SELECT COUNT(*) FROM users WHERE session_hash = :key"),
                              {"key": key}).scalar_one() == 0
    assert_problem(accounts.me(pair["access_token"]), 401, "token_revoked")
    assert_problem(accounts.try_login(email, password), 401, "invalid_credentials")
    assert_problem(accounts.post("/auth/login", {"username": f"deleted-{user_id}", "password": "!"}), 401,
                   "invalid_credentials")


# --- latin1 --------------------------------------------------------------------------------


def test_what_latin1_holds_round_trips(accounts, signed_in, db) -> None:
    fields = {"first_name": "Zoë", "last_name": "Öberg", "company": "Straße & Söhne", "country": "España",
              "bio": "Price: 5 € — “quoted” ½"}
    response = accounts.update_profile(signed_in.access_token, **fields)
    assert response.status_code == 200, response.json
    me = accounts.me(signed_in.access_token).json
    assert {name: me[name] for name in fields} == fields
    db.session.remove()
    stored = row(db, id_of(db, signed_in.email))
    assert {name: stored[name] for name in fields} == fields


@pytest.mark.parametrize("value", ["李", "Zoë 🎉", "Ǆ", "\U0001F600"])
def test_what_latin1_cannot_hold_is_400_naming_the_field_and_nothing_is_written(accounts, signed_in, db,
                                                                                  value) -> None:
    before = accounts.me(signed_in.access_token).json
    response = accounts.update_profile(signed_in.access_token, first_name="Unchanged?", last_name=value)
    assert_problem(response, 400, "unsupported_characters")
    assert [field["field"] for field in response.json["fields"]] == ["last_name"]
    assert accounts.me(signed_in.access_token).json == before


def test_signup_with_a_name_latin1_cannot_hold_creates_nothing(accounts, db) -> None:
    before = db.session.execute(text("SELECT COUNT(*) FROM users")).scalar_one()
    response = accounts.signup("han@example.org", first_name="李", last_name="雷")
    assert_problem(response, 400, "unsupported_characters")
    assert {field["field"] for field in response.json["fields"]} == {"first_name", "last_name"}
    db.session.remove()
    assert db.session.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == before
    assert accounts.mailbox.to("han@example.org") == []

