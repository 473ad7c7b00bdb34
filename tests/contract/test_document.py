"""The served contract itself: a valid OpenAPI 3.1 document covering every /api route, a
readable docs page, and the statistics schema accepting every real engine output."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from flask import Flask, Response
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from openml_backend.contract import operation
from openml_backend.contract.document import IMPLICIT_METHODS, build_document, flask_path, undocumented_routes
from tests.standin_openml.datasets import ABALONE_ID, ANNEAL_ID, DEXTER_ID, GENERATED_DATASETS, IRIS_ID

OPENAPI = "/api/v1/openapi.json"
STATS_PATH = "/api/v1/datasets/{dataset_id}/stats"


def served_document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get(OPENAPI)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def response_validator(document: dict[str, Any], path: str, method: str, status: int,
                       media_type: str) -> Draft202012Validator:
    """A JSON Schema validator for one documented response, resolving the document's $refs."""
    schema = document["paths"][path][method]["responses"][str(status)]["content"][media_type]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_document_is_valid_openapi_3_1(app: Flask) -> None:
    document = served_document(app)
    assert document["openapi"].startswith("3.1.")
    validate_openapi(document)  # raises on any violation of the OpenAPI 3.1 meta-schema


def test_every_api_route_and_method_is_documented(app: Flask) -> None:
    document = served_document(app)
    in_url_map = {
        (flask_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
        for method in rule.methods - IMPLICIT_METHODS
    }
    documented = {(path, method) for path, methods in document["paths"].items() for method in methods
                  if path.startswith("/api/")}
    assert in_url_map - documented == set()
    assert undocumented_routes(app) == []
    # The endpoints this project has; a smaller document would mean routes went missing.
    assert len(in_url_map) >= 18


def test_an_undocumented_route_is_noticed(app: Flask) -> None:
    @app.get("/api/v1/not-in-the-contract")
    def not_in_the_contract() -> Response:
        return Response("x")

    assert undocumented_routes(app) == ["GET /api/v1/not-in-the-contract"]
    assert "/api/v1/not-in-the-contract" not in build_document(app)["paths"]


def test_a_path_argument_without_a_declaration_is_refused(app: Flask) -> None:
    @app.get("/api/v1/things/<thing_id>")
    @operation("A thing", tags=["test"], replies=[])
    def thing(thing_id: str) -> Response:
        return Response(thing_id)

    with pytest.raises(ValueError, match="thing_id"):
        build_document(app)


# Each operation's documented statuses, written out from the views and services by hand.
EXPECTED_STATUSES = {
    (STATS_PATH, "get"): {200, 304, 400, 403, 404, 422, 500, 502, 503},
    ("/api/v1/auth/signup", "post"): {202, 400, 413, 415, 429, 500, 503},
    ("/api/v1/auth/login", "post"): {200, 400, 401, 403, 413, 415, 429, 500, 503},
    ("/api/v1/auth/refresh", "post"): {200, 401, 500, 503},
    ("/api/v1/datasets", "post"): {201, 400, 401, 403, 409, 413, 415, 429, 500, 502, 503},
    ("/api/v1/users/me", "delete"): {204, 400, 401, 413, 415, 429, 500, 503},
    ("/api/v1/users/me/avatar", "put"): {200, 400, 401, 413, 415, 500, 503},
    ("/api/v1/users/me/avatar", "delete"): {204, 401, 500, 503},
    ("/api/v1/users/{user_id}/avatar", "get"): {200, 304, 404, 500, 503},
    ("/health", "get"): {200, 500},
    ("/health/ready", "get"): {200, 500, 503},
}


@pytest.mark.parametrize("path,method", sorted(EXPECTED_STATUSES))
def test_documented_statuses(app: Flask, path: str, method: str) -> None:
    responses = served_document(app)["paths"][path][method]["responses"]
    assert {int(status) for status in responses} == EXPECTED_STATUSES[(path, method)]


def test_retry_after_etag_and_gzip_are_documented(app: Flask) -> None:
    document = served_document(app)
    stats = document["paths"][STATS_PATH]["get"]
    assert "Retry-After" in stats["responses"]["503"]["headers"]
    assert {"ETag", "Content-Encoding", "Cache-Control"} <= set(stats["responses"]["200"]["headers"])
    assert "ETag" in stats["responses"]["304"]["headers"]
    assert "content" not in stats["responses"]["304"]
    assert "If-None-Match" in {p["name"] for p in stats["parameters"] if p["in"] == "header"}
    for path in ("/api/v1/auth/signup", "/api/v1/feedback"):
        assert "Retry-After" in document["paths"][path]["post"]["responses"]["429"]["headers"]
    assert "WWW-Authenticate" in document["paths"]["/api/v1/users/me"]["get"]["responses"]["401"]["headers"]


def test_the_picture_upload_is_multipart_and_the_picture_webp(app: Flask) -> None:
    paths = served_document(app)["paths"]
    upload = paths["/api/v1/users/me/avatar"]["put"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    assert "ETag" in paths["/api/v1/users/{user_id}/avatar"]["get"]["responses"]["304"]["headers"]
    assert list(paths["/api/v1/users/{user_id}/avatar"]["get"]["responses"]["200"]["content"]) == ["image/webp"]
    assert "security" not in paths["/api/v1/users/{user_id}/avatar"]["get"]


def test_docs_page_is_html_without_scripts_or_remote_assets(app: Flask) -> None:
    response = app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
    for path in served_document(app)["paths"]:
        assert f"<code>{path}</code>" in page


def test_a_validation_error_matches_the_documented_problem(app: Flask) -> None:
    document = served_document(app)
    response = app.test_client().post("/api/v1/auth/signup", json={"email": "not an address"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    validator = response_validator(document, "/api/v1/auth/signup", "post", 400, "application/problem+json")
    validator.validate(response.json)
    assert response.json["code"] == "invalid_fields"
    assert {item["field"] for item in response.json["fields"]} >= {"email", "password"}
    # A code the contract does not list for this status is a violation.
    assert not validator.is_valid({**response.json, "code": "something_else"})


REAL_DATASETS = [ANNEAL_ID, ABALONE_ID, IRIS_ID, pytest.param(DEXTER_ID, marks=pytest.mark.slow),  # 20,001 columns
                 *(i for i in GENERATED_DATASETS if i not in (9010, 9011, 9012))]  # those three fail on purpose


@pytest.fixture
def stats_contract_app(make_app, standin_openml) -> Flask:
    return make_app(env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": "30"})


@pytest.mark.parametrize("dataset_id", REAL_DATASETS)
def test_every_real_statistics_answer_matches_the_schema(stats_contract_app: Flask, dataset_id: int) -> None:
    document = served_document(stats_contract_app)
    validator = response_validator(document, STATS_PATH, "get", 200, "application/json")
    client = stats_contract_app.test_client()
    plain = client.get(f"/api/v1/datasets/{dataset_id}/stats?max_preview_rows=1000")
    assert plain.status_code == 200, plain.get_data(as_text=True)[:300]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(plain.json)]
    assert errors == []
    zipped = client.get(f"/api/v1/datasets/{dataset_id}/stats", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    unzipped = orjson.loads(gzip.decompress(zipped.data))
    if dataset_id == DEXTER_ID:  # 20,001 entries: validating them twice costs ~10 s for nothing new
        assert unzipped["statistics"]["distribution"] == plain.json["statistics"]["distribution"]
        return
    validator.validate(unzipped)


def test_the_statistics_schema_rejects_a_drifted_answer(stats_contract_app: Flask) -> None:
    document = served_document(stats_contract_app)
    validator = response_validator(document, STATS_PATH, "get", 200, "application/json")
    body = stats_contract_app.test_client().get(f"/api/v1/datasets/{IRIS_ID}/stats").json
    validator.validate(body)
    entry = next(iter(body["statistics"]["distribution"].values()))
    drifted = orjson.loads(orjson.dumps(body))
    drifted["statistics"]["distribution"]["sepallength"] = {**entry, "surprise": 1}
    assert not validator.is_valid(drifted)
    drifted = orjson.loads(orjson.dumps(body))
    drifted["statistics"]["meta"]["total_rows"] = "150"
    assert not validator.is_valid(drifted)


# The stand-in's failing datasets: private, unknown, broken data, OpenML answering 500 or never.
FAILING_DATASETS = [9010, 9011, 9012, 9901, 9902, 9903, 9904, 9907, 9908]


@pytest.mark.parametrize("dataset_id", FAILING_DATASETS)
def test_every_failure_of_the_statistics_is_documented(make_app, standin_openml, dataset_id: int) -> None:
    app = make_app(env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": "2"})
    document = served_document(app)
    response = app.test_client().get(f"/api/v1/datasets/{dataset_id}/stats")
    documented = document["paths"][STATS_PATH]["get"]["responses"]
    assert 400 <= response.status_code < 600 and response.status_code != 500
    assert str(response.status_code) in documented, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    response_validator(document, STATS_PATH, "get", response.status_code,
                       "application/problem+json").validate(response.json)
    for header in documented[str(response.status_code)].get("headers", {}):
        assert header in response.headers
