"""Races and limits inside one process: concurrent signups make one account, concurrent use of
one refresh token lets one through, the login throttle answers 429 with Retry-After before any
hashing, the feedback throttle, and a missing database gives 503."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from openml_backend import create_app
from openml_backend.accounts import emails
from openml_backend.config import TestingConfig
from tests.helpers import API, PASSWORD, AccountActions, run_together, token_from
from tests.servers import free_port

THREADS = 8
ROUNDS = 3


def test_concurrent_signups_with_one_address_create_one_account(make_app, smtp_settings, mailbox) -> None:
    from openml_backend.accounts.models import User
    from openml_backend.extensions import db

    # More signups to one address than EMAIL_MAX_PER_RECIPIENT allows by default.
    app = make_app(**smtp_settings, EMAIL_MAX_PER_RECIPIENT=THREADS, EMAIL_MAX_PER_ADDRESS=THREADS * ROUNDS)
    accounts = AccountActions(app.test_client(), mailbox)
    # Every thread must reach the database (the race under test), not the per-process gate.
    app.extensions["openml_backend.database_gate"].limit = THREADS

    # Several rounds: the race window (lookup to commit) is short, and one round often misses it.
    for round_number in range(ROUNDS):
        address = f"race{round_number}@example.org"
        body = {"email": address, "password": PASSWORD, "first_name": "R", "last_name": "C"}
        statuses = run_together(THREADS, lambda i: app.test_client().post(
            f"{API}/auth/signup", json={**body, "email": address.upper() if i % 2 else address}).status_code)
        assert statuses == [202] * THREADS
        with app.app_context():
            assert db.session.query(User).filter(User.email.ilike(address)).count() == 1
        emails.wait_for_pending(10)
        # The newest signup wins and kills older links: of all links sent, exactly one confirms.
        links = [token_from(message) for message in accounts.mailbox.wait_for(address)]
        answers = Counter(accounts.post("/auth/confirm", {"token": token}).status_code for token in links)
        assert answers == Counter({200: 1, 400: len(links) - 1})
        accounts.login(address)


def test_concurrent_refresh_with_one_token_lets_one_through(app, accounts: AccountActions) -> None:
    accounts.confirmed_user("racer@example.org")
    refresh_token = accounts.login("racer@example.org")["refresh_token"]
    app.extensions["openml_backend.database_gate"].limit = 4  # the race, not the per-process gate
    responses = run_together(4, lambda i: app.test_client().post(
        f"{API}/auth/refresh", headers={"Authorization": f"Bearer {refresh_token}"}))
    statuses = Counter(response.status_code for response in responses)
    assert statuses[200] == 1
    assert statuses[401] == 3


def test_login_throttle_per_account(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, LOGIN_MAX_PER_ACCOUNT=3, LOGIN_MAX_PER_ADDRESS=100)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("target@example.org")
    wrong = {"email": "target@example.org", "password": "wrong password"}
    assert [accounts.post("/auth/login", wrong).status_code for _ in range(3)] == [401] * 3
    refused = accounts.post("/auth/login", {"email": "target@example.org", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= app.config["LOGIN_WINDOW_SECONDS"]
    # Another account from the same address is not affected.
    accounts.confirmed_user("bystander@example.org")
    accounts.login("bystander@example.org")
    # Success resets the account's count: 2 failures, a success, then 3 more failures are allowed.
    accounts.confirmed_user("clumsy@example.org")
    clumsy = {"email": "clumsy@example.org", "password": "wrong password"}
    assert [accounts.post("/auth/login", clumsy).status_code for _ in range(2)] == [401, 401]
    accounts.login("clumsy@example.org")
    assert [accounts.post("/auth/login", clumsy).status_code for _ in range(3)] == [401] * 3
    assert accounts.post("/auth/login", clumsy).status_code == 429


def test_login_throttle_per_address_covers_unknown_accounts(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, LOGIN_MAX_PER_ACCOUNT=100, LOGIN_MAX_PER_ADDRESS=4)
    client = app.test_client()
    statuses = [client.post(f"{API}/auth/login", json={"email": f"guess{i}@example.org", "password": "x" * 8},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for i in range(6)]
    assert statuses == [401] * 4 + [429] * 2
    other = client.post(f"{API}/auth/login", json={"email": "guess0@example.org", "password": "x" * 8},
                        environ_base={"REMOTE_ADDR": "198.51.100.8"})
    assert other.status_code == 401


def test_throttle_refuses_before_hashing(make_app, smtp_settings, mailbox) -> None:
    # With a hash cost that cannot run (an unknown cost name), a throttled login still answers
    # 429: the refusal comes before any hashing is attempted.
    app = make_app(**smtp_settings, LOGIN_MAX_PER_ACCOUNT=1)
    client = app.test_client()
    body = {"email": "slow@example.org", "password": "wrong password"}
    assert client.post(f"{API}/auth/login", json=body).status_code == 401
    app.config["PASSWORD_HASH_COST"] = "no-such-cost"
    assert client.post(f"{API}/auth/login", json=body).status_code == 429


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(make_app, smtp_settings, mailbox) -> None:
    def statuses(app) -> list[int]:
        client = app.test_client()
        return [client.post(f"{API}/feedback", json={"email": "v@example.org", "message": "hi"},
                            headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]

    # Default: the header is the client's claim, not trusted; all three count for 127.0.0.1.
    assert statuses(make_app(**smtp_settings, FEEDBACK_MAX_PER_ADDRESS=2)) == [202, 202, 429]
    # One proxy hop configured, but the peer (127.0.0.1) is not a trusted proxy: the header is
    # still ignored, so fresh forwarded addresses meet 127.0.0.1's spent counter.
    untrusted = make_app(env={"PROXY_FIX_HOPS": "1"}, **smtp_settings, FEEDBACK_MAX_PER_ADDRESS=2)
    assert statuses(untrusted) == [429, 429, 429]
    # Behind one trusted proxy, each forwarded address has its own counter.
    trusted = make_app(env={"PROXY_FIX_HOPS": "1", "TRUSTED_PROXIES": "127.0.0.0/8"}, **smtp_settings,
                       FEEDBACK_MAX_PER_ADDRESS=2)
    assert statuses(trusted) == [202, 202, 202]
    emails.wait_for_pending(10)


def test_feedback_throttle_per_address(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, FEEDBACK_MAX_PER_ADDRESS=2)
    client = app.test_client()
    body = {"email": "chatty@example.org", "message": "hi"}
    statuses = [client.post(f"{API}/feedback", json=body).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    emails.wait_for_pending(10)
    assert len(mailbox.to("feedback@openml.test")) == 2


def test_email_sending_endpoints_are_throttled_per_address(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, EMAIL_MAX_PER_ADDRESS=2)
    client = app.test_client()
    statuses = [client.post(f"{API}/auth/password/forgot", json={"email": f"p{i}@example.org"}).status_code
                for i in range(3)]
    assert statuses == [202, 202, 429]


@pytest.mark.parametrize("broken_uri", [
    pytest.param(lambda tmp: f"mysql+pymysql://root@127.0.0.1:{free_port()}/nowhere", id="mariadb-closed-port"),
    pytest.param(lambda tmp: f"sqlite:///{tmp / 'missing-dir' / 'db.sqlite'}", id="sqlite-missing-file"),
])
def test_unreachable_database_gives_503(tmp_path: Path, broken_uri) -> None:
    app = create_app(TestingConfig(environ={"DATABASE_URI": broken_uri(tmp_path), "DATA_DIR": str(tmp_path)}))
    client = app.test_client()
    for path, body in (("/auth/login", {"email": "a@example.org", "password": PASSWORD}),
                       ("/auth/signup", {"email": "a@example.org", "password": PASSWORD, "first_name": "A",
                                         "last_name": "B"}),
                       ("/auth/password/forgot", {"email": "a@example.org"})):
        response = client.post(API + path, json=body)
        assert response.status_code == 503, (path, response.get_data(as_text=True))
        assert response.json["code"] == "database_unavailable"
        assert response.headers["Retry-After"]
