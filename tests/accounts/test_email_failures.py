"""SMTP down (port closed) and SMTP silent (accepts, never answers): the client's answer does
not change, the account exists, nothing secret is logged, and resend works once mail is back."""

from __future__ import annotations

import smtplib
import time
from typing import Any

import pytest

from openml_backend.accounts import emails
from tests.helpers import PASSWORD, AccountActions
from tests.servers import free_port, silent_smtp_server, smtp_server

SMTP_TIMEOUT = 2.0


def signup_with_broken_smtp(make_app, smtp_port: int, capsys) -> tuple[Any, Any, str]:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port, SMTP_TIMEOUT=SMTP_TIMEOUT,
                   EMAIL_SERVER="https://www.openml.test")
    client = app.test_client()
    body = {"email": "unlucky@example.org", "password": PASSWORD, "first_name": "Un", "last_name": "Lucky"}
    started = time.monotonic()
    response = client.post("/api/v1/auth/signup", json=body)
    answered_after = time.monotonic() - started
    # The answer does not wait for SMTP: well under the timeout even though mail is stuck.
    assert answered_after < SMTP_TIMEOUT, answered_after
    assert emails.wait_for_pending(SMTP_TIMEOUT * 10), "the send attempt must end within its timeout"
    return app, response, capsys.readouterr().out


@pytest.mark.parametrize("broken", ["down", "silent"])
def test_signup_survives_broken_smtp_and_resend_works_afterwards(make_app, capsys, broken: str, db) -> None:
    from openml_backend.accounts.models import EmailToken, User

    reference_app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), SMTP_TIMEOUT=SMTP_TIMEOUT)
    reference = reference_app.test_client().post(
        "/api/v1/auth/signup", json={"email": "x@example.org", "password": PASSWORD, "first_name": "X",
                                     "last_name": "Y"})
    emails.wait_for_pending(SMTP_TIMEOUT * 10)

    if broken == "down":
        app, response, logged = signup_with_broken_smtp(make_app, free_port(), capsys)
    else:
        with silent_smtp_server() as port:
            app, response, logged = signup_with_broken_smtp(make_app, port, capsys)

    assert response.status_code == reference.status_code == 202
    assert response.json == reference.json
    with app.app_context():
        user = db.session.query(User).filter_by(email="unlucky@example.org").one()
        assert not user.active
        stored_hashes = [token.token_hash for token in db.session.query(EmailToken).filter_by(user_id=user.id)]
    assert '"message":"email not sent"' in logged
    assert "unlucky@example.org" not in logged.split('"message":"email not sent"')[1].split("\n")[0]
    for token_hash in stored_hashes:
        assert token_hash not in logged
    assert "token=" not in logged

    # Mail is back: resend sends a link that confirms the account created during the outage.
    with smtp_server() as smtp:
        app.config["MAIL_PORT"] = smtp.port
        accounts = AccountActions(app.test_client(), smtp.mailbox)
        assert accounts.post("/auth/confirm/resend", {"email": "unlucky@example.org"}).status_code == 202
        token = accounts.last_token("unlucky@example.org")
        assert accounts.post("/auth/confirm", {"token": token}).status_code == 200
        accounts.login("unlucky@example.org")


def test_forgot_answer_is_identical_when_sending_fails(make_app) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), SMTP_TIMEOUT=SMTP_TIMEOUT)
    client = app.test_client()
    client.post("/api/v1/auth/signup", json={"email": "known@example.org", "password": PASSWORD,
                                             "first_name": "K", "last_name": "N"})
    known = client.post("/api/v1/auth/password/forgot", json={"email": "known@example.org"})
    unknown = client.post("/api/v1/auth/password/forgot", json={"email": "unknown@example.org"})
    emails.wait_for_pending(SMTP_TIMEOUT * 10)
    assert known.status_code == unknown.status_code == 202
    assert known.json == unknown.json


def test_deliver_is_bounded_by_the_timeout() -> None:
    # The sending function on its own, against a silent server: it gives up after the timeout.
    with silent_smtp_server() as port:
        settings = emails.SmtpSettings("127.0.0.1", port, None, None, False, 0.5)
        started = time.monotonic()
        # smtplib turns the socket timeout into a disconnect while waiting for the greeting.
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected), match="timed out"):
            emails.deliver(settings, "a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nbody")
        assert time.monotonic() - started < 5
