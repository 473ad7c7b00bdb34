"""The metrics of one process (the default registry): what they count, and how they label;
and the metrics port's own server, which is the only place GET /metrics is served.

Counters live for the whole test process, so every check compares a scrape before and after
the requests under test. The numbers expected come from the requests the test itself makes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from flask import Flask
from prometheus_client import REGISTRY

from openml_backend import __version__
from openml_backend.metrics import exposition
from openml_backend.metrics_server import start_metrics_server
from tests.helpers import metric_total, metric_value, parse_metrics
from tests.servers import free_port

IRIS = 61
IRIS_ROWS = 150  # iris has 150 rows (the stand-in regenerates them from scikit-learn)
UNKNOWN_DATASET = 9901  # the stand-in answers 412 / code 111
OPENML_ERROR_500 = 9903  # the stand-in answers HTTP 500
STATS_TEMPLATE = "/api/v1/datasets/<dataset_id>/stats"


@pytest.fixture
def stats_app(make_app: Callable[..., Flask], standin_openml) -> Flask:
    return make_app(env={"OPENML_SERVER_URL": standin_openml.api_url, "OPENML_TIMEOUT": "5"})


def scrape(_app: Flask):
    """What the metrics port would serve for this process (the app's requests run in it)."""
    return parse_metrics(exposition().decode())


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
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("openml_backend_http_requests_total", endpoint=STATS_TEMPLATE, method="GET", status="200") == 1
    assert delta("openml_backend_http_request_duration_seconds_count", endpoint=STATS_TEMPLATE, method="GET") == 1
    assert delta("openml_backend_stats_computations_total") == 1
    assert delta("openml_backend_stats_cache_total", outcome="miss") == 1


def test_the_public_app_serves_no_metrics_however_spelled(app: Flask) -> None:
    client = app.test_client()
    for path in ("/metrics", "/metrics/", "/api/v1/../metrics"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == "application/problem+json"
    assert not [rule for rule in app.url_map.iter_rules() if "metrics" in rule.rule]


def test_the_metrics_port_serves_the_exposition_uncached_and_nothing_else(app: Flask) -> None:
    app.test_client().get("/health")  # at least one counted request in this process
    port = free_port()
    server = start_metrics_server("127.0.0.1", port, REGISTRY)
    try:
        response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5,
                                headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        assert response.headers["Cache-Control"] == "no-store"
        samples = parse_metrics(response.text)
        assert metric_value(samples, "openml_backend_http_requests_total", endpoint="/health", method="GET",
                     status="200") >= 1
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 404
        assert requests.post(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 405
    finally:
        server.shutdown()
        server.server_close()
