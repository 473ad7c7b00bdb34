"""What users see when OpenML fails, that every write carries its own user's key when many
users write at once, and the per-user write limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import API, AccountActions, assert_problem, run_together
from tests.standin_openml import StandinOpenML

from .conftest import OPENML_TIMEOUT, Contributors

IRIS = 61


def test_a_hanging_openml_is_a_503_within_openml_timeout(client: FlaskClient, contributors: Contributors,
                                                          standin: StandinOpenML) -> None:
    ada = contributors.new()
    # The first write starts the client's process server (once per process; not OpenML's time).
    assert client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "warm"}, headers=ada.headers).status_code == 201
    standin.writes.set_fault("hang")
    started = time.monotonic()
    response = client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "hung"}, headers=ada.headers)
    elapsed = time.monotonic() - started
    assert_problem(response, 503, "openml_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert OPENML_TIMEOUT - 0.5 < elapsed < OPENML_TIMEOUT + 2.5


@pytest.mark.parametrize("kind,code", [("http500", "openml_bad_gateway"), ("garbage", "openml_bad_gateway")])
def test_an_openml_error_page_or_garbage_is_a_502(client: FlaskClient, contributors: Contributors,
                                                  standin: StandinOpenML, kind: str, code: str) -> None:
    ada = contributors.new()
    standin.writes.set_fault(kind)
    assert_problem(client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "x"}, headers=ada.headers), 502, code)
    assert_problem(client.patch(f"{API}/datasets/{IRIS}", json={"description": "x"}, headers=ada.headers), 502, code)
    assert_problem(client.post(f"{API}/tasks", json={"task_type": 1, "dataset_id": IRIS, "target": "class",
                                                     "estimation_procedure_id": 1}, headers=ada.headers), 502, code)


def test_an_unknown_openml_error_code_is_a_502_that_names_it(client: FlaskClient, contributors: Contributors,
                                                             standin: StandinOpenML) -> None:
    ada = contributors.new()
    standin.writes.set_fault("error412", code=474, message="Database problem inserting tag.")
    body = assert_problem(client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "x"}, headers=ada.headers),
                          502, "openml_error")
    assert body["openml_code"] == 474


def test_parallel_users_each_write_with_their_own_key(app: Flask, contributors: Contributors,
                                                      standin: StandinOpenML, caplog: Any) -> None:
    users = [contributors.new() for _ in range(6)]

    def tag_as(index: int) -> int:
        user = users[index]
        client = app.test_client()
        statuses = []
        for round_ in range(3):
            response = client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": f"u{user.user_id}_{round_}"},
                                   headers=user.headers)
            statuses.append(response.status_code)
        return statuses

    with caplog.at_level(logging.DEBUG):
        results = run_together(len(users), tag_as)
    assert results == [[201, 201, 201]] * len(users)
    key_of = {user.user_id: user.api_key for user in users}
    records = standin.writes.records
    assert len(records) == 3 * len(users)
    for record in records:
        user_id = int(record.fields["tag"][1:].split("_")[0])
        assert record.api_key == key_of[user_id], record
    assert {t: u for t, u in standin.writes.tags_of(IRIS).items()} == {
        f"u{user.user_id}_{r}": user.user_id for user in users for r in range(3)}
    logged = caplog.text
    assert not [user.api_key for user in users if user.api_key in logged]


def test_writes_are_limited_per_user(make_app: Callable[..., Flask], smtp_settings: dict[str, Any],
                                     standin: StandinOpenML, mailbox: Any) -> None:
    app = make_app(env={"OPENML_SERVER_URL": standin.api_url, "OPENML_TIMEOUT": str(OPENML_TIMEOUT)},
                   CONTRIBUTIONS_MAX_PER_HOUR=2, **smtp_settings)
    client = app.test_client()
    contributors = Contributors(AccountActions(client, mailbox), standin)
    ada, bob = contributors.new(), contributors.new()
    for name in ("one", "two"):
        assert client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": name}, headers=ada.headers).status_code == 201
    response = client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "three"}, headers=ada.headers)
    assert_problem(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) > 0
    assert "three" not in standin.writes.tags_of(IRIS)
    # Another user has a limit of their own.
    assert client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "bobs"}, headers=bob.headers).status_code == 201
