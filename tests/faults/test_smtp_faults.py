"""SMTP refusing connections or accepting and never speaking, under a production gunicorn.

Signup and password reset answer 202 without waiting for mail (before a send could time out);
the account and its single-use links are stored (a resend can deliver them later); every
send attempt ends, as failed, within SMTP_TIMEOUT, which /metrics shows for all workers.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.helpers import mariadb_rows, metric_value, parse_metrics
from tests.servers import free_port, migrate, production_environment, silent_smtp_server, wait_until

SMTP_TIMEOUT = 10.0
# Answers must come before a send could even have timed out: they never wait for SMTP.
ANSWER_TIMEOUT = SMTP_TIMEOUT * 0.8
PASSWORD = "a long enough password 42"


@contextlib.contextmanager
def broken_smtp(kind: str):
    if kind == "refusing":
        yield free_port()
    else:
        with silent_smtp_server() as port:
            yield port


@pytest.mark.parametrize("kind", ["refusing", "silent"])
def test_signup_and_reset_answer_and_keep_the_account_when_smtp_fails(kind: str, openml, mariadb_uri: str,
                                                                       tmp_path: Path, start_gunicorn) -> None:
    with broken_smtp(kind) as port:
        env = production_environment(tmp_path, mariadb_uri, openml.api_url, SMTP_PORT=str(port),
                                     SMTP_TIMEOUT=str(SMTP_TIMEOUT))
        migrate(env)
        server = start_gunicorn(env, tmp_path / "server.log")
        email = f"{kind}@example.org"
        signup = server.http("POST", "/api/v1/auth/signup", timeout=ANSWER_TIMEOUT,
                             json={"email": email, "password": PASSWORD, "first_name": "S", "last_name": "M"})
        assert signup.status_code == 202, signup.text
        forgot = server.http("POST", "/api/v1/auth/password/forgot", timeout=ANSWER_TIMEOUT,
                             json={"email": email})
        assert forgot.status_code == 202, forgot.text

        def failed_sends() -> float:
            samples = parse_metrics(server.scrape())
            return sum(metric_value(samples, "openml_backend_emails_total", template=t, outcome="failed")
                       for t in ("confirm", "reset"))

        # Both attempts end (as failures) within the SMTP timeout, plus scheduling margin.
        wait_until(lambda: failed_sends() == 2, SMTP_TIMEOUT + 10, "both send attempts to fail")
        samples = parse_metrics(server.scrape())
        assert metric_value(samples, "openml_backend_emails_total", template="confirm", outcome="sent") == 0

    (user_id,) = mariadb_rows(mariadb_uri, "SELECT id FROM users WHERE email = %s", email)[0]
    purposes = sorted(p for (p,) in mariadb_rows(mariadb_uri, "SELECT purpose FROM email_tokens WHERE user_id = %s", user_id))
    assert purposes == ["confirm", "reset"]
