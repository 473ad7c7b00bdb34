"""The per-process database gate and the database timeouts, in one process: a request that
would use the database while DB_MAX_CONCURRENT_REQUESTS others do answers 503 at once, and
nothing else is held back. (tests/faults/test_database_stall.py shows the same under a
production gunicorn with a stalled MariaDB.)"""

from __future__ import annotations

import time

import pytest

from openml_backend.config import ConfigError, ProductionConfig, TestingConfig
from tests.helpers import API

NOBODY = {"email": "nobody@example.org", "password": "not the password of anyone"}
PRODUCTION_SECRETS = {"APP_SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40,
                      "DATABASE_URI": "mysql://u:p@db:3306/openml"}


def test_a_full_gate_answers_503_at_once_and_leaves_health_alone(make_app, smtp_settings, mailbox) -> None:
    app = make_app(env={"DB_MAX_CONCURRENT_REQUESTS": "2"}, **smtp_settings)
    gate = app.extensions["openml_backend.database_gate"]
    client = app.test_client()
    assert client.post(f"{API}/auth/login", json=NOBODY).status_code == 401
    assert gate.in_use == 0  # every slot given back

    assert gate.try_enter() and gate.try_enter()  # two requests stuck on the database
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
