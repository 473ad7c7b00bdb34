"""POST /api/v1/datasets/<id>/tags and DELETE /api/v1/datasets/<id>/tags/<tag>, end to end:
HTTP into the app, the `openml` client in a child process, HTTP into the stand-in OpenML."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers import API, AccountActions, assert_problem
from tests.standin_openml import StandinOpenML
from tests.standin_openml import writes as oml

from .conftest import Contributors

IRIS = 61


def tag(client: FlaskClient, token_headers: dict[str, str], name: str, dataset_id: int = IRIS):
    return client.post(f"{API}/datasets/{dataset_id}/tags", json={"tag": name}, headers=token_headers)


def test_a_user_tags_a_dataset_with_their_own_key(client: FlaskClient, contributors: Contributors,
                                                  standin: StandinOpenML) -> None:
    ada = contributors.new()
    response = tag(client, ada.headers, "my-tag_1.0")
    assert response.status_code == 201, response.json
    assert response.json["dataset_id"] == IRIS
    assert "my-tag_1.0" in response.json["tags"] and "uci" in response.json["tags"]
    assert response.headers["Location"] == f"/api/v1/datasets/{IRIS}/tags/my-tag_1.0"
    [record] = standin.writes.records
    assert (record.endpoint, record.api_key, record.fields) == ("data/tag", ada.api_key,
                                                                {"data_id": str(IRIS), "tag": "my-tag_1.0"})
    assert standin.writes.tags_of(IRIS) == {"my-tag_1.0": ada.user_id}
    # OpenML's description now lists it, and so does the editor's view.
    assert "my-tag_1.0" in client.get(f"{API}/datasets/{IRIS}").json["tags"]


def test_writes_need_a_token(client: FlaskClient, standin: StandinOpenML) -> None:
    assert_problem(client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "x"}), 401, "missing_token")
    assert_problem(client.delete(f"{API}/datasets/{IRIS}/tags/x"), 401, "missing_token")
    assert standin.writes.records == []


@pytest.mark.parametrize("bad", ["", "with space", "semi;colon", "é", "a" * 65, "slash/y"])
def test_a_tag_openml_would_refuse_is_a_400_before_openml(client: FlaskClient, contributors: Contributors,
                                                          standin: StandinOpenML, bad: str) -> None:
    ada = contributors.new()
    assert_problem(tag(client, ada.headers, bad), 400, "invalid_fields")
    assert standin.writes.records == []


def test_the_longest_tag_openml_takes_is_accepted(client: FlaskClient, contributors: Contributors) -> None:
    ada = contributors.new()
    assert tag(client, ada.headers, "a" * 64).status_code == 201


def test_a_duplicate_tag_is_a_409_with_openmls_code(client: FlaskClient, contributors: Contributors) -> None:
    ada = contributors.new()
    assert tag(client, ada.headers, "twice").status_code == 201
    body = assert_problem(tag(client, ada.headers, "twice"), 409, "tag_exists")
    assert body["openml_code"] == oml.TAG_EXISTS
    assert "already tagged" in body["openml_message"]
    # A tag the dataset had before any write counts too.
    assert assert_problem(tag(client, ada.headers, "uci"), 409, "tag_exists")["openml_code"] == oml.TAG_EXISTS


def test_an_unknown_dataset_is_a_404(client: FlaskClient, contributors: Contributors) -> None:
    ada = contributors.new()
    body = assert_problem(tag(client, ada.headers, "x", dataset_id=123456), 404, "openml_not_found")
    assert body["openml_code"] == oml.TAG_ENTITY_UNKNOWN


def test_a_user_removes_their_own_tag_but_not_anothers(client: FlaskClient, contributors: Contributors,
                                                       standin: StandinOpenML) -> None:
    ada, bob = contributors.new(), contributors.new()
    assert tag(client, ada.headers, "adas").status_code == 201
    refused = assert_problem(client.delete(f"{API}/datasets/{IRIS}/tags/adas", headers=bob.headers),
                             403, "openml_forbidden")
    assert refused["openml_code"] == oml.TAG_NOT_YOURS
    response = client.delete(f"{API}/datasets/{IRIS}/tags/adas", headers=ada.headers)
    assert response.status_code == 200, response.json
    assert "adas" not in response.json["tags"] and "uci" in response.json["tags"]
    assert standin.writes.keys_seen("data/untag") == [bob.api_key, ada.api_key]
    missing = assert_problem(client.delete(f"{API}/datasets/{IRIS}/tags/adas", headers=ada.headers),
                             404, "openml_not_found")
    assert missing["openml_code"] == oml.TAG_NOT_FOUND


def test_an_invalid_tag_in_the_path_is_a_400(client: FlaskClient, contributors: Contributors,
                                             standin: StandinOpenML) -> None:
    ada = contributors.new()
    assert_problem(client.delete(f"{API}/datasets/{IRIS}/tags/{'a' * 65}", headers=ada.headers), 400, "invalid_tag")
    assert_problem(client.delete(f"{API}/datasets/{IRIS}/tags/a%20b", headers=ada.headers), 400, "invalid_tag")
    assert standin.writes.records == []


def test_a_stale_key_is_refused_and_the_answer_says_log_in_again(client: FlaskClient, accounts: AccountActions,
                                                                 contributors: Contributors,
                                                                 standin: StandinOpenML) -> None:
    ada = contributors.new()
    # The user replaces their key here; OpenML (the stand-in) still knows only the old one.
    new_key = accounts.regenerate_api_key(ada.access_token).json["api_key"]
    assert new_key != ada.api_key
    response = tag(client, ada.headers, "after-regenerate")
    body = assert_problem(response, 401, "openml_key_invalid")
    assert "log in again" in body["detail"]
    assert body["openml_code"] == oml.AUTH_FAILED
    assert standin.writes.keys_seen() == [new_key]  # the current key was sent, never the old one
    text = response.get_data(as_text=True)
    assert new_key not in text and ada.api_key not in text
