"""Every account flow end to end through HTTP, with the mail read from a real SMTP server."""

from __future__ import annotations

import re

from openml_backend.accounts import emails
from tests.accounts.conftest import API, PASSWORD, Accounts, bearer
from tests.support.smtp import bodies

NEW_PASSWORD = "a brand new passphrase"


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code


def test_signup_confirm_login_refresh_logout(accounts: Accounts) -> None:
    email = "ada@example.org"
    response = accounts.signup(email)
    assert response.status_code == 202
    assert response.json["status"] == "accepted"

    message = accounts.mailbox.wait_for(email)[0]
    text, html = bodies(message)
    token = accounts.last_token(email)
    assert f"https://www.openml.test/auth/confirm?token={token}" in text
    assert f'href="https://www.openml.test/auth/confirm?token={token}"' in html
    assert "Ada" not in text  # no profile text in mail to an address that confirmed nothing

    # Not confirmed yet: the right password still gets 403.
    assert_problem(accounts.post("/auth/login", {"email": email, "password": PASSWORD}), 403, "account_not_confirmed")

    confirmed = accounts.post("/auth/confirm", {"token": token})
    assert confirmed.status_code == 200
    assert confirmed.json["confirmed"] == "account"

    pair = accounts.login(email)
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 15 * 60
    me = accounts.me(pair["access_token"])
    assert me.status_code == 200
    assert me.json["email"] == email
    assert me.json["first_name"] == "Ada"
    assert "password_hash" not in me.json and "api_key" not in me.json

    refreshed = accounts.post("/auth/refresh", token=pair["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json["refresh_token"] != pair["refresh_token"]
    assert accounts.me(refreshed.json["access_token"]).status_code == 200

    assert accounts.post("/auth/logout", token=refreshed.json["access_token"]).status_code == 200
    assert_problem(accounts.me(refreshed.json["access_token"]), 401, "token_revoked")
    # Logout also revoked the refresh token issued with that access token.
    assert_problem(accounts.post("/auth/refresh", token=refreshed.json["refresh_token"]), 401, "token_revoked")
    # The first session's access token was not logged out and still works.
    assert accounts.me(pair["access_token"]).status_code == 200


def test_login_accepts_mixed_case_email(accounts: Accounts) -> None:
    accounts.confirmed_user("grace@example.org")
    accounts.login("Grace@Example.ORG")


def test_signup_with_a_registered_address_answers_the_same_and_warns_the_owner(accounts: Accounts) -> None:
    email = "owner@example.org"
    accounts.confirmed_user(email)
    first = accounts.signup("someone@example.org")
    second = accounts.signup(email.upper(), password="another password 123")
    assert second.status_code == first.status_code == 202
    assert second.json == first.json
    emails.wait_for_pending(10)
    warning = accounts.mailbox.wait_for(email, 2)[-1]
    text, _ = bodies(warning)
    assert "already has an" in text
    assert "token=" not in text
    # The owner's password did not change.
    accounts.login(email)
    assert accounts.post("/auth/login", {"email": email, "password": "another password 123"}).status_code == 401


def test_resend_confirmation(accounts: Accounts) -> None:
    email = "resend@example.org"
    accounts.signup(email)
    first_token = accounts.last_token(email)
    unknown = accounts.post("/auth/confirm/resend", {"email": "nobody@example.org"})
    response = accounts.post("/auth/confirm/resend", {"email": email})
    assert response.status_code == unknown.status_code == 202
    assert response.json == unknown.json
    second_token = accounts.last_token(email, 2)
    assert second_token != first_token
    assert accounts.post("/auth/confirm", {"token": second_token}).status_code == 200
    accounts.login(email)
    assert accounts.mailbox.to("nobody@example.org") == []


def test_logout_all_revokes_every_session(accounts: Accounts) -> None:
    accounts.confirmed_user("many@example.org")
    sessions = [accounts.login("many@example.org") for _ in range(3)]
    assert accounts.post("/auth/logout-all", token=sessions[0]["access_token"]).status_code == 200
    for pair in sessions:
        assert_problem(accounts.me(pair["access_token"]), 401, "token_revoked")
        assert_problem(accounts.post("/auth/refresh", token=pair["refresh_token"]), 401, "token_revoked")
    assert accounts.me(accounts.login("many@example.org")["access_token"]).status_code == 200


def test_forgot_and_reset_password_revokes_old_tokens(accounts: Accounts) -> None:
    email = "forgetful@example.org"
    accounts.confirmed_user(email)
    old = accounts.login(email)
    unknown = accounts.post("/auth/password/forgot", {"email": "ghost@example.org"})
    known = accounts.post("/auth/password/forgot", {"email": email})
    assert known.status_code == unknown.status_code == 202
    assert known.json == unknown.json
    token = accounts.last_token(email, 2)
    text, _ = bodies(accounts.mailbox.to(email)[-1])
    assert f"https://www.openml.test/auth/reset-password?token={token}" in text

    reset = accounts.post("/auth/password/reset", {"token": token, "new_password": NEW_PASSWORD})
    assert reset.status_code == 200
    assert_problem(accounts.me(old["access_token"]), 401, "token_revoked")
    assert_problem(accounts.post("/auth/refresh", token=old["refresh_token"]), 401, "token_revoked")
    assert_problem(accounts.post("/auth/login", {"email": email, "password": PASSWORD}), 401, "invalid_credentials")
    accounts.login(email, NEW_PASSWORD)
    # Single use.
    again = accounts.post("/auth/password/reset", {"token": token, "new_password": "yet another passphrase"})
    assert_problem(again, 400, "token_used")
    assert accounts.mailbox.to("ghost@example.org") == []


def test_reset_links_die_when_the_password_changes(accounts: Accounts) -> None:
    email = "changer@example.org"
    accounts.confirmed_user(email)
    accounts.post("/auth/password/forgot", {"email": email})
    token = accounts.last_token(email, 2)
    pair = accounts.login(email)
    changed = accounts.client.put(f"{API}/users/me/password", headers=bearer(pair["access_token"]),
                                  json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    reset = accounts.post("/auth/password/reset", {"token": token, "new_password": "yet another passphrase"})
    assert reset.status_code == 400
    accounts.login(email, NEW_PASSWORD)


def test_password_change_revokes_other_sessions_and_keeps_this_one(accounts: Accounts) -> None:
    email = "rotate@example.org"
    accounts.confirmed_user(email)
    other = accounts.login(email)
    this = accounts.login(email)
    wrong = accounts.client.put(f"{API}/users/me/password", headers=bearer(this["access_token"]),
                                json={"current_password": "not my password", "new_password": NEW_PASSWORD})
    assert_problem(wrong, 401, "invalid_credentials")
    changed = accounts.client.put(f"{API}/users/me/password", headers=bearer(this["access_token"]),
                                  json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    assert_problem(accounts.me(other["access_token"]), 401, "token_revoked")
    assert accounts.me(changed.json["access_token"]).status_code == 200
    accounts.login(email, NEW_PASSWORD)


def test_profile_update_and_email_change_after_confirmation(accounts: Accounts) -> None:
    old, new = "before@example.org", "after@example.org"
    accounts.confirmed_user(old)
    access = accounts.login(old)["access_token"]
    response = accounts.client.patch(f"{API}/users/me", headers=bearer(access),
                                     json={"first_name": "Augusta", "bio": "Analyst 🧮", "email": new})
    assert response.status_code == 200
    assert response.json["first_name"] == "Augusta"
    assert response.json["bio"] == "Analyst 🧮"
    assert response.json["email"] == old  # the old address stays until the link is used
    assert response.json["email_change_pending"] == new
    accounts.login(old)

    token = accounts.last_token(new)
    text, _ = bodies(accounts.mailbox.to(new)[-1])
    assert new in text
    assert accounts.post("/auth/confirm", {"token": token}).json["confirmed"] == "email"
    assert accounts.me(access).json["email"] == new
    accounts.login(new)
    assert accounts.post("/auth/login", {"email": old, "password": PASSWORD}).status_code == 401
    assert_problem(accounts.post("/auth/confirm", {"token": token}), 400, "token_used")


def test_email_change_to_a_taken_address_changes_nothing(accounts: Accounts) -> None:
    accounts.confirmed_user("first@example.org")
    accounts.confirmed_user("second@example.org")
    access = accounts.login("first@example.org")["access_token"]
    response = accounts.client.patch(f"{API}/users/me", headers=bearer(access), json={"email": "second@example.org"})
    assert response.status_code == 200
    assert response.json["email"] == "first@example.org"
    # The same answer as for a free address; the link is never mailed, so it cannot confirm.
    assert response.json["email_change_pending"] == "second@example.org"
    emails.wait_for_pending(10)
    notice = accounts.mailbox.wait_for("second@example.org", 2)[-1]
    assert "token=" not in bodies(notice)[0]


def test_api_key_read_and_regenerate(accounts: Accounts) -> None:
    accounts.confirmed_user("keys@example.org")
    accounts.confirmed_user("other-keys@example.org")
    access = accounts.login("keys@example.org")["access_token"]
    first = accounts.client.get(f"{API}/users/me/api-key", headers=bearer(access)).json["api_key"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    regenerated = accounts.post("/users/me/api-key", token=access)
    assert regenerated.status_code == 200
    second = regenerated.json["api_key"]
    assert re.fullmatch(r"[0-9a-f]{32}", second) and second != first
    assert accounts.client.get(f"{API}/users/me/api-key", headers=bearer(access)).json["api_key"] == second
    other_access = accounts.login("other-keys@example.org")["access_token"]
    other = accounts.client.get(f"{API}/users/me/api-key", headers=bearer(other_access)).json["api_key"]
    assert other not in (first, second)


def test_delete_account(accounts: Accounts, db) -> None:
    from openml_backend.accounts.models import EmailToken, User

    email = "leaving@example.org"
    accounts.confirmed_user(email)
    pair = accounts.login(email)
    wrong = accounts.client.delete(f"{API}/users/me", headers=bearer(pair["access_token"]),
                                   json={"password": "not my password"})
    assert_problem(wrong, 401, "invalid_credentials")
    deleted = accounts.client.delete(f"{API}/users/me", headers=bearer(pair["access_token"]),
                                     json={"password": PASSWORD})
    assert deleted.status_code == 204
    assert_problem(accounts.me(pair["access_token"]), 401, "token_revoked")
    assert_problem(accounts.post("/auth/refresh", token=pair["refresh_token"]), 401, "token_revoked")
    assert accounts.post("/auth/login", {"email": email, "password": PASSWORD}).status_code == 401
    assert db.session.query(User).count() == 0
    assert db.session.query(EmailToken).count() == 0
    # The address is free again.
    accounts.confirmed_user(email)


def test_feedback_is_forwarded(accounts: Accounts) -> None:
    response = accounts.post("/feedback", {"email": "visitor@example.org", "message": "Great site <b>really</b>"})
    assert response.status_code == 202
    emails.wait_for_pending(10)
    message = accounts.mailbox.wait_for("feedback@openml.test")[0]
    text, html = bodies(message)
    assert "Great site <b>really</b>" in text
    assert "&lt;b&gt;really&lt;/b&gt;" in html  # escaped in HTML
    assert message["Reply-To"] == "visitor@example.org"


def test_only_the_latest_email_change_can_be_confirmed(accounts: Accounts) -> None:
    accounts.confirmed_user("mover@example.org")
    access = accounts.login("mover@example.org")["access_token"]
    for address in ("first-choice@example.org", "second-choice@example.org"):
        changed = accounts.client.patch(f"{API}/users/me", headers=bearer(access), json={"email": address})
        assert changed.status_code == 200
    stale = accounts.last_token("first-choice@example.org")
    assert_problem(accounts.post("/auth/confirm", {"token": stale}), 400, "token_used")
    latest = accounts.last_token("second-choice@example.org")
    assert accounts.post("/auth/confirm", {"token": latest}).status_code == 200
    assert accounts.me(access).json["email"] == "second-choice@example.org"
