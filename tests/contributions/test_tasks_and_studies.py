"""POST /api/v1/tasks and POST /api/v1/studies, end to end against the stand-in OpenML."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import API, assert_problem
from tests.standin_openml import StandinOpenML
from tests.standin_openml import writes as oml

from .conftest import Contributors

IRIS = 61
IRIS_TASK = {"task_type": 1, "dataset_id": IRIS, "target": "class", "estimation_procedure_id": 1,
             "evaluation_measure": "predictive_accuracy"}


def test_a_user_creates_a_task(client: FlaskClient, contributors: Contributors, standin: StandinOpenML) -> None:
    ada = contributors.new()
    response = client.post(f"{API}/tasks", json=IRIS_TASK, headers=ada.headers)
    assert response.status_code == 201, response.json
    task_id = response.json["id"]
    assert task_id in standin.writes.tasks.values()
    assert response.json["url"] == f"{standin.url}/t/{task_id}" == response.headers["Location"]
    [record] = standin.writes.records
    assert (record.endpoint, record.api_key, set(record.files)) == ("task", ada.api_key, {"description"})


def test_the_same_task_again_is_a_409_with_the_existing_id(client: FlaskClient, contributors: Contributors,
                                                          standin: StandinOpenML) -> None:
    ada, bob = contributors.new(), contributors.new()
    first = client.post(f"{API}/tasks", json=IRIS_TASK, headers=ada.headers).json["id"]
    body = assert_problem(client.post(f"{API}/tasks", json=IRIS_TASK, headers=bob.headers), 409, "task_exists")
    assert body["existing_id"] == first and body["openml_code"] == oml.TASK_EXISTS


def test_a_bad_target_or_procedure_is_a_400_from_openml(client: FlaskClient, contributors: Contributors) -> None:
    ada = contributors.new()
    for change in ({"target": "no_such_feature"}, {"estimation_procedure_id": 999}, {"dataset_id": 424242}):
        body = assert_problem(client.post(f"{API}/tasks", json=IRIS_TASK | change, headers=ada.headers),
                              400, "openml_refused")
        assert body["openml_code"] == oml.TASK_INPUT_ILLEGAL


def test_an_invalid_task_request_never_reaches_openml(client: FlaskClient, contributors: Contributors,
                                                      standin: StandinOpenML) -> None:
    ada = contributors.new()
    for body in ({**IRIS_TASK, "task_type": 4}, {k: v for k, v in IRIS_TASK.items() if k != "target"},
                 {**IRIS_TASK, "dataset_id": 0}, {**IRIS_TASK, "extra": 1}, {**IRIS_TASK, "dataset_id": "61"}):
        assert_problem(client.post(f"{API}/tasks", json=body, headers=ada.headers), 400, "invalid_fields")
    assert_problem(client.post(f"{API}/tasks", json=IRIS_TASK), 401, "missing_token")
    assert standin.writes.records == []


def test_a_regression_task(client: FlaskClient, contributors: Contributors, standin: StandinOpenML) -> None:
    ada = contributors.new()
    body = {"task_type": 2, "dataset_id": IRIS, "target": "petallength", "estimation_procedure_id": 7}
    response = client.post(f"{API}/tasks", json=body, headers=ada.headers)
    assert response.status_code == 201, response.json
    assert standin.writes.tasks[(2, IRIS, 7, "petallength", None)] == response.json["id"]


def test_a_study_of_runs_and_a_suite_of_tasks(client: FlaskClient, contributors: Contributors,
                                              standin: StandinOpenML) -> None:
    ada = contributors.new()
    study = client.post(f"{API}/studies", json={"name": "My runs", "description": "Runs I like",
                                                "run_ids": [1, 2, 3]}, headers=ada.headers)
    assert study.status_code == 201, study.json
    assert study.headers["Location"] == study.json["url"] == f"{standin.url}/s/{study.json['id']}"
    task_ids = [standin.writes.add_task(IRIS), standin.writes.add_task(2, target="class")]
    suite = client.post(f"{API}/studies", json={"name": "My suite", "description": "Tasks", "alias": "my-suite",
                                                "task_ids": task_ids}, headers=ada.headers)
    assert suite.status_code == 201, suite.json
    stored = standin.writes.studies
    assert stored[study.json["id"]] | {} == {"kind": "run", "name": "My runs", "alias": None, "ids": [1, 2, 3],
                                            "creator": ada.user_id}
    assert stored[suite.json["id"]]["kind"] == "task" and stored[suite.json["id"]]["ids"] == task_ids
    assert standin.writes.keys_seen("study") == [ada.api_key, ada.api_key]
    again = client.post(f"{API}/studies", json={"name": "Other", "description": "x", "alias": "my-suite",
                                                "task_ids": task_ids}, headers=ada.headers)
    assert assert_problem(again, 409, "study_alias_exists")["openml_code"] == oml.STUDY_ALIAS_EXISTS


def test_a_study_of_unknown_tasks_is_a_400_from_openml(client: FlaskClient, contributors: Contributors) -> None:
    ada = contributors.new()
    response = client.post(f"{API}/studies", json={"name": "n", "description": "d", "task_ids": [987654]},
                           headers=ada.headers)
    assert assert_problem(response, 400, "openml_refused")["openml_code"] == oml.STUDY_UNKNOWN_ENTITY


def test_an_invalid_study_request_never_reaches_openml(client: FlaskClient, contributors: Contributors,
                                                       standin: StandinOpenML) -> None:
    ada = contributors.new()
    for body in ({"name": "n", "description": "d"}, {"name": "n", "description": "d", "run_ids": [1], "task_ids": [1]},
                 {"name": "", "description": "d", "run_ids": [1]}, {"name": "n", "description": "d", "run_ids": []}):
        assert_problem(client.post(f"{API}/studies", json=body, headers=ada.headers), 400, "invalid_fields")
    assert_problem(client.post(f"{API}/studies", json={"name": "n", "description": "d", "run_ids": [1]}),
                   401, "missing_token")
    assert standin.writes.records == []
