"""What the metrics (GET /metrics on the metrics port) count for accounts: refused logins, throttled attempts, emails sent and
failed. Each check compares scrapes before and after (counters live for the test process)."""

from __future__ import annotations

from flask import Flask

from openml_backend.accounts import emails
from openml_backend.metrics import exposition
from tests.accounts.conftest import PASSWORD, Accounts
from tests.metrics_scrape import parse, value
from tests.support.services import closed_port


def scrape(_app: Flask):
    """What the metrics port would serve for this process (the app's requests run in it)."""
    return parse(exposition().decode())


def test_refused_logins_and_throttled_attempts_are_counted(app: Flask, accounts: Accounts) -> None:
    accounts.confirmed_user("metered@example.org")
    limit = app.config["LOGIN_MAX_PER_ACCOUNT"]
    before = scrape(app)
    statuses = [accounts.post("/auth/login", {"email": "metered@example.org", "password": "wrong " + PASSWORD})
                .status_code for _ in range(limit + 2)]
    after = scrape(app)
    assert statuses == [401] * limit + [429, 429]
    failures = "openml_backend_login_failures_total"
    throttled = "openml_backend_throttled_total"
    assert (value(after, failures, reason="invalid_credentials")
            - value(before, failures, reason="invalid_credentials")) == limit
    assert value(after, throttled, scope="login_account") - value(before, throttled, scope="login_account") == 2


def test_unconfirmed_login_is_counted_as_its_own_reason(app: Flask, accounts: Accounts) -> None:
    assert accounts.signup("unconfirmed@example.org").status_code == 202
    before = scrape(app)
    response = accounts.post("/auth/login", {"email": "unconfirmed@example.org", "password": PASSWORD})
    after = scrape(app)
    assert response.status_code == 403
    name = "openml_backend_login_failures_total"
    assert value(after, name, reason="not_confirmed") - value(before, name, reason="not_confirmed") == 1


def test_emails_sent_and_failed_are_counted_by_template(make_app, app: Flask, accounts: Accounts) -> None:
    name = "openml_backend_emails_total"
    before = scrape(app)
    accounts.signup("mailed@example.org")
    accounts.last_token("mailed@example.org")  # delivered to the real SMTP server
    broken = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port(), SMTP_TIMEOUT=2.0)
    assert Accounts(broken.test_client(), accounts.mailbox).signup("lost@example.org").status_code == 202
    assert emails.wait_for_pending(20)
    after = scrape(app)
    assert value(after, name, template="confirm", outcome="sent") - value(
        before, name, template="confirm", outcome="sent") == 1
    assert value(after, name, template="confirm", outcome="failed") - value(
        before, name, template="confirm", outcome="failed") == 1
