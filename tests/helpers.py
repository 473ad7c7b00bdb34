"""Plain helpers the tests share (fixtures live in the conftest.py files, never here).

- the CI rule: a test that needs a missing service fails under CI=true and skips elsewhere;
- MariaDB scratch databases and one-off queries;
- the one error shape (`assert_problem`);
- the mail the app sends (bodies, the token of its link);
- GET /metrics and each gunicorn worker's own metrics files, read as Prometheus reads them;
- `AccountActions`: the accounts API driven through a test client, one method per action.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
API = "/api/v1"

# --- the CI rule ---------------------------------------------------------------------------


def service_missing(message: str, how_to_fix: str = "start MariaDB (see README) or set TEST_MARIADB_URL") -> None:
    """Fail under CI=true (a missing service must not pass silently), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: required)", pytrace=False)
    pytest.skip(f"{message}; {how_to_fix}")


# --- MariaDB -------------------------------------------------------------------------------

MARIADB_ADMIN_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")


def _admin_connection():
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(MARIADB_ADMIN_URL)
    return pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", connect_timeout=3, autocommit=True)


@contextlib.contextmanager
def fresh_mariadb_database(prefix: str = "openml_backend_test") -> Iterator[str]:
    """Create an empty utf8mb4 database, yield its SQLAlchemy URI, drop it afterwards.

    MariaDB unreachable: fails under CI=true, skips (saying why) elsewhere.
    """
    from sqlalchemy.engine import make_url

    try:
        admin = _admin_connection()
    except Exception as error:
        service_missing(f"MariaDB is not reachable at {make_url(MARIADB_ADMIN_URL).render_as_string()}: {error}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield make_url(MARIADB_ADMIN_URL).set(database=name).update_query_dict({"charset": "utf8mb4"}).render_as_string(
            hide_password=False
        )
    finally:
        with contextlib.suppress(Exception), _admin_connection() as cleanup, cleanup.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def mariadb_rows(database_uri: str, sql: str, *args) -> list[tuple]:
    """Run one query on the MariaDB database behind `database_uri` over its own connection."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(database_uri)
    connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                 password=url.password or "", database=url.database, connect_timeout=5)
    with connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


# --- the one error shape -------------------------------------------------------------------

PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "request_id"}


def assert_problem(response, status: int, code: str) -> dict:
    """Assert a Flask test response is the problem+json answer `status`/`code`; return its body."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "<html" not in text.lower() and "Traceback" not in text
    return body


def bearer(token: str) -> dict[str, str]:
    """The Authorization header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


# --- mail ----------------------------------------------------------------------------------

TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of `message`."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")


def token_from(message: EmailMessage) -> str:
    """The token of the link in `message`'s text body."""
    text, _html = bodies(message)
    match = TOKEN_IN_LINK.search(text)
    assert match, f"no link with a token in: {text!r}"
    return match.group(1)


# --- metrics -------------------------------------------------------------------------------

Samples = dict[tuple[str, frozenset], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a text exposition, keyed by (sample name, frozenset of label pairs)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def metric_value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels` (0 when absent: a counter not yet touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def metric_total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of every sample `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (sample_name, pairs), v in samples.items() if sample_name == name and wanted <= pairs)


def samples_by_worker(metrics_dir: Path) -> dict[int, Samples]:
    """Each gunicorn worker's own metrics (its counter/histogram files in the prometheus
    multiprocess directory), keyed by the worker's PID."""
    by_pid: dict[int, Samples] = {}
    for path in metrics_dir.glob("*_*.db"):
        pid_text = path.stem.rsplit("_", 1)[-1]
        if not pid_text.isdigit() or path.stem.startswith("gauge"):
            continue
        with tempfile.TemporaryDirectory() as scratch:
            shutil.copy(path, scratch)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=scratch)
            by_pid.setdefault(int(pid_text), {}).update(parse_metrics(generate_latest(registry).decode()))
    return by_pid


# --- the accounts API, driven like the website drives it -----------------------------------

PASSWORD = "correct horse battery staple"
TESTING_JWT_KEY = "testing-jwt-secret-key-0123456789abcdef"  # the testing configuration's JWT key


class AccountActions:
    """Walks the accounts API through a Flask test client, one method per user action
    (flaskr's AuthActions, grown to every account flow); mail is read from `mailbox`."""

    def __init__(self, client, mailbox) -> None:
        self.client = client
        self.mailbox = mailbox

    # raw requests
    def post(self, path: str, body: Any = None, token: str | None = None):
        """POST `body` as JSON to API + `path`, with `token` as bearer when given."""
        return self.client.post(API + path, json=body, headers=bearer(token) if token else {})

    def get(self, path: str, token: str):
        """GET API + `path` with `token` as bearer."""
        return self.client.get(API + path, headers=bearer(token))

    # signing up
    def signup(self, email: str, password: str = PASSWORD, first_name: str = "Ada", last_name: str = "Lovelace"):
        return self.post("/auth/signup", {"email": email, "password": password, "first_name": first_name,
                                          "last_name": last_name})

    def last_token(self, email: str, count: int = 1) -> str:
        """The token in the newest of at least `count` emails to `email` (waits for them)."""
        from openml_backend.accounts import emails

        emails.wait_for_pending(10)
        return token_from(self.mailbox.wait_for(email, count)[-1])

    def last_email(self, email: str, count: int = 1) -> EmailMessage:
        """The newest of at least `count` emails to `email` (waits for them)."""
        from openml_backend.accounts import emails

        emails.wait_for_pending(10)
        return self.mailbox.wait_for(email, count)[-1]

    def confirm(self, token: str):
        return self.post("/auth/confirm", {"token": token})

    def resend_confirmation(self, email: str):
        return self.post("/auth/confirm/resend", {"email": email})

    def confirmed_user(self, email: str, password: str = PASSWORD) -> None:
        """Sign up and follow the confirmation link: an account that may log in."""
        assert self.signup(email, password).status_code == 202
        assert self.confirm(self.last_token(email)).status_code == 200

    # sessions
    def try_login(self, email: str, password: str = PASSWORD):
        return self.post("/auth/login", {"email": email, "password": password})

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """Log in (which must succeed); the token pair."""
        response = self.try_login(email, password)
        assert response.status_code == 200, response.json
        return response.json

    def refresh(self, refresh_token: str):
        return self.post("/auth/refresh", token=refresh_token)

    def logout(self, access_token: str):
        return self.post("/auth/logout", token=access_token)

    def logout_everywhere(self, access_token: str):
        return self.post("/auth/logout-all", token=access_token)

    # passwords
    def forgot_password(self, email: str):
        return self.post("/auth/password/forgot", {"email": email})

    def reset_password(self, token: str, new_password: str):
        return self.post("/auth/password/reset", {"token": token, "new_password": new_password})

    def change_password(self, access_token: str, current_password: str, new_password: str):
        return self.client.put(f"{API}/users/me/password", headers=bearer(access_token),
                               json={"current_password": current_password, "new_password": new_password})

    # the profile
    def me(self, access_token: str):
        return self.get("/users/me", access_token)

    def update_profile(self, access_token: str, **fields: Any):
        return self.client.patch(f"{API}/users/me", headers=bearer(access_token), json=fields)

    def delete_account(self, access_token: str, password: str):
        return self.client.delete(f"{API}/users/me", headers=bearer(access_token), json={"password": password})

    # the API key
    def api_key(self, access_token: str) -> str:
        return self.get("/users/me/api-key", access_token).json["api_key"]

    def regenerate_api_key(self, access_token: str):
        return self.post("/users/me/api-key", token=access_token)

    # feedback
    def send_feedback(self, email: str, message: str):
        return self.post("/feedback", {"email": email, "message": message})


class StandingAccount:
    """A confirmed account of `app` that tests may knock down (a fuzzed DELETE, logout or
    password change): `ensure_exists()` brings it back, `fresh_tokens()` gives a valid pair."""

    def __init__(self, app, mailbox, email: str, password: str) -> None:
        self.app, self.mailbox, self.email, self.password = app, mailbox, email, password

    def ensure_exists(self) -> None:
        """Sign up and confirm the account through the API unless it exists."""
        from openml_backend.accounts import emails
        from openml_backend.accounts.models import User
        from openml_backend.extensions import db

        with self.app.app_context():
            if db.session.query(User).filter_by(email=self.email).one_or_none() is not None:
                return
        client = self.app.test_client()
        sent = len(self.mailbox.to(self.email))
        body = {"email": self.email, "password": self.password, "first_name": "Con", "last_name": "Tract"}
        assert client.post(f"{API}/auth/signup", json=body).status_code == 202
        emails.wait_for_pending(10)
        token = token_from(self.mailbox.wait_for(self.email, sent + 1)[-1])
        assert client.post(f"{API}/auth/confirm", json={"token": token}).status_code == 200

    def fresh_tokens(self) -> dict[str, Any]:
        """A new, valid token pair (fuzzed logouts and password changes revoke older ones).

        Issued by the service's own token code rather than by logging in, so the login
        throttle and password hashing do not slow the fuzzing down.
        """
        from openml_backend.accounts.models import User
        from openml_backend.accounts.tokens import issue_token_pair
        from openml_backend.extensions import db

        self.ensure_exists()
        with self.app.app_context():
            user = db.session.query(User).filter_by(email=self.email).one()
            return issue_token_pair(user)


def run_together(count: int, action) -> list:
    """Run `action(i)` in `count` threads released at the same moment; return the results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[index] = action(index)
        except Exception as error:  # reported through the results
            results[index] = error

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return results
