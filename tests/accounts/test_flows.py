"""The account flows, end to end through HTTP, with the mail read from a real SMTP server.

Read top to bottom, this is the specification: sign up, confirm, log in, refresh, log out,
forget and reset a password, change it, edit the profile and the address, the API key,
delete the account, send feedback. `accounts` performs one user action per method;
`signed_in` is a confirmed account logged in once.
"""

from __future__ import annotations

import re

from openml_backend.accounts import emails
from tests.helpers import PASSWORD, AccountActions, assert_problem, bodies

NEW_PASSWORD = "a brand new passphrase"
SITE = "https://www.openml.test"

# --- signing up and confirming -------------------------------------------------------------


def test_signup_is_accepted_and_mails_a_confirmation_link(accounts: AccountActions) -> None:
    response = accounts.signup("ada@example.org")
    assert response.status_code == 202
    assert response.json["status"] == "accepted"

    text, html = bodies(accounts.last_email("ada@example.org"))
    token = accounts.last_token("ada@example.org")
    assert f"{SITE}/auth/confirm?token={token}" in text
    assert f'href="{SITE}/auth/confirm?token={token}"' in html
    assert "Ada" not in text  # no profile text in mail to an address that confirmed nothing


def test_login_is_refused_until_the_confirmation_link_is_followed(accounts: AccountActions) -> None:
    accounts.signup("ada@example.org")
    # Not confirmed yet: the right password still gets 403.
    assert_problem(accounts.try_login("ada@example.org"), 403, "account_not_confirmed")

    confirmed = accounts.confirm(accounts.last_token("ada@example.org"))
    assert confirmed.status_code == 200
    assert confirmed.json["confirmed"] == "account"
    accounts.login("ada@example.org")


def test_signup_with_a_registered_address_answers_the_same_and_warns_the_owner(accounts: AccountActions) -> None:
    email = "owner@example.org"
    accounts.confirmed_user(email)
    first = accounts.signup("someone@example.org")
    second = accounts.signup(email.upper(), password="another password 123")
    assert second.status_code == first.status_code == 202
    assert second.json == first.json
    text, _ = bodies(accounts.last_email(email, 2))
    assert "already has an" in text
    assert "token=" not in text
    # The owner's password did not change.
    accounts.login(email)
    assert accounts.try_login(email, "another password 123").status_code == 401


def test_resending_the_confirmation_mails_a_new_link_and_hides_unknown_addresses(accounts: AccountActions) -> None:
    email = "resend@example.org"
    accounts.signup(email)
    first_token = accounts.last_token(email)
    unknown = accounts.resend_confirmation("nobody@example.org")
    response = accounts.resend_confirmation(email)
    assert response.status_code == unknown.status_code == 202
    assert response.json == unknown.json
    second_token = accounts.last_token(email, 2)
    assert second_token != first_token
    assert accounts.confirm(second_token).status_code == 200
    accounts.login(email)
    assert accounts.mailbox.to("nobody@example.org") == []


# --- logging in, refreshing, logging out ---------------------------------------------------


def test_login_returns_a_bearer_pair_whose_access_token_reads_the_profile(accounts: AccountActions) -> None:
    accounts.confirmed_user("ada@example.org")
    pair = accounts.login("ada@example.org")
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 15 * 60
    me = accounts.me(pair["access_token"])
    assert me.status_code == 200
    assert me.json["email"] == "ada@example.org"
    assert me.json["first_name"] == "Ada"
    assert "password_hash" not in me.json and "api_key" not in me.json


def test_login_accepts_the_address_in_any_case(accounts: AccountActions) -> None:
    accounts.confirmed_user("grace@example.org")
    accounts.login("Grace@Example.ORG")


def test_refresh_issues_a_new_pair(accounts: AccountActions, signed_in) -> None:
    refreshed = accounts.refresh(signed_in.refresh_token)
    assert refreshed.status_code == 200
    assert refreshed.json["refresh_token"] != signed_in.refresh_token
    assert accounts.me(refreshed.json["access_token"]).status_code == 200


def test_logout_revokes_that_session_and_its_refresh_token_only(accounts: AccountActions, signed_in) -> None:
    other = accounts.refresh(signed_in.refresh_token).json
    assert accounts.logout(other["access_token"]).status_code == 200
    assert_problem(accounts.me(other["access_token"]), 401, "token_revoked")
    # Logout also revoked the refresh token issued with that access token.
    assert_problem(accounts.refresh(other["refresh_token"]), 401, "token_revoked")
    # The first session's access token was not logged out and still works.
    assert accounts.me(signed_in.access_token).status_code == 200


def test_logout_everywhere_revokes_every_session(accounts: AccountActions) -> None:
    accounts.confirmed_user("many@example.org")
    sessions = [accounts.login("many@example.org") for _ in range(3)]
    assert accounts.logout_everywhere(sessions[0]["access_token"]).status_code == 200
    for pair in sessions:
        assert_problem(accounts.me(pair["access_token"]), 401, "token_revoked")
        assert_problem(accounts.refresh(pair["refresh_token"]), 401, "token_revoked")
    assert accounts.me(accounts.login("many@example.org")["access_token"]).status_code == 200


# --- forgotten and changed passwords -------------------------------------------------------


def test_forgot_and_reset_password_revokes_old_tokens(accounts: AccountActions, signed_in) -> None:
    email = signed_in.email
    unknown = accounts.forgot_password("ghost@example.org")
    known = accounts.forgot_password(email)
    assert known.status_code == unknown.status_code == 202
    assert known.json == unknown.json
    token = accounts.last_token(email, 2)
    text, _ = bodies(accounts.mailbox.to(email)[-1])
    assert f"{SITE}/auth/reset-password?token={token}" in text

    assert accounts.reset_password(token, NEW_PASSWORD).status_code == 200
    assert_problem(accounts.me(signed_in.access_token), 401, "token_revoked")
    assert_problem(accounts.refresh(signed_in.refresh_token), 401, "token_revoked")
    assert_problem(accounts.try_login(email, PASSWORD), 401, "invalid_credentials")
    accounts.login(email, NEW_PASSWORD)
    # Single use.
    assert_problem(accounts.reset_password(token, "yet another passphrase"), 400, "token_used")
    assert accounts.mailbox.to("ghost@example.org") == []


def test_reset_links_die_when_the_password_changes(accounts: AccountActions, signed_in) -> None:
    accounts.forgot_password(signed_in.email)
    token = accounts.last_token(signed_in.email, 2)
    assert accounts.change_password(signed_in.access_token, PASSWORD, NEW_PASSWORD).status_code == 200
    assert accounts.reset_password(token, "yet another passphrase").status_code == 400
    accounts.login(signed_in.email, NEW_PASSWORD)


def test_password_change_needs_the_current_password_and_revokes_other_sessions(accounts: AccountActions,
                                                                                signed_in) -> None:
    this = accounts.login(signed_in.email)
    wrong = accounts.change_password(this["access_token"], "not my password", NEW_PASSWORD)
    assert_problem(wrong, 401, "invalid_credentials")
    changed = accounts.change_password(this["access_token"], PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200
    assert_problem(accounts.me(signed_in.access_token), 401, "token_revoked")
    # The session that changed it goes on with the new pair the answer carries.
    assert accounts.me(changed.json["access_token"]).status_code == 200
    accounts.login(signed_in.email, NEW_PASSWORD)


# --- the profile and the address -----------------------------------------------------------


def test_profile_update_and_email_change_after_confirmation(accounts: AccountActions) -> None:
    old, new = "before@example.org", "after@example.org"
    accounts.confirmed_user(old)
    access = accounts.login(old)["access_token"]
    response = accounts.update_profile(access, first_name="Augusta", bio="Analystin, Zürich", email=new)
    assert response.status_code == 200
    assert response.json["first_name"] == "Augusta"
    assert response.json["bio"] == "Analystin, Zürich"
    assert response.json["email"] == old  # the old address stays until the link is used
    assert response.json["email_change_pending"] == new
    accounts.login(old)

    token = accounts.last_token(new)
    text, _ = bodies(accounts.mailbox.to(new)[-1])
    assert new in text
    assert accounts.confirm(token).json["confirmed"] == "email"
    assert accounts.me(access).json["email"] == new
    accounts.login(new)
    assert accounts.try_login(old).status_code == 401
    assert_problem(accounts.confirm(token), 400, "token_used")


def test_email_change_to_a_taken_address_changes_nothing_and_tells_its_owner(accounts: AccountActions) -> None:
    accounts.confirmed_user("first@example.org")
    accounts.confirmed_user("second@example.org")
    access = accounts.login("first@example.org")["access_token"]
    response = accounts.update_profile(access, email="second@example.org")
    assert response.status_code == 200
    assert response.json["email"] == "first@example.org"
    # The same answer as for a free address; the link is never mailed, so it cannot confirm.
    assert response.json["email_change_pending"] == "second@example.org"
    notice = accounts.last_email("second@example.org", 2)
    assert "token=" not in bodies(notice)[0]


def test_only_the_latest_email_change_can_be_confirmed(accounts: AccountActions, signed_in) -> None:
    for address in ("first-choice@example.org", "second-choice@example.org"):
        assert accounts.update_profile(signed_in.access_token, email=address).status_code == 200
    stale = accounts.last_token("first-choice@example.org")
    assert_problem(accounts.confirm(stale), 400, "token_used")
    latest = accounts.last_token("second-choice@example.org")
    assert accounts.confirm(latest).status_code == 200
    assert accounts.me(signed_in.access_token).json["email"] == "second-choice@example.org"


# --- the API key ---------------------------------------------------------------------------


def test_api_key_is_32_hex_characters_per_account_and_can_be_regenerated(accounts: AccountActions,
                                                                          signed_in) -> None:
    accounts.confirmed_user("other-keys@example.org")
    first = accounts.api_key(signed_in.access_token)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    regenerated = accounts.regenerate_api_key(signed_in.access_token)
    assert regenerated.status_code == 200
    second = regenerated.json["api_key"]
    assert re.fullmatch(r"[0-9a-f]{32}", second) and second != first
    assert accounts.api_key(signed_in.access_token) == second
    other = accounts.api_key(accounts.login("other-keys@example.org")["access_token"])
    assert other not in (first, second)


# --- leaving -------------------------------------------------------------------------------


def test_delete_account_needs_the_password_and_frees_the_address(accounts: AccountActions, signed_in, db) -> None:
    from openml_backend.accounts.models import EmailToken, User

    assert_problem(accounts.delete_account(signed_in.access_token, "not my password"), 401, "invalid_credentials")
    assert accounts.delete_account(signed_in.access_token, PASSWORD).status_code == 204
    assert_problem(accounts.me(signed_in.access_token), 401, "token_revoked")
    assert_problem(accounts.refresh(signed_in.refresh_token), 401, "token_revoked")
    assert accounts.try_login(signed_in.email).status_code == 401
    # The person is erased; the row stays, because OpenML's datasets and runs point to its id.
    row = db.session.query(User).filter(User.email.like("deleted-%")).one()
    assert (row.email, row.username) == (f"deleted-{row.id}@deleted.invalid", f"deleted-{row.id}")
    assert (row.api_key, row.active, row.first_name, row.last_name, row.bio) == (None, False, None, None, "")
    assert not row.password_hash.startswith("$")
    assert db.session.query(EmailToken).count() == 0
    # The address and the username are free again.
    accounts.confirmed_user(signed_in.email)


# --- feedback ------------------------------------------------------------------------------


def test_feedback_is_forwarded_with_the_sender_as_reply_to(accounts: AccountActions) -> None:
    response = accounts.send_feedback("visitor@example.org", "Great site <b>really</b>")
    assert response.status_code == 202
    emails.wait_for_pending(10)
    message = accounts.mailbox.wait_for("feedback@openml.test")[0]
    text, html = bodies(message)
    assert "Great site <b>really</b>" in text
    assert "&lt;b&gt;really&lt;/b&gt;" in html  # escaped in HTML
    assert message["Reply-To"] == "visitor@example.org"
