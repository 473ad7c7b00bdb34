"""With production hashing parameters, an unknown account costs a login as much as a wrong
password (a dummy hash is verified), so response time does not reveal which addresses exist.

This compares two medians measured in the same run (a ratio, not an absolute time); without
the dummy verify the ratio is about 0.03, with it about 1.
"""

from __future__ import annotations

import statistics
import time

import pytest

from tests.helpers import API, AccountActions

ROUNDS = 5


def median_seconds(client, body: dict) -> float:
    durations = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.post(f"{API}/auth/login", json=body)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 401
        assert response.json["code"] == "invalid_credentials"
    return statistics.median(durations)


@pytest.mark.slow  # many logins with production-cost password hashing
def test_unknown_user_and_wrong_password_cost_the_same(make_app, smtp_settings, mailbox) -> None:
    app = make_app(**smtp_settings, PASSWORD_HASH_COST="production", LOGIN_MAX_PER_ACCOUNT=100,
                   LOGIN_MAX_PER_ADDRESS=100)
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("timed@example.org")
    wrong_password = median_seconds(accounts.client, {"email": "timed@example.org", "password": "wrong password"})
    unknown_user = median_seconds(accounts.client, {"email": "nobody@example.org", "password": "wrong password"})
    ratio = unknown_user / wrong_password
    print(f"login medians: wrong password {wrong_password * 1000:.0f} ms, unknown user {unknown_user * 1000:.0f} ms, "
          f"ratio {ratio:.2f}")
    assert 0.5 < ratio < 2.0


def test_production_hashes_are_argon2id_with_the_documented_parameters(make_app, smtp_settings, mailbox, db) -> None:
    from argon2 import Type, extract_parameters

    from openml_backend.accounts.models import User

    app = make_app(**smtp_settings, PASSWORD_HASH_COST="production")
    accounts = AccountActions(app.test_client(), mailbox)
    accounts.confirmed_user("params@example.org")
    with app.app_context():
        stored = db.session.query(User).filter_by(email="params@example.org").one().password_hash
    parameters = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert parameters.type is Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (3, 65536, 1)
