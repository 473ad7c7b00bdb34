"""`flask stats warm --all [--shard I/N] [--older-than DAYS]` against a stand-in OpenML.

The command lists the datasets through the real `openml` client over HTTP (the stand-in's
`data/list`), and computes through the real cache on a real database. Which dataset a shard
must hold is worked out here from the stand-in's catalogue, not from the command.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from openml_backend.clock import utcnow
from openml_backend.datasets.models import StatsEntry
from openml_backend.extensions import db
from openml_backend.metrics import exposition
from tests.helpers import metric_value, parse_metrics
from tests.standin_openml import StandinOpenML
from tests.standin_openml.datasets import Catalogue, build_catalogue

# Small, quick datasets of the stand-in, and one whose data is not ARFF at all.
GOOD = (30, 61, 9002, 9003, 9005, 9006, 9009, 9014)
UNPARSEABLE = 9011
PRIVATE = 9010  # listed to nobody (OpenML hides private datasets from an anonymous list)
WARM_METRIC = "openml_backend_stats_warm_total"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    full = build_catalogue()
    kept = {i: full.datasets[i] for i in (*GOOD, UNPARSEABLE, PRIVATE)}
    return Catalogue(datasets=kept, faults={})


@pytest.fixture
def server(catalogue: Catalogue) -> Iterator[StandinOpenML]:
    with StandinOpenML(host="127.0.0.1", port=0, catalogue=catalogue) as running:
        yield running


@pytest.fixture
def make_warm_app(make_app: Callable[..., Flask], server: StandinOpenML) -> Callable[[], Flask]:
    """Apps on one database talking to `server`: each like another process (its own memory)."""
    return lambda: make_app(env={"OPENML_SERVER_URL": server.api_url, "OPENML_TIMEOUT": "20"})


@pytest.fixture
def warm_app(make_warm_app: Callable[[], Flask]) -> Flask:
    return make_warm_app()


class Run:
    """One `stats warm` invocation: its exit code and JSON log records."""

    def __init__(self, app: Flask, *args: str) -> None:
        before = parse_metrics(exposition().decode())
        result = app.test_cli_runner().invoke(args=["stats", "warm", *args])
        after = parse_metrics(exposition().decode())
        self.exit_code = result.exit_code
        self.output = result.output
        self.records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        self.metric_delta = {outcome: metric_value(after, WARM_METRIC, outcome=outcome)
                             - metric_value(before, WARM_METRIC, outcome=outcome)
                             for outcome in ("computed", "skipped", "failed")}

    def outcomes(self) -> dict[int, str]:
        """dataset id -> outcome, from the per-dataset lines (each id at most once)."""
        done = [r for r in self.records if r["message"] == "warm: dataset done"]
        ids = [r["dataset_id"] for r in done]
        assert len(ids) == len(set(ids)), f"a dataset was handled twice: {ids}"
        return {r["dataset_id"]: r["outcome"] for r in done}

    def summary(self) -> dict:
        (line,) = [r for r in self.records if r["message"] == "warm: finished"]
        return line


def entries(app: Flask) -> dict[int, tuple]:
    with app.app_context():
        rows = db.session.execute(select(StatsEntry.dataset_id, StatsEntry.etag, StatsEntry.computed_at)).all()
    return {row.dataset_id: (row.etag, row.computed_at) for row in rows}


def test_two_shards_split_the_catalogue_and_a_rerun_skips_what_is_fresh(warm_app: Flask, server) -> None:
    listed = {*GOOD, UNPARSEABLE}
    first, second = Run(warm_app, "--all", "--shard", "0/2"), Run(warm_app, "--all", "--shard", "1/2")

    shard0, shard1 = first.outcomes(), second.outcomes()
    assert set(shard0) == {i for i in listed if i % 2 == 0}
    assert set(shard1) == {i for i in listed if i % 2 == 1}
    assert not set(shard0) & set(shard1) and set(shard0) | set(shard1) == listed  # no overlap, no gap
    assert PRIVATE not in set(shard0) | set(shard1)
    assert set(entries(warm_app)) == set(GOOD)
    # Each run asked OpenML for the active datasets once, through the client's list call.
    assert server.count("GET", "/api/v1/xml/data/list/status/active/") == 2

    for run, outcomes in ((first, shard0), (second, shard1)):
        expected_failed = [UNPARSEABLE] if UNPARSEABLE in outcomes else []
        summary = run.summary()
        assert summary["computed"] == len(outcomes) - len(expected_failed)
        assert (summary["skipped"], summary["failed"], summary["failed_ids"]) == (0, len(expected_failed),
                                                                                  expected_failed)
        assert run.exit_code == (1 if expected_failed else 0)

    stored = entries(warm_app)
    downloads = {i: server.data_downloads(i) for i in GOOD}
    again = [Run(warm_app, "--all", "--shard", shard) for shard in ("0/2", "1/2")]
    assert sum(run.summary()["computed"] for run in again) == 0
    assert sum(run.summary()["skipped"] for run in again) == len(GOOD)
    assert entries(warm_app) == stored  # nothing recomputed
    assert {i: server.data_downloads(i) for i in GOOD} == downloads


def test_older_than_recomputes_only_the_entries_older_than_that(make_warm_app: Callable[[], Flask]) -> None:
    assert Run(make_warm_app(), "30", "61", "9002").exit_code == 0
    warm_app = make_warm_app()  # a later run: another process, whose memory holds no entry
    now = utcnow()
    with warm_app.app_context():
        for dataset_id, age in ((30, timedelta(days=10)), (61, timedelta(days=2))):
            db.session.execute(update(StatsEntry).where(StatsEntry.dataset_id == dataset_id)
                               .values(computed_at=now - age))
        db.session.commit()
    before = entries(warm_app)

    run = Run(warm_app, "--all", "--older-than", "7")
    outcomes = run.outcomes()
    assert outcomes[30] == "computed"  # 10 days old
    assert (outcomes[61], outcomes[9002]) == ("skipped", "skipped")  # 2 days old; just computed
    after = entries(warm_app)
    assert after[30][0] != before[30][0] and after[30][1] > now - timedelta(minutes=5)
    assert after[61] == before[61] and after[9002] == before[9002]
    # Without --older-than an existing entry is fresh, however old.
    assert Run(warm_app, "--all", "--shard", "0/1").outcomes()[61] == "skipped"


def test_a_failing_dataset_is_reported_and_counted_and_the_run_goes_on(warm_app: Flask) -> None:
    run = Run(warm_app, "--all")
    assert run.exit_code == 1
    outcomes = run.outcomes()
    assert outcomes[UNPARSEABLE] == "failed"
    assert {i for i, outcome in outcomes.items() if outcome == "computed"} == set(GOOD)  # ids after it too
    (failure,) = [r for r in run.records if r["message"] == "warm: dataset failed"]
    assert (failure["dataset_id"], failure["code"], failure["level"]) == (UNPARSEABLE, "dataset_unparseable",
                                                                          "WARNING")
    summary = run.summary()
    assert (summary["computed"], summary["skipped"], summary["failed"]) == (len(GOOD), 0, 1)
    assert run.metric_delta == {"computed": len(GOOD), "skipped": 0, "failed": 1}


def test_the_run_fails_when_openml_cannot_list(make_app: Callable[..., Flask]) -> None:
    app = make_app(env={"OPENML_SERVER_URL": "http://127.0.0.1:9/api/v1/xml", "OPENML_TIMEOUT": "5",
                        "OPENML_RETRIES": "1"})
    run = Run(app, "--all", "--shard", "1/3")
    assert run.exit_code == 1
    (line,) = [r for r in run.records if r["message"] == "warm: OpenML's dataset list could not be read"]
    assert (line["level"], line["shard"], line["error_type"]) == ("ERROR", "1/3", "OpenMLUnavailable")
    assert "127.0.0.1" not in run.output  # no URL (an API key rides in its query string)


@pytest.mark.parametrize("args", [
    ("--all", "61"), (), ("--all", "--shard", "2/2"), ("--all", "--shard", "a/b"), ("--all", "--shard", "1"),
    ("--all", "--older-than", "0"), ("--all", "--older-than", "-1"),
])
def test_bad_arguments_are_refused(app: Flask, args: tuple[str, ...]) -> None:
    result = app.test_cli_runner().invoke(args=["stats", "warm", *args])
    assert result.exit_code == 2, result.output


def test_a_warm_run_keeps_no_download(warm_app: Flask) -> None:
    cache = Path(warm_app.config["OPENML_CACHE_DIR"])
    Run(warm_app, "--all", "--shard", "0/2")
    # A web request keeps its download, as before.
    assert warm_app.test_client().get("/api/v1/datasets/61/stats").status_code == 200
    kept = {p.name for p in cache.rglob("*") if p.is_dir() and p.parent.name == "datasets"}
    assert kept == {"61"}
