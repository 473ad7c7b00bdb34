"""Replays of the permanent takeover observed with a stolen access token: the attacker
PATCHed the victim's email without a password; the pending change survived the victim's
password change, logout-all and a reset; the old address was never told; the attacker
confirmed, reset the password, and the victim's login gave 401 for good.

Now a new email (and the API key) needs the current password or a login within
REAUTH_SECONDS; a password change, a reset and logout-all cancel pending changes and links;
the old address gets an undo link; a reset link dies with the address it was sent to."""

from __future__ import annotations

import time

import pytest

from openml_backend.accounts import emails
from tests.helpers import API, PASSWORD, AccountActions, bearer
from tests.helpers import assert_problem
from tests.helpers import bodies, token_from

VICTIM = "victim@example.org"
ATTACKER = "attacker@evil.example"
NEW_PASSWORD = "the victim's new passphrase"
ATTACKER_PASSWORD = "the attacker's own passphrase"


@pytest.fixture
def old_logins_app(make_app, smtp_settings):
    """REAUTH_SECONDS=0: no login counts as recent, like a token stolen from a session that
    logged in a while ago."""
    return make_app(**smtp_settings, REAUTH_SECONDS=0)


def patch_me(accounts: AccountActions, token: str, body: dict):
    return accounts.client.patch(f"{API}/users/me", headers=bearer(token), json=body)


def change_password(accounts: AccountActions, token: str, body: dict):
    return accounts.client.put(f"{API}/users/me/password", headers=bearer(token), json=body)


def api_key(accounts: AccountActions, token: str):
    return accounts.client.get(f"{API}/users/me/api-key", headers=bearer(token))


def test_a_stolen_token_cannot_change_the_email_or_touch_the_api_key(old_logins_app, mailbox) -> None:
    accounts = AccountActions(old_logins_app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    stolen = accounts.login(VICTIM)["access_token"]

    assert_problem(patch_me(accounts, stolen, {"email": ATTACKER}), 403, "reauthentication_required")
    assert_problem(patch_me(accounts, stolen, {"email": ATTACKER, "current_password": "a guess"}),
                   401, "invalid_credentials")
    assert_problem(api_key(accounts, stolen), 403, "reauthentication_required")
    assert_problem(accounts.post("/users/me/api-key", token=stolen), 403, "reauthentication_required")
    me = accounts.me(stolen).json
    assert (me["email"], me["email_change_pending"]) == (VICTIM, None)
    emails.wait_for_pending(10)
    assert mailbox.to(ATTACKER) == []
    # Names need no password; the owner with the password can still change the address.
    assert patch_me(accounts, stolen, {"first_name": "Frank"}).status_code == 200
    changed = patch_me(accounts, stolen, {"email": "frank.new@example.org", "current_password": PASSWORD})
    assert changed.json["email_change_pending"] == "frank.new@example.org"


def test_a_recent_login_stands_in_for_the_password(make_app, smtp_settings, mailbox) -> None:
    from openml_backend.accounts.models import User
    from openml_backend.accounts.tokens import issue_token_pair
    from openml_backend.extensions import db

    app = make_app(**smtp_settings)  # REAUTH_SECONDS default: 300
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    with app.app_context():
        user = db.session.query(User).filter_by(email=VICTIM).one()
        eleven_minutes_ago = issue_token_pair(user, auth_time=int(time.time()) - 660)
    # A refresh keeps the original login time: it does not make an old session recent.
    refreshed = accounts.post("/auth/refresh", token=eleven_minutes_ago["refresh_token"]).json
    for old in (eleven_minutes_ago["access_token"], refreshed["access_token"]):
        assert_problem(api_key(accounts, old), 403, "reauthentication_required")
        assert_problem(patch_me(accounts, old, {"email": ATTACKER}), 403, "reauthentication_required")
    fresh = accounts.login(VICTIM)["access_token"]
    assert api_key(accounts, fresh).status_code == 200
    assert accounts.post("/users/me/api-key", token=fresh).status_code == 200


@pytest.mark.parametrize("victim_acts", ["password change", "logout-all", "reset"])
def test_the_victims_response_kills_the_pending_change(old_logins_app, mailbox, victim_acts: str) -> None:
    accounts = AccountActions(old_logins_app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    # The attacker holds a token and (phished) the password, and asks for their own address.
    attacker_token = accounts.login(VICTIM)["access_token"]
    asked = patch_me(accounts, attacker_token, {"email": ATTACKER, "current_password": PASSWORD})
    assert asked.json["email_change_pending"] == ATTACKER
    confirm_link = accounts.last_token(ATTACKER)

    victim = accounts.login(VICTIM)
    if victim_acts == "password change":
        assert change_password(accounts, victim["access_token"],
                               {"current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 200
    elif victim_acts == "logout-all":
        assert accounts.post("/auth/logout-all", token=victim["access_token"]).status_code == 200
    else:
        assert accounts.post("/auth/password/forgot", {"email": VICTIM}).status_code == 202
        reset = accounts.last_token(VICTIM, 2)
        assert accounts.post("/auth/password/reset", {"token": reset, "new_password": NEW_PASSWORD}).status_code == 200

    assert_problem(accounts.post("/auth/confirm", {"token": confirm_link}), 400, "token_used")
    password = PASSWORD if victim_acts == "logout-all" else NEW_PASSWORD
    me = accounts.me(accounts.login(VICTIM, password)["access_token"]).json
    assert (me["email"], me["email_change_pending"]) == (VICTIM, None)
    assert accounts.post("/auth/password/forgot", {"email": ATTACKER}).status_code == 202
    emails.wait_for_pending(10)
    assert len(mailbox.to(ATTACKER)) == 1  # only the dead confirmation link; no reset link


def test_a_completed_takeover_is_undone_from_the_old_address(old_logins_app, mailbox) -> None:
    accounts = AccountActions(old_logins_app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    # A victim's reset link, outstanding while the address changes.
    assert accounts.post("/auth/password/forgot", {"email": VICTIM}).status_code == 202
    victims_reset = accounts.last_token(VICTIM, 2)

    # The attacker (token + phished password) moves the account to their address and resets.
    attacker_token = accounts.login(VICTIM)["access_token"]
    patch_me(accounts, attacker_token, {"email": ATTACKER, "current_password": PASSWORD})
    assert accounts.post("/auth/confirm", {"token": accounts.last_token(ATTACKER)}).status_code == 200
    assert accounts.post("/auth/password/forgot", {"email": ATTACKER}).status_code == 202
    attackers_reset = accounts.last_token(ATTACKER, 2)
    assert accounts.post("/auth/password/reset",
                         {"token": attackers_reset, "new_password": ATTACKER_PASSWORD}).status_code == 200
    attacker = accounts.login(ATTACKER, ATTACKER_PASSWORD)
    assert accounts.post("/auth/login", {"email": VICTIM, "password": PASSWORD}).status_code == 401

    # The reset link sent to the old address died with it.
    assert_problem(accounts.post("/auth/password/reset", {"token": victims_reset, "new_password": NEW_PASSWORD}),
                   400, "token_used")
    # The old address was told, with an undo link (and nothing the attacker wrote).
    emails.wait_for_pending(10)
    notice = mailbox.wait_for(VICTIM, 3)[-1]
    text, html = bodies(notice)
    assert ATTACKER in text and "undo-email-change?token=" in text and "7 days" in text
    undo = token_from(notice)
    restored = accounts.post("/auth/email/undo", {"token": undo, "new_password": NEW_PASSWORD})
    assert restored.status_code == 200 and restored.json["status"] == "email_restored"

    assert_problem(accounts.me(attacker["access_token"]), 401, "token_revoked")
    assert_problem(accounts.post("/auth/refresh", token=attacker["refresh_token"]), 401, "token_revoked")
    assert accounts.post("/auth/login", {"email": ATTACKER, "password": ATTACKER_PASSWORD}).status_code == 401
    assert accounts.post("/auth/login", {"email": VICTIM, "password": ATTACKER_PASSWORD}).status_code == 401
    me = accounts.me(accounts.login(VICTIM, NEW_PASSWORD)["access_token"]).json
    assert (me["email"], me["email_change_pending"]) == (VICTIM, None)
    assert_problem(accounts.post("/auth/email/undo", {"token": undo, "new_password": "yet another one 1"}),
                   400, "token_used")


def test_undo_link_expires_after_the_configured_days(make_app, smtp_settings, mailbox) -> None:
    from datetime import timedelta

    from openml_backend.accounts.models import EmailToken
    from openml_backend.extensions import db

    app = make_app(**smtp_settings, EMAIL_CHANGE_UNDO_DAYS=3)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)
    patch_me(accounts, accounts.login(VICTIM)["access_token"], {"email": "moved@example.org"})
    assert accounts.post("/auth/confirm", {"token": accounts.last_token("moved@example.org")}).status_code == 200
    emails.wait_for_pending(10)
    assert "3 days" in bodies(mailbox.wait_for(VICTIM, 2)[-1])[0]
    with app.app_context():
        undo = db.session.query(EmailToken).filter_by(purpose="email_undo").one()
        lifetime = undo.expires_at - undo.created_at
        assert timedelta(days=3) - timedelta(minutes=1) < lifetime <= timedelta(days=3)
        undo.expires_at = undo.created_at  # as if 3 days had passed
        db.session.commit()
    expired = accounts.post("/auth/email/undo", {"token": token_from(mailbox.to(VICTIM)[-1]),
                                                 "new_password": NEW_PASSWORD})
    assert_problem(expired, 400, "token_expired")


def test_reset_and_password_change_rotate_the_api_key_when_asked(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user(VICTIM)

    def key() -> str:
        return api_key(accounts, accounts.login(VICTIM, password)["access_token"]).json["api_key"]

    password = PASSWORD
    first = key()
    token = accounts.login(VICTIM, password)["access_token"]
    assert change_password(accounts, token, {"current_password": password, "new_password": NEW_PASSWORD}
                           ).status_code == 200
    password = NEW_PASSWORD
    assert key() == first  # off by default when changing the password
    token = accounts.login(VICTIM, password)["access_token"]
    assert change_password(accounts, token, {"current_password": password, "new_password": PASSWORD,
                                             "rotate_api_key": True}).status_code == 200
    password = PASSWORD
    second = key()
    assert second != first
    accounts.post("/auth/password/forgot", {"email": VICTIM})
    reset = accounts.last_token(VICTIM, 2)
    assert accounts.post("/auth/password/reset", {"token": reset, "new_password": NEW_PASSWORD}).status_code == 200
    password = NEW_PASSWORD
    third = key()
    assert third != second  # on by default when resetting
    accounts.post("/auth/password/forgot", {"email": VICTIM})
    reset = accounts.last_token(VICTIM, 3)
    assert accounts.post("/auth/password/reset", {"token": reset, "new_password": PASSWORD,
                                                  "rotate_api_key": False}).status_code == 200
    password = PASSWORD
    assert key() == third


def test_a_reset_link_dies_when_the_address_changes(accounts: AccountActions) -> None:
    accounts.confirmed_user(VICTIM)
    assert accounts.post("/auth/password/forgot", {"email": VICTIM}).status_code == 202
    reset = accounts.last_token(VICTIM, 2)
    patch_me(accounts, accounts.login(VICTIM)["access_token"], {"email": "moved@example.org"})
    assert accounts.post("/auth/confirm", {"token": accounts.last_token("moved@example.org")}).status_code == 200
    assert_problem(accounts.post("/auth/password/reset", {"token": reset, "new_password": NEW_PASSWORD}),
                   400, "token_used")
    accounts.login("moved@example.org")


def test_undo_does_not_take_an_address_another_account_now_has(accounts: AccountActions) -> None:
    accounts.confirmed_user(VICTIM)
    patch_me(accounts, accounts.login(VICTIM)["access_token"], {"email": "moved@example.org"})
    assert accounts.post("/auth/confirm", {"token": accounts.last_token("moved@example.org")}).status_code == 200
    emails.wait_for_pending(10)
    undo = token_from(accounts.mailbox.wait_for(VICTIM, 2)[-1])
    accounts.confirmed_user(VICTIM)  # the freed address gets an account of its own
    assert_problem(accounts.post("/auth/email/undo", {"token": undo, "new_password": NEW_PASSWORD}),
                   409, "email_taken")
    accounts.login("moved@example.org")  # nothing changed: the old password still works
    accounts.login(VICTIM)


def test_confirming_an_address_taken_meanwhile_is_a_conflict(accounts: AccountActions) -> None:
    accounts.confirmed_user(VICTIM)
    patch_me(accounts, accounts.login(VICTIM)["access_token"], {"email": "wanted@example.org"})
    link = accounts.last_token("wanted@example.org")
    accounts.confirmed_user("wanted@example.org")
    assert_problem(accounts.post("/auth/confirm", {"token": link}), 409, "email_taken")
    accounts.login(VICTIM)
    emails.wait_for_pending(10)
    assert len(accounts.mailbox.to(VICTIM)) == 1  # no undo notice for a change that did not happen
