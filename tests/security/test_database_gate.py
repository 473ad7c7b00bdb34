"""The per-process database gate and the database timeouts, in one process: a request that
finds DB_MAX_CONCURRENT_REQUESTS others on the database waits for a slot while they make
progress, answers 503 once they look stalled, and nothing else is held back.
(tests/faults/test_database_stall.py shows the same under a production gunicorn with a
stalled MariaDB.)"""

from __future__ import annotations

import threading
import time

import pytest

from openml_backend.config import ConfigError, ProductionConfig, TestingConfig
from openml_backend.database import GATE_STALL_SECONDS, DatabaseGate
from tests.helpers import API, PASSWORD, AccountActions, run_together

NOBODY = {"email": "nobody@example.org", "password": "not the password of anyone"}
PRODUCTION_SECRETS = {"APP_SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40,
                      "DATABASE_URI": "mysql://u:p@db:3306/openml"}


def entering_in_thread(gate: DatabaseGate) -> tuple[threading.Thread, dict]:
    """Start `gate.enter()` in a thread; the dict gets its answer and the seconds it took."""
    outcome: dict = {}

    def enter() -> None:
        started = time.monotonic()
        outcome["entered"] = gate.enter()
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=enter)
    thread.start()
    return thread, outcome


def test_a_waiter_gets_the_slot_a_young_holder_gives_back() -> None:
    gate = DatabaseGate(1, stall_seconds=30, max_wait_seconds=60)
    assert gate.try_enter()
    thread, outcome = entering_in_thread(gate)
    time.sleep(0.2)  # let it start waiting
    assert outcome == {}  # still waiting: the slot is taken
    gate.leave()
    thread.join(10)
    assert outcome["entered"] is True and outcome["seconds"] < 10
    assert gate.in_use == 1
    gate.leave()


def test_a_waiter_is_refused_at_once_when_the_holders_are_old() -> None:
    gate = DatabaseGate(2, stall_seconds=1.0, max_wait_seconds=60)
    assert gate.try_enter() and gate.try_enter()
    time.sleep(1.1)  # both holders older than the stall threshold: the database looks stalled
    started = time.monotonic()
    assert gate.enter() is False
    assert time.monotonic() - started < 0.5
    assert gate.in_use == 2  # the refused request took no slot


def test_a_waiter_gives_up_when_the_holders_stall_while_it_waits() -> None:
    gate = DatabaseGate(1, stall_seconds=0.5, max_wait_seconds=60)
    assert gate.try_enter()
    thread, outcome = entering_in_thread(gate)
    thread.join(30)
    assert outcome["entered"] is False
    assert 0.4 <= outcome["seconds"] < 10  # after the stall threshold, long before the maximum wait
    assert gate.in_use == 1


def test_after_a_stall_nobody_waits_until_a_healthy_answer() -> None:
    # In a stall, gunicorn hands each queued login in turn the one free thread; if each waited
    # the stall threshold again, /health queued behind them would miss its probe.
    gate = DatabaseGate(2, stall_seconds=0.3, max_wait_seconds=60)
    assert gate.try_enter() and gate.try_enter()
    assert gate.enter() is False and gate.stalled  # waited 0.3 s, then gave up on the holders
    gate.leave(healthy=False)  # a holder's request ends with a 503 (its database timed out)
    assert gate.enter() is True  # a free slot is still taken (how recovery gets noticed)...
    started = time.monotonic()
    assert gate.enter() is False  # ...but nobody waits, though a slot was just taken
    assert time.monotonic() - started < 0.2
    gate.leave(healthy=True)  # an answer below 500: the database answers again
    assert not gate.stalled
    thread, outcome = entering_in_thread(gate)  # the slot is free again: taken at once
    thread.join(10)
    assert outcome["entered"] is True
    thread, outcome = entering_in_thread(gate)  # both taken by young holders: this one waits
    time.sleep(0.1)
    assert outcome == {}
    gate.leave()
    thread.join(10)
    assert outcome["entered"] is True


def test_a_holder_busy_hashing_is_not_taken_for_a_stall() -> None:
    # A holder hashes for longer than the stall threshold: the waiter keeps waiting and gets
    # the slot when the holder gives it back.
    gate = DatabaseGate(1, stall_seconds=0.3, max_wait_seconds=60)
    assert gate.try_enter()
    with gate.busy_outside_database():
        thread, outcome = entering_in_thread(gate)
        time.sleep(1.0)
        assert outcome == {}  # still waiting, well past the stall threshold
    gate.leave()
    thread.join(10)
    assert outcome["entered"] is True
    gate.leave()
    assert gate.in_use == 0


def test_a_waiter_never_waits_past_the_maximum() -> None:
    gate = DatabaseGate(1, stall_seconds=30, max_wait_seconds=0.5)
    assert gate.try_enter()
    thread, outcome = entering_in_thread(gate)
    thread.join(30)
    assert outcome["entered"] is False
    assert 0.4 <= outcome["seconds"] < 10
    gate.leave()
    assert gate.enter() is True  # a free slot is taken without waiting
    gate.leave()
    assert gate.in_use == 0


def test_a_stalled_gate_answers_503_at_once_and_leaves_health_alone(make_app, smtp_settings, mailbox) -> None:
    app = make_app(env={"DB_MAX_CONCURRENT_REQUESTS": "2"}, **smtp_settings)
    gate = app.extensions["openml_backend.database_gate"]
    client = app.test_client()
    assert client.post(f"{API}/auth/login", json=NOBODY).status_code == 401
    assert gate.in_use == 0  # every slot given back

    assert gate.try_enter() and gate.try_enter()  # two requests stuck on the database ...
    time.sleep(GATE_STALL_SECONDS + 0.1)  # ... for longer than a healthy request takes
    started = time.monotonic()
    refused = client.post(f"{API}/auth/login", json=NOBODY)
    assert time.monotonic() - started < 0.5
    assert refused.status_code == 503
    assert refused.json["code"] == "database_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/health").status_code == 200
    assert client.get(f"{API}/openapi.json").status_code == 200
    assert gate.in_use == 2  # the refused request took no slot

    gate.leave()
    assert client.post(f"{API}/auth/login", json=NOBODY).status_code == 401
    gate.leave()
    assert gate.in_use == 0


def test_mysql_waits_are_bounded_by_the_settings() -> None:
    options = ProductionConfig({**PRODUCTION_SECRETS, "DB_READ_TIMEOUT": "4", "DB_WRITE_TIMEOUT": "6",
                                "DB_POOL_TIMEOUT": "2"}).SQLALCHEMY_ENGINE_OPTIONS
    assert options["connect_args"]["read_timeout"] == 4
    assert options["connect_args"]["write_timeout"] == 6
    assert options["pool_timeout"] == 2
    defaults = ProductionConfig(PRODUCTION_SECRETS)
    assert (defaults.DB_READ_TIMEOUT, defaults.DB_WRITE_TIMEOUT, defaults.DB_POOL_TIMEOUT,
            defaults.DB_MAX_CONCURRENT_REQUESTS) == (5, 5, 3, 3)


@pytest.mark.parametrize("name", ["DB_READ_TIMEOUT", "DB_WRITE_TIMEOUT", "DB_POOL_TIMEOUT",
                                  "DB_MAX_CONCURRENT_REQUESTS"])
def test_database_limits_must_be_positive(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        TestingConfig(environ={name: "0"})


def test_a_burst_of_logins_on_a_healthy_database_all_succeed(make_app, smtp_settings, mailbox) -> None:
    # 8 correct logins at once on one process with the default 3 slots: each costs a real
    # argon2 verify (about 190 ms), so most find every slot taken; they wait for one, not 503.
    app = make_app(**smtp_settings, PASSWORD_HASH_COST="production", LOGIN_MAX_PER_ADDRESS=100)
    assert app.config["DB_MAX_CONCURRENT_REQUESTS"] == 3
    accounts = AccountActions(app.test_client(), mailbox)
    users = [f"burst{number}@example.org" for number in range(8)]
    for email in users:
        accounts.confirmed_user(email)

    statuses = run_together(len(users), lambda i: app.test_client().post(
        f"{API}/auth/login", json={"email": users[i], "password": PASSWORD}).status_code)
    assert statuses == [200] * len(users)
    assert app.extensions["openml_backend.database_gate"].in_use == 0
