"""GET /api/v1/datasets/<id>/stats through HTTP semantics, against the stand-in OpenML server.

The real `openml` client fetches from the stand-in over real HTTP; the database is real
(SQLite and MariaDB in turn). Expected values come from the source data, computed here.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from flask import Flask
from sqlalchemy import func, select

from openml_backend.datasets.models import StatsEntry, StatsLease
from openml_backend.extensions import db
from tests.paths import openml_fixture
from tests.standin_openml.datasets import iris_table

IRIS = 61
ANNEAL = 2
TIMEOUT = 15.0  # generous: a busy CI machine must not turn a healthy fetch into a 503
FAULT_TIMEOUT = 3.0  # short: the hang and slow faults wait this long


@pytest.fixture
def stats_app(make_app: Callable[..., Flask], standin_openml) -> Callable[..., Flask]:
    """Build apps that talk to the stand-in OpenML with a short timeout."""
    standin_openml.clear_faults()

    def build(env: dict[str, str] | None = None, **overrides) -> Flask:
        settings = {"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": str(TIMEOUT), **(env or {})}
        return make_app(env=settings, **overrides)

    return build


def get_stats(app: Flask, dataset_id: int | str, query: str = "", headers: dict | None = None):
    return app.test_client().get(f"/api/v1/datasets/{dataset_id}/stats{query}", headers=headers or {})


def stored_entries(app: Flask, dataset_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatsEntry).where(StatsEntry.dataset_id == dataset_id))


def live_leases(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatsLease))


def test_iris_statistics_match_the_data(stats_app) -> None:
    app = stats_app()
    response = get_stats(app, IRIS)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    frame = iris_table().to_pandas()
    assert (body["dataset_id"], body["name"], body["cached"]) == (IRIS, "iris", False)
    assert body["computed_at"].endswith("Z")
    sepal = body["statistics"]["distribution"]["sepallength"]
    assert sepal["type"] == "numeric"
    assert sepal["count"] == 150 and sepal["missing"] == 0
    assert sepal["mean"] == pytest.approx(frame["sepallength"].mean())
    assert (sepal["min"], sepal["max"]) == (frame["sepallength"].min(), frame["sepallength"].max())
    assert len(sepal["bins"]) == 21 and len(sepal["counts"]) == 20 and sum(sepal["counts"]) == 150
    target = body["statistics"]["distribution"]["class"]
    assert target["type"] == "nominal" and target["is_target"] is True
    assert dict(zip(target["categories"], target["counts"])) == frame["class"].value_counts().to_dict()
    preview = body["statistics"]["preview"]
    assert preview["total_rows"] == 150
    assert len(preview["rows"]) == 100
    assert preview["rows"][0] == [frame.iloc[0][c] for c in preview["columns"]]


def test_anneal_missing_values_are_counted_not_imputed(stats_app) -> None:
    import arff

    with open(openml_fixture("datasets", "2", "dataset.arff"), encoding="utf-8") as handle:
        data = arff.load(handle)
    names = [name for name, _ in data["attributes"]]
    missing = {name: sum(row[i] is None for row in data["data"]) for i, name in enumerate(names)}
    response = get_stats(stats_app(), ANNEAL)
    assert response.status_code == 200
    distribution = response.json["statistics"]["distribution"]
    assert set(distribution) == set(names)
    for name in names:
        assert distribution[name]["missing"] == missing[name], name
    assert response.json["statistics"]["preview"]["total_rows"] == len(data["data"]) == 898


def test_second_request_is_cached_in_memory_and_in_the_database(stats_app, standin_openml) -> None:
    app = stats_app()
    first = get_stats(app, IRIS)
    second = get_stats(app, IRIS)
    assert (first.json["cached"], second.json["cached"]) == (False, True)
    assert first.json["statistics"] == second.json["statistics"]
    assert stored_entries(app, IRIS) == 1
    downloads = standin_openml.data_downloads(IRIS)
    # another worker or replica: empty memory, same database, a different OpenML cache directory
    other = stats_app(OPENML_CACHE_DIR=str(Path(app.config["DATA_DIR"]) / "other-cache"))
    third = get_stats(other, IRIS)
    assert third.status_code == 200 and third.json["cached"] is True
    assert third.json["statistics"] == first.json["statistics"]
    assert standin_openml.data_downloads(IRIS) == downloads


def test_etag_and_conditional_request(stats_app) -> None:
    app = stats_app()
    first = get_stats(app, IRIS)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert "public" in first.headers["Cache-Control"] and "max-age=" in first.headers["Cache-Control"]
    again = get_stats(app, IRIS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other_preview = get_stats(app, IRIS, "?max_preview_rows=5", headers={"If-None-Match": etag})
    assert other_preview.status_code == 200


def test_gzip_when_accepted(stats_app) -> None:
    app = stats_app()
    plain = get_stats(app, IRIS)
    zipped = get_stats(app, IRIS, headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert json.loads(gzip.decompress(zipped.data))["statistics"] == plain.json["statistics"]
    refused = get_stats(app, IRIS, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


@pytest.mark.parametrize("rows", [0, 1, 7, 150, 1000])
def test_max_preview_rows(stats_app, rows: int) -> None:
    body = get_stats(stats_app(), IRIS, f"?max_preview_rows={rows}").json
    assert len(body["statistics"]["preview"]["rows"]) == min(rows, 150)
    assert body["statistics"]["preview"]["total_rows"] == 150


@pytest.mark.parametrize(
    ("path_id", "query", "code"),
    [
        ("61", "?max_preview_rows=-1", "invalid_parameter"),
        ("61", "?max_preview_rows=1001", "invalid_parameter"),
        ("61", "?max_preview_rows=abc", "invalid_parameter"),
        ("61", "?max_preview_rows=1.5", "invalid_parameter"),
        ("61", "?max_preview_rows=", "invalid_parameter"),
        ("61", "?max_preview_rows=%205", "invalid_parameter"),
        ("61", "?max_preview_rows=%D9%A3", "invalid_parameter"),
        ("61", "?max_preview_rows=99999999999999999999", "invalid_parameter"),
        ("61", "?max_preview_rows=1&max_preview_rows=2", "invalid_parameter"),
        ("61", "?force_refresh=yes", "invalid_parameter"),
        ("61", "?force_refresh=True", "invalid_parameter"),
        ("61", "?force_refresh=", "invalid_parameter"),
        ("61", "?force_refresh=2", "invalid_parameter"),
        ("abc", "", "invalid_dataset_id"),
        ("0", "", "invalid_dataset_id"),
        ("-1", "", "invalid_dataset_id"),
        ("1e3", "", "invalid_dataset_id"),
        ("99999999999", "", "invalid_dataset_id"),
        ("%D9%A3", "", "invalid_dataset_id"),
        ("61%27%20OR%201=1", "", "invalid_dataset_id"),
    ],
)
def test_bad_requests_are_400(stats_app, path_id: str, query: str, code: str) -> None:
    response = get_stats(stats_app(), path_id, query)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code


def test_force_refresh_is_rate_limited(stats_app, standin_openml) -> None:
    app = stats_app()
    first = get_stats(app, IRIS).json
    refreshed = get_stats(app, IRIS, "?force_refresh=true").json
    assert refreshed["cached"] is True
    assert refreshed["computed_at"] == first["computed_at"]
    assert get_stats(app, IRIS, "?force_refresh=false").json["cached"] is True


def test_force_refresh_recomputes_after_the_interval(stats_app) -> None:
    app = stats_app(env={"STATS_REFRESH_INTERVAL": "0.001"})
    first = get_stats(app, IRIS)
    time.sleep(0.01)
    refreshed = get_stats(app, IRIS, "?force_refresh=1")
    assert refreshed.json["cached"] is False
    assert refreshed.headers["ETag"] != first.headers["ETag"]
    assert stored_entries(app, IRIS) == 1
    assert get_stats(app, IRIS).headers["ETag"] == refreshed.headers["ETag"]


@pytest.mark.parametrize(
    ("dataset_id", "status", "code"),
    [
        (9901, 404, "dataset_not_found"),
        (9902, 404, "dataset_not_found"),
        (9908, 403, "dataset_forbidden"),
        (9010, 403, "dataset_forbidden"),
        (9903, 503, "openml_unavailable"),
        (9904, 503, "openml_unavailable"),
        (9906, 503, "openml_unavailable"),
        (9907, 503, "openml_unavailable"),
        (9011, 502, "dataset_unparseable"),
        (9012, 502, "dataset_unparseable"),
    ],
)
def test_openml_faults_map_to_clear_errors(stats_app, dataset_id: int, status: int, code: str) -> None:
    app = stats_app(env={"OPENML_TIMEOUT": str(FAULT_TIMEOUT)})
    started = time.monotonic()
    response = get_stats(app, dataset_id)
    elapsed = time.monotonic() - started
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0
        assert elapsed < FAULT_TIMEOUT + 10
    assert stored_entries(app, dataset_id) == 0
    assert live_leases(app) == 0


def test_unreachable_openml_is_503(make_app: Callable[..., Flask]) -> None:
    from tests.servers import free_port

    app = make_app(env={"OPENML_SERVER_URL": f"http://127.0.0.1:{free_port()}/api/v1/xml", "OPENML_TIMEOUT": "5"})
    response = get_stats(app, IRIS)
    assert response.status_code == 503
    assert response.json["code"] == "openml_unavailable"


def test_arff_fallback_when_parquet_is_corrupt(stats_app) -> None:
    response = get_stats(stats_app(), 9013)
    assert response.status_code == 200
    assert response.json["statistics"]["preview"]["total_rows"] == 4


@pytest.mark.parametrize("dataset_id", [9001, 9002, 9003, 9004, 9005, 9006, 9007, 9008, 9009, 9014, 30,
                                        pytest.param(4136, marks=pytest.mark.slow)])  # 20,001 columns
def test_edge_case_datasets_answer_strict_json(stats_app, dataset_id: int) -> None:
    response = get_stats(stats_app(), dataset_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert len(response.data) < 2 * 1024 * 1024


def test_concurrent_cold_requests_from_two_workers_compute_once(stats_app, standin_openml) -> None:
    # Two apps with separate memory and separate OpenML caches share only the database, like
    # two replicas; the slow dataset keeps the first computation running while the second asks.
    slow = 9003
    standin_openml.set_fault(slow, "slow", on="data", seconds=0.7)  # HEAD and GET: 1.4 s
    downloads_before = standin_openml.data_downloads(slow)
    first_app = stats_app(env={"OPENML_TIMEOUT": "20"})
    second_app = stats_app(env={"OPENML_TIMEOUT": "20"},
                           OPENML_CACHE_DIR=str(Path(first_app.config["DATA_DIR"]) / "replica-2"))
    results: dict[str, dict] = {}

    def ask(name: str, app: Flask) -> None:
        results[name] = orjson.loads(get_stats(app, slow).data)

    threads = [threading.Thread(target=ask, args=(n, a)) for n, a in (("a", first_app), ("b", second_app))]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(str(r.get("cached")) for r in results.values()) == ["False", "True"], results
    assert results["a"]["statistics"] == results["b"]["statistics"]
    assert standin_openml.data_downloads(slow) - downloads_before == 1
    assert stored_entries(first_app, slow) == 1


def test_a_lease_left_by_a_dead_worker_expires(stats_app) -> None:
    from datetime import timedelta

    from openml_backend.clock import utcnow
    from openml_backend.stats import ENGINE_VERSION

    app = stats_app(env={"STATS_LEASE_TTL": "1"})
    with app.app_context():  # the row a worker SIGKILLed in mid-computation leaves behind
        db.session.add(StatsLease(dataset_id=IRIS, engine_version=ENGINE_VERSION, owner="dead-worker",
                                  expires_at=utcnow() + timedelta(seconds=1)))
        db.session.commit()
    started = time.monotonic()
    response = get_stats(app, IRIS)
    assert response.status_code == 200 and response.json["cached"] is False
    assert time.monotonic() - started >= 0.5  # it waited for the lease instead of ignoring it
    assert live_leases(app) == 0


def test_warm_command_reports_failures(stats_app) -> None:
    app = stats_app()
    result = app.test_cli_runner().invoke(args=["stats", "warm", str(IRIS), "9901"])
    assert result.exit_code == 1
    assert "1 computed, 0 already stored, 1 failed" in result.output
    assert "dataset 9901: dataset_not_found" in result.output
    again = app.test_cli_runner().invoke(args=["stats", "warm", str(IRIS)])
    assert again.exit_code == 0
    assert "0 computed, 1 already stored, 0 failed" in again.output
    assert stored_entries(app, IRIS) == 1
