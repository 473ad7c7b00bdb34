"""What the metrics (GET /metrics on the metrics port) count for accounts: refused logins, throttled attempts, emails sent and
failed. Each check compares scrapes before and after (counters live for the test process)."""

from __future__ import annotations

from flask import Flask

from openml_backend.accounts import emails
from openml_backend.metrics import exposition
from tests.helpers import PASSWORD, AccountActions, metric_value, parse_metrics
from tests.servers import free_port


def scrape(_app: Flask):
    """What the metrics port would serve for this process (the app's requests run in it)."""
    return parse_metrics(exposition().decode())


def test_refused_logins_and_throttled_attempts_are_counted(app: Flask, accounts: AccountActions) -> None:
    accounts.confirmed_user("metered@example.org")
    limit = app.config["LOGIN_MAX_PER_ACCOUNT"]
    before = scrape(app)
    statuses = [accounts.post("/auth/login", {"email": "metered@example.org", "password": "wrong " + PASSWORD})
                .status_code for _ in range(limit + 2)]
    after = scrape(app)
    assert statuses == [401] * limit + [429, 429]
    failures = "openml_backend_login_failures_total"
    throttled = "openml_backend_throttled_total"
    assert (metric_value(after, failures, reason="invalid_credentials")
            - metric_value(before, failures, reason="invalid_credentials")) == limit
    assert metric_value(after, throttled, scope="login_account") - metric_value(before, throttled, scope="login_account") == 2


def test_unconfirmed_login_is_counted_as_its_own_reason(app: Flask, accounts: AccountActions) -> None:
    assert accounts.signup("unconfirmed@example.org").status_code == 202
    before = scrape(app)
    response = accounts.post("/auth/login", {"email": "unconfirmed@example.org", "password": PASSWORD})
    after = scrape(app)
    assert response.status_code == 403
    name = "openml_backend_login_failures_total"
    assert metric_value(after, name, reason="not_confirmed") - metric_value(before, name, reason="not_confirmed") == 1


def test_emails_sent_and_failed_are_counted_by_template(make_app, app: Flask, accounts: AccountActions) -> None:
    name = "openml_backend_emails_total"
    before = scrape(app)
    accounts.signup("mailed@example.org")
    accounts.last_token("mailed@example.org")  # delivered to the real SMTP server
    broken = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), SMTP_TIMEOUT=2.0)
    assert AccountActions(broken.test_client(), accounts.mailbox).signup("lost@example.org").status_code == 202
    assert emails.wait_for_pending(20)
    after = scrape(app)
    assert metric_value(after, name, template="confirm", outcome="sent") - metric_value(
        before, name, template="confirm", outcome="sent") == 1
    assert metric_value(after, name, template="confirm", outcome="failed") - metric_value(
        before, name, template="confirm", outcome="failed") == 1
