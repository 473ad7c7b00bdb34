"""Replays of the enumeration and mail abuse observed through the profile: PATCH /users/me
echoed `email_change_pending` only for a free address, and 40 PATCHes in 0.4 s sent 40 mails
to an arbitrary address carrying attacker-chosen `first_name` text.

Now a taken and a free address get the same answer (the taken one's owner is told instead),
every endpoint that mails an address is limited per account and per recipient through the
database throttle, and no profile text goes to an address that confirmed nothing."""

from __future__ import annotations

from openml_backend.accounts import emails
from tests.helpers import API, AccountActions, bearer
from tests.helpers import assert_problem
from tests.helpers import bodies

TARGET = "someone.else@example.net"
SPAM = "Cheap pills at spam.example"
PER_ACCOUNT, PER_RECIPIENT = 4, 6


def patch_me(accounts: AccountActions, token: str, body: dict):
    return accounts.client.patch(f"{API}/users/me", headers=bearer(token), json=body)


def test_a_taken_and_a_free_address_get_the_same_answer(accounts: AccountActions) -> None:
    accounts.confirmed_user("owner@example.org")
    accounts.confirmed_user("prober.one@example.org")
    accounts.confirmed_user("prober.two@example.org")
    one = accounts.login("prober.one@example.org")["access_token"]
    two = accounts.login("prober.two@example.org")["access_token"]
    taken = patch_me(accounts, one, {"email": "owner@example.org"})
    free = patch_me(accounts, two, {"email": "nobody.yet@example.org"})
    assert taken.status_code == free.status_code == 200
    assert taken.json["email_change_pending"] == "owner@example.org"
    assert free.json["email_change_pending"] == "nobody.yet@example.org"
    assert set(taken.json) == set(free.json)
    assert accounts.me(one).json["email_change_pending"] == "owner@example.org"
    emails.wait_for_pending(10)
    # The owner is told, without a link; the free address gets its link.
    notice = accounts.mailbox.wait_for("owner@example.org", 2)[-1]
    assert "token=" not in bodies(notice)[0]
    assert "token=" in bodies(accounts.mailbox.wait_for("nobody.yet@example.org")[0])[0]


def test_forty_patches_deliver_at_most_the_per_account_limit(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, EMAIL_MAX_PER_ACCOUNT=PER_ACCOUNT, EMAIL_MAX_PER_RECIPIENT=PER_RECIPIENT)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("spammer@example.org")
    token = accounts.login("spammer@example.org")["access_token"]
    statuses = [patch_me(accounts, token, {"first_name": SPAM, "email": TARGET if i % 2 else "other@example.net"}
                         ).status_code for i in range(40)]
    assert statuses[:PER_ACCOUNT] == [200] * PER_ACCOUNT
    assert set(statuses[PER_ACCOUNT:]) == {429}
    emails.wait_for_pending(10)
    delivered = mailbox.to(TARGET) + mailbox.to("other@example.net")
    assert len(delivered) == PER_ACCOUNT
    for message in delivered:
        text, html = bodies(message)
        assert SPAM not in text and SPAM not in html


def test_many_accounts_deliver_at_most_the_per_recipient_limit(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, EMAIL_MAX_PER_ACCOUNT=PER_ACCOUNT, EMAIL_MAX_PER_RECIPIENT=PER_RECIPIENT)
    accounts = AccountActions(app.test_client(), mailbox)
    statuses = []
    for n in range(4):
        accounts.confirmed_user(f"spammer{n}@example.org")
        token = accounts.login(f"spammer{n}@example.org")["access_token"]
        statuses += [patch_me(accounts, token, {"email": TARGET}).status_code for _ in range(3)]
    # The forgot and resend forms mail the same recipient budget.
    statuses += [accounts.post(path, {"email": TARGET}).status_code
                 for path in ("/auth/password/forgot", "/auth/confirm/resend")]
    assert statuses.count(200) == PER_RECIPIENT
    assert set(statuses[PER_RECIPIENT:]) == {429}
    emails.wait_for_pending(10)
    assert len(mailbox.to(TARGET)) == PER_RECIPIENT


def test_forgot_resend_and_signup_are_limited_per_recipient(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, EMAIL_MAX_PER_RECIPIENT=PER_RECIPIENT)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.signup("unconfirmed@example.org", first_name=SPAM)
    known = [accounts.post("/auth/confirm/resend", {"email": "Unconfirmed@example.org"}).status_code
             for _ in range(10)]
    unknown = [accounts.post("/auth/confirm/resend", {"email": "nobody@example.org"}).status_code for _ in range(11)]
    # The same answers for a known and an unknown address (the signup counted for the first).
    assert known == [202] * (PER_RECIPIENT - 1) + [429] * (11 - PER_RECIPIENT)
    assert unknown == [202] * PER_RECIPIENT + [429] * (11 - PER_RECIPIENT)
    assert_problem(accounts.post("/auth/password/forgot", {"email": "unconfirmed@example.org"}),
                   429, "too_many_attempts")
    assert accounts.signup("unconfirmed@example.org").status_code == 429
    emails.wait_for_pending(10)
    delivered = mailbox.to("unconfirmed@example.org")
    assert len(delivered) == PER_RECIPIENT
    assert all(SPAM not in part for message in delivered for part in bodies(message))
