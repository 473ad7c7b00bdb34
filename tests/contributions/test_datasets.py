"""GET and PATCH /api/v1/datasets/<id>: the editor's view of a dataset and its edits, end to
end against the stand-in OpenML (iris, the real description of dataset 61)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import API, AccountActions, assert_problem
from tests.servers import Mailbox
from tests.standin_openml import StandinOpenML
from tests.standin_openml import writes as oml

from .conftest import OPENML_TIMEOUT, Contributors

IRIS = 61
NON_CRITICAL = ["description", "creator", "contributor", "collection_date", "language", "citation",
                "original_data_url", "paper_url"]
CRITICAL = ["default_target_attribute", "row_id_attribute", "ignore_attribute"]


def test_a_public_dataset_needs_no_token(client: FlaskClient, standin: StandinOpenML) -> None:
    response = client.get(f"{API}/datasets/{IRIS}")
    assert response.status_code == 200, response.json
    body = response.json
    # Values of tests/fixtures/openml/datasets/61/description.xml.
    assert (body["id"], body["name"], body["version"]) == (IRIS, "iris", 1)
    assert body["creator"] == "R.A. Fisher" and body["collection_date"] == "1936"
    assert body["default_target_attribute"] == "class" and body["licence"] == "Public"
    assert body["language"] == "English" and body["visibility"] == "public" and body["status"] == "active"
    assert body["paper_url"] == "http://digital.library.adelaide.edu.au/dspace/handle/2440/15227"
    assert {"uci", "study_1", "Machine Learning"} <= set(body["tags"])
    assert body["description"].startswith("**Author**: R.A. Fisher")
    assert body["ignore_attribute"] == [] and body["row_id_attribute"] is None
    assert body["uploader"] is None and body["editable_by_you"] == []
    assert response.headers["Cache-Control"].startswith("no-store")


def test_only_the_uploader_may_change_the_critical_fields(client: FlaskClient, contributors: Contributors,
                                                         standin: StandinOpenML) -> None:
    owner, other = contributors.new(), contributors.new()
    standin.writes.set_owner(IRIS, owner.user_id)
    as_owner = client.get(f"{API}/datasets/{IRIS}", headers=owner.headers).json
    assert as_owner["uploader"] == owner.user_id
    assert as_owner["editable_by_you"] == NON_CRITICAL + CRITICAL
    assert client.get(f"{API}/datasets/{IRIS}", headers=other.headers).json["editable_by_you"] == NON_CRITICAL


def test_unknown_and_invalid_ids(client: FlaskClient, standin: StandinOpenML) -> None:
    assert_problem(client.get(f"{API}/datasets/424242"), 404, "dataset_not_found")
    assert_problem(client.get(f"{API}/datasets/0"), 400, "invalid_dataset_id")
    assert_problem(client.get(f"{API}/datasets/9908"), 403, "dataset_forbidden")
    assert_problem(client.get(f"{API}/datasets/9903"), 502, "openml_bad_gateway")


def test_a_user_edits_a_non_critical_field(client: FlaskClient, contributors: Contributors,
                                           standin: StandinOpenML) -> None:
    ada = contributors.new()
    response = client.patch(f"{API}/datasets/{IRIS}", json={"description": "Fisher's irises & more",
                                                             "language": "Latin"}, headers=ada.headers)
    assert response.status_code == 200, response.json
    assert response.json["description"] == "Fisher's irises & more" and response.json["language"] == "Latin"
    assert response.json["creator"] == "R.A. Fisher"  # untouched
    [record] = standin.writes.records
    assert (record.endpoint, record.api_key, record.fields) == ("data/edit", ada.api_key, {"data_id": str(IRIS)})
    assert set(record.files) == {"edit_parameters"}
    assert client.get(f"{API}/datasets/{IRIS}").json["description"] == "Fisher's irises & more"


def test_a_non_owner_may_not_change_a_critical_field(client: FlaskClient, contributors: Contributors,
                                                     standin: StandinOpenML) -> None:
    owner, other = contributors.new(), contributors.new()
    standin.writes.set_owner(IRIS, owner.user_id)
    response = client.patch(f"{API}/datasets/{IRIS}", json={"default_target_attribute": "petallength"},
                            headers=other.headers)
    body = assert_problem(response, 403, "openml_forbidden")
    assert body["openml_code"] == oml.EDIT_NOT_OWNER and "owner" in body["openml_message"]
    assert client.get(f"{API}/datasets/{IRIS}").json["default_target_attribute"] == "class"


def test_the_owner_changes_critical_fields_until_a_task_uses_the_dataset(
        client: FlaskClient, contributors: Contributors, standin: StandinOpenML) -> None:
    owner = contributors.new()
    standin.writes.set_owner(IRIS, owner.user_id)
    response = client.patch(f"{API}/datasets/{IRIS}", json={"default_target_attribute": "petallength",
                                                            "ignore_attribute": ["sepalwidth"]},
                            headers=owner.headers)
    assert response.status_code == 200, response.json
    assert response.json["default_target_attribute"] == "petallength"
    assert response.json["ignore_attribute"] == ["sepalwidth"]
    standin.writes.add_task(IRIS)
    body = assert_problem(client.patch(f"{API}/datasets/{IRIS}", json={"row_id_attribute": "id"},
                                       headers=owner.headers), 409, "critical_field_locked")
    assert body["openml_code"] == oml.EDIT_HAS_TASKS


def test_unknown_or_empty_fields_are_refused_before_openml(client: FlaskClient, contributors: Contributors,
                                                           standin: StandinOpenML) -> None:
    ada = contributors.new()
    for body in ({"licence": "CC0"}, {"name": "renamed"}, {}, {"description": ""}, {"description": None},
                 {"ignore_attribute": "a,b"}):
        assert_problem(client.patch(f"{API}/datasets/{IRIS}", json=body, headers=ada.headers), 400, "invalid_fields")
    assert standin.writes.records == []


def test_an_edit_needs_a_token(client: FlaskClient, standin: StandinOpenML) -> None:
    assert_problem(client.patch(f"{API}/datasets/{IRIS}", json={"description": "x"}), 401, "missing_token")
    assert standin.writes.records == []


def test_an_edit_of_an_unknown_dataset_is_a_404(client: FlaskClient, contributors: Contributors) -> None:
    ada = contributors.new()
    body = assert_problem(client.patch(f"{API}/datasets/424242", json={"description": "x"}, headers=ada.headers),
                          404, "openml_not_found")
    assert body["openml_code"] == oml.EDIT_UNKNOWN_DATASET


def test_statistics_stay_valid_after_an_edit_and_a_tag(make_app: Callable[..., Flask], smtp_settings: dict[str, Any],
                                                       mailbox: Mailbox, standin: StandinOpenML) -> None:
    app = make_app(env={"OPENML_SERVER_URL": standin.api_url, "OPENML_TIMEOUT": str(OPENML_TIMEOUT * 5),
                        "STATS_REVALIDATE_SECONDS": "0.3"}, **smtp_settings)
    client = app.test_client()
    ada = Contributors(AccountActions(client, mailbox), standin).new()
    first = client.get(f"{API}/datasets/{IRIS}/stats")
    assert first.status_code == 200 and first.json["cached"] is False
    downloads = standin.data_downloads(IRIS)
    assert client.patch(f"{API}/datasets/{IRIS}", json={"description": "edited"}, headers=ada.headers).status_code == 200
    assert client.post(f"{API}/datasets/{IRIS}/tags", json={"tag": "edited"}, headers=ada.headers).status_code == 201
    time.sleep(0.4)  # past STATS_REVALIDATE_SECONDS: the next answer checks OpenML's checksum
    asked = standin.count("GET", f"/api/v1/xml/data/{IRIS}")
    again = client.get(f"{API}/datasets/{IRIS}/stats")
    assert standin.count("GET", f"/api/v1/xml/data/{IRIS}") > asked  # it did check
    assert again.status_code == 200 and again.json["cached"] is True
    assert again.headers["ETag"] == first.headers["ETag"]
    assert standin.data_downloads(IRIS) == downloads
