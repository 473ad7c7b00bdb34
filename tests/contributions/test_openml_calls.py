"""The foundation: `run_as_user` runs one OpenML write with one user's key, in a child process
bounded by the timeout, against the stand-in OpenML over HTTP (no Flask here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openml_backend.contributions.openml_calls import run_as_user
from openml_backend.errors import ApiError
from openml_backend.openml_client.settings import OpenMLSettings
from tests.helpers import run_together
from tests.standin_openml import StandinOpenML
from tests.standin_openml import writes as oml

KEY_A, KEY_B = "a" * 32, "b" * 32


@pytest.fixture(scope="module")
def server() -> Iterator[StandinOpenML]:
    with StandinOpenML() as standin:
        yield standin


@pytest.fixture
def standin(server: StandinOpenML) -> Iterator[StandinOpenML]:
    server.reset_writes()
    server.writes.add_user(KEY_A, 11)
    server.writes.add_user(KEY_B, 12)
    yield server
    server.reset_writes()


def settings_for(standin: StandinOpenML, tmp_path: Path, timeout: float = 10.0) -> OpenMLSettings:
    return OpenMLSettings(server_url=standin.api_url, cache_dir=str(tmp_path), timeout=timeout)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def test_a_tag_is_written_with_the_users_key(standin: StandinOpenML, tmp_path: Path) -> None:
    tags = run_as_user(KEY_A, "tag", {"data_id": 61, "tag": "my_tag"}, settings_for(standin, tmp_path))
    assert "my_tag" in tags
    [record] = standin.writes.records
    assert (record.endpoint, record.api_key, record.fields) == ("data/tag", KEY_A, {"data_id": "61", "tag": "my_tag"})
    assert standin.writes.tags_of(61) == {"my_tag": 11}


def test_openml_refusals_keep_openmls_code(standin: StandinOpenML, tmp_path: Path) -> None:
    settings = settings_for(standin, tmp_path)
    run_as_user(KEY_A, "tag", {"data_id": 61, "tag": "twice"}, settings)
    duplicate = refusal(lambda: run_as_user(KEY_A, "tag", {"data_id": 61, "tag": "twice"}, settings))
    assert (duplicate.status, duplicate.code, duplicate.extra["openml_code"]) == (409, "tag_exists", oml.TAG_EXISTS)
    not_yours = refusal(lambda: run_as_user(KEY_B, "untag", {"data_id": 61, "tag": "twice"}, settings))
    assert (not_yours.status, not_yours.extra["openml_code"]) == (403, oml.TAG_NOT_YOURS)


def test_an_unknown_key_is_a_401_that_says_log_in_again(standin: StandinOpenML, tmp_path: Path) -> None:
    error = refusal(lambda: run_as_user("c" * 32, "tag", {"data_id": 61, "tag": "x"}, settings_for(standin, tmp_path)))
    assert (error.status, error.code, error.extra["openml_code"]) == (401, "openml_key_invalid", oml.AUTH_FAILED)
    assert "log in again" in error.message
    assert "c" * 32 not in repr(error.extra) + error.message


@pytest.mark.parametrize("kind,status,code", [("http500", 502, "openml_bad_gateway"),
                                              ("garbage", 502, "openml_bad_gateway"),
                                              ("error412", 502, "openml_error")])
def test_server_failures_are_bad_gateways(standin: StandinOpenML, tmp_path: Path, kind: str, status: int,
                                          code: str) -> None:
    standin.writes.set_fault(kind)
    error = refusal(lambda: run_as_user(KEY_A, "tag", {"data_id": 61, "tag": "x"}, settings_for(standin, tmp_path)))
    assert (error.status, error.code) == (status, code)


def test_a_hanging_openml_is_a_503_within_the_timeout(standin: StandinOpenML, tmp_path: Path) -> None:
    settings = settings_for(standin, tmp_path, timeout=1.0)
    run_as_user(KEY_A, "tag", {"data_id": 61, "tag": "warm"}, settings)  # the forkserver is up
    standin.writes.set_fault("hang")
    started = time.monotonic()
    error = refusal(lambda: run_as_user(KEY_A, "tag", {"data_id": 61, "tag": "x"}, settings))
    assert (error.status, error.code) == (503, "openml_unavailable")
    assert time.monotonic() - started < 1.0 + 2.0


def test_parallel_users_each_write_with_their_own_key(standin: StandinOpenML, tmp_path: Path) -> None:
    keys = {f"{index:032d}": 100 + index for index in range(8)}
    for key, user_id in keys.items():
        standin.writes.add_user(key, user_id)
    settings = settings_for(standin, tmp_path)
    ordered = list(keys)
    results = run_together(len(ordered), lambda i: run_as_user(ordered[i], "tag",
                                                                {"data_id": 61, "tag": f"user_{i}"}, settings))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.fields["tag"]: r.api_key for r in standin.writes.records} == {
        f"user_{i}": key for i, key in enumerate(ordered)}
    assert standin.writes.tags_of(61) == {f"user_{i}": keys[key] for i, key in enumerate(ordered)}
