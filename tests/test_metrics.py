"""GET /metrics in one process (the default registry): what it counts, and how it labels.

Counters live for the whole test process, so every check compares a scrape before and after
the requests under test. The numbers expected come from the requests the test itself makes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from openml_backend import __version__
from tests.helpers import metric_total, metric_value, parse_metrics

IRIS = 61
IRIS_ROWS = 150  # iris has 150 rows (the stand-in regenerates them from scikit-learn)
UNKNOWN_DATASET = 9901  # the stand-in answers 412 / code 111
OPENML_ERROR_500 = 9903  # the stand-in answers HTTP 500
STATS_TEMPLATE = "/api/v1/datasets/<dataset_id>/stats"


@pytest.fixture
def stats_app(make_app: Callable[..., Flask], standin_openml) -> Flask:
    return make_app(env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": "5"})


def scrape(app: Flask):
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse_metrics(response.get_data(as_text=True))


def test_requests_are_counted_by_route_template_never_by_raw_path(stats_app: Flask) -> None:
    client = stats_app.test_client()
    before = scrape(stats_app)
    assert client.get(f"/api/v1/datasets/{IRIS}/stats").status_code == 200
    assert client.get(f"/api/v1/datasets/{UNKNOWN_DATASET}/stats").status_code == 404
    assert client.get("/no/such/page/12345").status_code == 404
    after = scrape(stats_app)

    def delta(status: str, endpoint: str = STATS_TEMPLATE) -> float:
        name = "openml_backend_http_requests_total"
        return (metric_value(after, name, endpoint=endpoint, method="GET", status=status)
                - metric_value(before, name, endpoint=endpoint, method="GET", status=status))

    assert delta("200") == 1 and delta("404") == 1
    assert delta("404", endpoint="<unmatched>") == 1
    paths = {dict(labels).get("endpoint") for _name, labels in after}
    assert not any(str(p).startswith("/no/such") or str(p).endswith(f"/{IRIS}/stats") for p in paths)
    count = "openml_backend_http_request_duration_seconds_count"
    assert (metric_value(after, count, endpoint=STATS_TEMPLATE, method="GET")
            - metric_value(before, count, endpoint=STATS_TEMPLATE, method="GET")) == 2


def test_statistics_computation_and_cache_outcomes(stats_app: Flask) -> None:
    client = stats_app.test_client()
    before = scrape(stats_app)
    first = client.get(f"/api/v1/datasets/{IRIS}/stats")
    second = client.get(f"/api/v1/datasets/{IRIS}/stats")
    assert (first.json["cached"], second.json["cached"]) == (False, True)
    after = scrape(stats_app)

    def delta(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("openml_backend_stats_computations_total") == 1
    assert delta("openml_backend_stats_computation_seconds_count") == 1
    assert delta("openml_backend_stats_computed_rows_sum") == IRIS_ROWS
    assert delta("openml_backend_stats_cache_total", outcome="miss") == 1
    assert delta("openml_backend_stats_cache_total", outcome="memory") == 1
    assert delta("openml_backend_stats_cache_total", outcome="coalesced") == 0


def test_openml_fetch_failures_by_kind(stats_app: Flask) -> None:
    client = stats_app.test_client()
    before = scrape(stats_app)
    assert client.get(f"/api/v1/datasets/{UNKNOWN_DATASET}/stats").status_code == 404
    assert client.get(f"/api/v1/datasets/{OPENML_ERROR_500}/stats").status_code == 503
    after = scrape(stats_app)
    name = "openml_backend_openml_fetch_failures_total"
    assert metric_value(after, name, kind="not_found") - metric_value(before, name, kind="not_found") == 1
    assert metric_value(after, name, kind="unavailable") - metric_value(before, name, kind="unavailable") == 1
    assert metric_total(after, name) - metric_total(before, name) == 2


def test_build_info_names_version_and_environment(app: Flask) -> None:
    samples = scrape(app)
    assert metric_value(samples, "openml_backend_build_info", version=__version__, environment="testing") == 1


def test_metrics_need_no_credentials_and_are_not_cached(app: Flask) -> None:
    response = app.test_client().get("/metrics", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_metrics_registered_before_every_other_feature_still_count_by_route_template(
    monkeypatch: pytest.MonkeyPatch, make_app: Callable[..., Flask], standin_openml
) -> None:
    import openml_backend

    monkeypatch.setattr(openml_backend, "FEATURES",
                        ("metrics", *(name for name in openml_backend.FEATURES if name != "metrics")))
    app = make_app(env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": "5"})
    before = scrape(app)
    assert app.test_client().get(f"/api/v1/datasets/{IRIS}/stats").status_code == 200
    after = scrape(app)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("openml_backend_http_requests_total", endpoint=STATS_TEMPLATE, method="GET", status="200") == 1
    assert delta("openml_backend_http_request_duration_seconds_count", endpoint=STATS_TEMPLATE, method="GET") == 1
    assert delta("openml_backend_stats_computations_total") == 1
    assert delta("openml_backend_stats_cache_total", outcome="miss") == 1
