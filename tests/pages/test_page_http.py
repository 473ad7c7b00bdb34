"""GET /datasets/<id> through the Flask client on both database backends, against the stand-in
OpenML: statuses, caching, sort/search/pages, bad input as HTML pages, headers and escaping.
Expected values come from the JSON endpoint's answer or from the data, not from the page code.
"""

from __future__ import annotations

import gzip
import html
import time

import pytest
from flask import Flask

from openml_backend.datasets.models import StatsLease
from openml_backend.extensions import db
from tests.pages.pagehtml import expected_charts, read_page
from tests.standin_openml.datasets import MARKUP_CATEGORY, SCRIPT_COLUMN

IRIS, ANNEAL, DEXTER, HOSTILE = 61, 2, 4136, 9015
PER_PAGE = 50


def statistics_json(app: Flask, dataset_id: int) -> dict:
    response = app.test_client().get(f"/api/v1/datasets/{dataset_id}/stats")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def get_page(app: Flask, dataset_id: int | str, query: str = "", headers: dict | None = None):
    return app.test_client().get(f"/datasets/{dataset_id}{query}", headers=headers or {})


def assert_html_error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert text.startswith("<!doctype html>")
    assert f"<code>{code}</code>" in text
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    return text


def test_iris_page_shows_the_statistics(page_app) -> None:
    app = page_app()
    document = statistics_json(app, IRIS)
    statistics = document["statistics"]
    response = get_page(app, IRIS)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    parts = read_page(response.get_data(as_text=True))
    names = list(statistics["distribution"])
    assert parts.row_names == names
    assert len(parts.chart_titles) == expected_charts(statistics["distribution"], names) + 1  # + heatmap
    n = len(statistics["correlation"]["features"])
    assert parts.heatmap_cells == n * n
    text = " ".join(" ".join(parts.texts).split())
    assert "Rows 150" in text and "Features 5" in text and "Target class" in text
    assert "Missing cells 0.00 %" in text
    assert f'href="{app.config["OPENML_SERVER_URL"].split("/api/")[0]}/d/61"' in response.get_data(as_text=True)
    assert parts.script_tags == 0


def test_security_and_caching_headers(page_app) -> None:
    app = page_app()
    first = get_page(app, IRIS)
    policy = first.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "'unsafe-inline'" not in policy
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["ETag"].startswith('W/"')
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert "Accept-Encoding" in first.headers["Vary"]
    again = get_page(app, IRIS, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    sorted_page = get_page(app, IRIS, "?sort=name", headers={"If-None-Match": first.headers["ETag"]})
    assert sorted_page.status_code == 200  # another representation, another validator
    zipped = get_page(app, IRIS, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data
    json_etag = app.test_client().get(f"/api/v1/datasets/{IRIS}/stats").headers["ETag"]
    assert json_etag != first.headers["ETag"]
    stylesheet = app.test_client().get("/datasets/static/page.css")
    stylesheet.close()
    assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"


@pytest.mark.parametrize(("sort", "order"), [("missing", "desc"), ("name", "asc"), ("mean", "desc"),
                                            ("distinct", "asc"), ("position", "desc")])
def test_sorting_follows_the_statistics(page_app, sort: str, order: str) -> None:
    app = page_app()
    distribution = statistics_json(app, ANNEAL)["statistics"]["distribution"]
    names = list(distribution)
    if sort == "name":
        expected = sorted(names, key=str.casefold)
    elif sort == "position":
        expected = names[::-1]
    else:
        having = [n for n in names if distribution[n].get(sort) is not None]
        expected = sorted(having, key=lambda n: distribution[n][sort], reverse=order == "desc")
        expected += [n for n in names if distribution[n].get(sort) is None]
    parts = read_page(get_page(app, ANNEAL, f"?sort={sort}&order={order}").get_data(as_text=True))
    if sort in ("missing", "mean", "distinct"):
        # ties may be in either order relative to each other: compare the sort values
        assert [distribution[n].get(sort) for n in parts.row_names] == [distribution[n].get(sort) for n in expected]
        assert sorted(parts.row_names) == sorted(expected)
    else:
        assert parts.row_names == expected


def test_search_keeps_the_matching_features(page_app) -> None:
    app = page_app()
    names = list(statistics_json(app, ANNEAL)["statistics"]["distribution"])
    response = get_page(app, ANNEAL, "?q=SH")
    parts = read_page(response.get_data(as_text=True))
    assert parts.row_names == [n for n in names if "sh" in n.lower()] != []
    assert 'value="SH"' in response.get_data(as_text=True)
    nothing = read_page(get_page(app, ANNEAL, "?q=no-such-feature").get_data(as_text=True))
    assert nothing.row_names == []


def test_dexter_is_paginated_and_small(page_app) -> None:
    app = page_app()
    statistics = statistics_json(app, DEXTER)["statistics"]
    names = list(statistics["distribution"])
    pages = -(-len(names) // PER_PAGE)
    first = get_page(app, DEXTER)
    assert first.status_code == 200
    assert len(first.data) < 1024 * 1024
    parts = read_page(first.get_data(as_text=True))
    assert parts.row_names == names[:PER_PAGE]
    assert len(parts.chart_titles) == expected_charts(statistics["distribution"], names[:PER_PAGE]) + 1
    n = len(statistics["correlation"]["features"])
    assert parts.heatmap_cells == min(n, 100) ** 2
    assert f"?page={pages}" in first.get_data(as_text=True)
    last = read_page(get_page(app, DEXTER, f"?page={pages}").get_data(as_text=True))
    assert last.row_names == names[(pages - 1) * PER_PAGE:]
    assert_html_error(get_page(app, DEXTER, f"?page={pages + 1}"), 400, "invalid_parameter")
    wanted = names[12345]
    found = read_page(get_page(app, DEXTER, f"?q={wanted}").get_data(as_text=True))
    assert wanted in found.row_names and all(wanted in name for name in found.row_names)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/datasets/61?sort=bogus", "invalid_parameter"),
        ("/datasets/61?order=up", "invalid_parameter"),
        ("/datasets/61?page=0", "invalid_parameter"),
        ("/datasets/61?page=-1", "invalid_parameter"),
        ("/datasets/61?page=abc", "invalid_parameter"),
        ("/datasets/61?page=1.5", "invalid_parameter"),
        ("/datasets/61?page=99999999999999", "invalid_parameter"),
        ("/datasets/61?page=1&page=2", "invalid_parameter"),
        ("/datasets/61?sort=name&sort=type", "invalid_parameter"),
        ("/datasets/61?q=" + "x" * 201, "invalid_parameter"),
        ("/datasets/61?q=%00", "invalid_parameter"),
        ("/datasets/abc", "invalid_dataset_id"),
        ("/datasets/0", "invalid_dataset_id"),
        ("/datasets/99999999999", "invalid_dataset_id"),
        ("/datasets/%3Cscript%3E", "invalid_dataset_id"),
    ],
)
def test_bad_input_is_a_400_page(page_app, path: str, code: str) -> None:
    response = page_app().test_client().get(path)
    text = assert_html_error(response, 400, code)
    assert "<script>" not in text


def test_unknown_paths_under_datasets_are_html_and_the_api_keeps_problem_json(page_app) -> None:
    client = page_app().test_client()
    assert_html_error(client.get("/datasets/61/more"), 404, "not_found")
    assert_html_error(client.post("/datasets/61"), 405, "method_not_allowed")
    for path in ("/api/v1/datasets/abc/stats", "/api/v1/nothing-here", "/datasets"):
        response = client.get(path)
        assert response.mimetype == "application/problem+json", path


@pytest.mark.parametrize(("dataset_id", "status", "code"), [
    (9901, 404, "dataset_not_found"),
    (9908, 403, "dataset_forbidden"),
    (9904, 503, "openml_unavailable"),
])
def test_openml_answers_map_to_the_json_endpoint_status(page_app, dataset_id: int, status: int, code: str) -> None:
    app = page_app(env={"OPENML_TIMEOUT": "3"})
    page = get_page(app, dataset_id)
    text = assert_html_error(page, status, code)
    api = app.test_client().get(f"/api/v1/datasets/{dataset_id}/stats")
    assert (api.status_code, api.json["code"]) == (status, code)
    if status == 503:
        seconds = int(page.headers["Retry-After"])
        assert f"Try again in {seconds} seconds" in text
        assert 'http-equiv="refresh"' not in text


def test_pending_computation_page_refreshes_itself(page_app) -> None:
    from datetime import timedelta

    from openml_backend.clock import utcnow
    from openml_backend.stats import ENGINE_VERSION

    app = page_app(env={"STATS_WAIT_TIMEOUT": "0.5", "STATS_LEASE_TTL": "120"})
    with app.app_context():  # another worker is computing iris right now
        db.session.add(StatsLease(dataset_id=IRIS, engine_version=ENGINE_VERSION, owner="other-worker",
                                  expires_at=utcnow() + timedelta(seconds=120)))
        db.session.commit()
    started = time.monotonic()
    page = get_page(app, IRIS)
    assert time.monotonic() - started < 10
    text = assert_html_error(page, 503, "stats_pending")
    seconds = int(page.headers["Retry-After"])
    assert f'<meta http-equiv="refresh" content="{seconds}">' in text
    assert f"reloads itself in {seconds} seconds" in text and f"Try again in {seconds} seconds" in text
    assert page.headers["Cache-Control"] == "no-store"


def test_hostile_names_are_escaped_text(page_app) -> None:
    app = page_app()
    response = get_page(app, HOSTILE)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script" not in body and "<img" not in body and "<b>bold" not in body
    parts = read_page(body)
    assert SCRIPT_COLUMN in parts.row_names
    assert any(SCRIPT_COLUMN in title for title in parts.chart_titles)  # the SVG title, as text
    assert MARKUP_CATEGORY in parts.texts
    assert html.escape(SCRIPT_COLUMN, quote=False) in body
    searched = get_page(app, HOSTILE, "?q=%3Cscript%3E").get_data(as_text=True)
    assert "<script" not in searched and read_page(searched).row_names == [SCRIPT_COLUMN]


def test_date_features_get_a_histogram_over_time(page_app) -> None:
    from openml_backend.datasets.schemas import DatasetStats

    app = page_app()
    document = statistics_json(app, 9007)
    DatasetStats.model_validate(document)  # the contract describes the date histogram
    distribution = document["statistics"]["distribution"]
    assert sum(distribution["day"]["counts"]) == 4  # four days and one missing value
    parts = read_page(get_page(app, 9007).get_data(as_text=True))
    assert len(parts.chart_titles) == expected_charts(distribution, list(distribution))
    assert any(title.startswith("Histogram over time of day") for title in parts.chart_titles) == bool(
        distribution["day"].get("counts"))


@pytest.mark.parametrize("dataset_id", [9001, 9002, 9003, 9004, 9005, 9006, 9008, 9009, 9013, 9014, 30])
def test_edge_case_pages_render_their_charts(page_app, dataset_id: int) -> None:
    app = page_app()
    statistics = statistics_json(app, dataset_id)["statistics"]
    response = get_page(app, dataset_id)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    parts = read_page(response.get_data(as_text=True))
    names = list(statistics["distribution"])[:PER_PAGE]
    assert parts.row_names == names
    correlation = statistics["correlation"]
    assert len(parts.chart_titles) == expected_charts(statistics["distribution"], names) + bool(correlation)
    side = len(correlation["features"]) if correlation else 0
    assert parts.heatmap_cells == side * side
