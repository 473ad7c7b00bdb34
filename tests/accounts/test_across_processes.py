"""Logout and the login throttle hold across processes: gunicorn with 2 workers (through
docker/entrypoint.sh and docker/gunicorn.conf.py) against the test database (SQLite file, then
MariaDB). Requests are sent concurrently so both workers serve them; each worker's own metrics
file shows which worker answered what."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.helpers import API, PASSWORD, metric_total, token_from
from tests.servers import Gunicorn, Mailbox, SmtpServer, environment_for_testing, gunicorn_command_for_testing

WORKERS = 2
CONCURRENCY = 8
REQUESTS = 40


def concurrently(count: int, call: Callable[[int], requests.Response]) -> list[requests.Response]:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(call, range(count)))


def workers_that_answered(server: Gunicorn, path: str, status: int) -> set[int]:
    """The PIDs of the workers whose own metrics count an answer `status` to `path`."""
    return {pid for pid, samples in server.samples_by_worker().items()
            if metric_total(samples, "openml_backend_http_requests_total", endpoint=path, status=str(status)) > 0}


def until_every_worker_answered(server: Gunicorn, path: str, status: int,
                                send: Callable[[], list[requests.Response]], rounds: int = 10) -> list[requests.Response]:
    """Send batches until every worker has answered `path` with `status` (a worker that is still
    booting, or a busy machine, can leave one batch to a single worker); return all answers."""
    answers: list[requests.Response] = []
    for _ in range(rounds):
        answers += send()
        if len(workers_that_answered(server, path, status)) == WORKERS:
            break
    return answers


@pytest.fixture
def server(make_app, database_uri: str, smtp: SmtpServer, tmp_path: Path, start_gunicorn) -> Gunicorn:
    make_app()  # empty tables
    env = environment_for_testing(
        tmp_path / "gunicorn", database_uri, SMTP_SERVER="127.0.0.1", SMTP_PORT=str(smtp.port), SMTP_TIMEOUT="5",
        EMAIL_SERVER="https://www.openml.test", LOGIN_MAX_PER_ACCOUNT="5", LOGIN_MAX_PER_ADDRESS="1000",
        PASSWORD_HASH_COST="low")
    return start_gunicorn(env, tmp_path / "gunicorn" / "server.log", command=gunicorn_command_for_testing(WORKERS))


def confirmed_login(server: Gunicorn, mailbox: Mailbox, email: str) -> dict:
    signup = requests.post(f"{server.url}{API}/auth/signup", timeout=30,
                           json={"email": email, "password": PASSWORD, "first_name": "G", "last_name": "U"})
    assert signup.status_code == 202
    token = token_from(mailbox.wait_for(email, timeout=30)[-1])
    assert requests.post(f"{server.url}{API}/auth/confirm", json={"token": token}, timeout=30).status_code == 200
    login = requests.post(f"{server.url}{API}/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    return login.json()


def test_logout_holds_across_workers(server: Gunicorn, mailbox: Mailbox) -> None:
    pair = confirmed_login(server, mailbox, "everywhere@example.org")
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    me = f"{server.url}{API}/users/me"

    before = until_every_worker_answered(
        server, f"{API}/users/me", 200,
        lambda: concurrently(REQUESTS, lambda _i: requests.get(me, headers=headers, timeout=30)))
    assert {response.status_code for response in before} == {200}
    assert len(workers_that_answered(server, f"{API}/users/me", 200)) == WORKERS, "both workers saw the token valid"

    assert requests.post(f"{server.url}{API}/auth/logout", headers=headers, timeout=30).status_code == 200

    after = until_every_worker_answered(
        server, f"{API}/users/me", 401,
        lambda: concurrently(REQUESTS, lambda _i: requests.get(me, headers=headers, timeout=30)))
    assert {response.status_code for response in after} == {401}
    assert {response.json()["code"] for response in after} == {"token_revoked"}
    assert len(workers_that_answered(server, f"{API}/users/me", 401)) == WORKERS, "every worker refused it"
    refresh = concurrently(8, lambda _i: requests.post(f"{server.url}{API}/auth/refresh", timeout=30,
                                                      headers={"Authorization": f"Bearer {pair['refresh_token']}"}))
    assert {response.status_code for response in refresh} == {401}


def test_login_throttle_holds_across_workers(server: Gunicorn, mailbox: Mailbox) -> None:
    confirmed_login(server, mailbox, "hammered@example.org")
    login = f"{server.url}{API}/auth/login"
    wrong = {"email": "hammered@example.org", "password": "wrong password"}
    answers = concurrently(REQUESTS, lambda _i: requests.post(login, json=wrong, timeout=30))
    statuses = [response.status_code for response in answers]
    # The counter is shared and incremented atomically: exactly the limit gets through.
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == REQUESTS - 5
    assert all(int(response.headers["Retry-After"]) >= 1 for response in answers if response.status_code == 429)
    more = until_every_worker_answered(
        server, f"{API}/auth/login", 429,
        lambda: concurrently(8, lambda _i: requests.post(login, json=wrong, timeout=30)))
    assert {response.status_code for response in more} == {429}
    assert len(workers_that_answered(server, f"{API}/auth/login", 429)) == WORKERS
    right = concurrently(8, lambda _i: requests.post(login, timeout=30,
                                                    json={"email": "hammered@example.org", "password": PASSWORD}))
    assert {response.status_code for response in right} == {429}
