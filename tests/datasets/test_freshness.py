"""Fresh statistics, and the bounds an anonymous client cannot get past, through HTTP
semantics against a stand-in OpenML of the test's own (its request log is the test's alone).

Fresh: a dataset whose data and md5 checksum change on OpenML is recomputed from a new
download; the check costs one description request per `STATS_REVALIDATE_SECONDS`;
force_refresh downloads again. Bounds (each replays what an adversarial probe found):
unknown or private ids are asked of OpenML once per `STATS_REFUSAL_TTL`, not once per
request; no lock file is left per requested id; the download cache stays under
`OPENML_CACHE_MAX_MB`; clients of a hanging dataset all answer within `OPENML_TIMEOUT` plus a
margin, waiting ones included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest
from flask import Flask

from openml_backend.openml_client import local_cache
from tests.servers import migrate, production_environment, warm_every_worker
from tests.standin_openml import StandinOpenML

CHANGING = 9050  # a dataset the tests put on the stand-in and then change
UNKNOWN = 987_654  # the stand-in answers 412 code 111
PRIVATE = 9908  # the stand-in answers 412 code 112
HANG = 9904  # the stand-in accepts the connection and never answers
TIMEOUT = 15.0
HANG_TIMEOUT = 2.0
# Under gunicorn, long enough that a queued client which fetched again after the first fetch
# failed (the old behaviour) would answer after two timeouts, past the margin.
GUNICORN_HANG_TIMEOUT = 5.0
MARGIN = 4.0  # fetch process start, lease bookkeeping, a noisy shared 2-core machine


@pytest.fixture
def fresh_app(make_app: Callable[..., Flask], openml: StandinOpenML) -> Callable[..., Flask]:
    """Build apps (workers sharing one database) that talk to this test's stand-in OpenML."""

    def build(env: dict[str, str] | None = None, **overrides) -> Flask:
        settings = {"OPENML_SERVER_URL": openml.api_url, "OPENML_TIMEOUT": str(TIMEOUT), **(env or {})}
        return make_app(env=settings, **overrides)

    return build


def get_stats(app: Flask, dataset_id: int, query: str = ""):
    return app.test_client().get(f"/api/v1/datasets/{dataset_id}/stats{query}")


def descriptions(openml: StandinOpenML, dataset_id: int) -> int:
    return openml.count("GET", f"/api/v1/xml/data/{dataset_id}")


def numbers(values: list[float]) -> pa.Table:
    return pa.table({"x": pa.array(values, type=pa.float64())})


def cache_folders(app: Flask, openml: StandinOpenML) -> set[int]:
    datasets = local_cache.dataset_dir(app.config["OPENML_CACHE_DIR"], openml.api_url, 0).parent
    return {int(p.name) for p in datasets.iterdir()} if datasets.exists() else set()


def lock_files(app: Flask) -> set[str]:
    return {p.name for p in Path(app.config["OPENML_CACHE_DIR"], ".locks").rglob("*.lock")}


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --- fresh statistics ----------------------------------------------------------------------


def test_a_changed_checksum_on_openml_is_recomputed_from_a_new_download(fresh_app, openml) -> None:
    before = openml.put_dataset(CHANGING, "changing", numbers([1.0, 2.0, 3.0]))
    app = fresh_app(env={"STATS_REVALIDATE_SECONDS": "0.3"})
    first = get_stats(app, CHANGING)
    assert first.status_code == 200 and first.json["cached"] is False
    assert first.json["statistics"]["distribution"]["x"]["mean"] == pytest.approx(2.0)
    assert openml.data_downloads(CHANGING) == 1

    after = openml.put_dataset(CHANGING, "changing", numbers([10.0, 20.0, 30.0, 40.0]))
    assert after.description_xml != before.description_xml  # a new md5_checksum
    time.sleep(0.4)
    changed = get_stats(app, CHANGING)

    assert changed.status_code == 200 and changed.json["cached"] is False
    x = changed.json["statistics"]["distribution"]["x"]
    assert (x["count"], x["mean"]) == (4, pytest.approx(25.0))
    # The same app, the same download cache: the old local copy was downloaded again, not reused.
    assert openml.data_downloads(CHANGING) == 2
    again = get_stats(app, CHANGING)
    assert again.json["cached"] is True and again.json["statistics"] == changed.json["statistics"]
    assert openml.data_downloads(CHANGING) == 2


def test_openml_is_asked_at_most_once_per_interval_by_all_workers(fresh_app, openml) -> None:
    openml.put_dataset(CHANGING, "changing", numbers([1.0, 2.0, 3.0]))
    workers = [fresh_app(env={"STATS_REVALIDATE_SECONDS": "1"}) for _ in range(2)]
    assert get_stats(workers[0], CHANGING).status_code == 200
    asked = descriptions(openml, CHANGING)
    for _ in range(5):
        for worker in workers:
            assert get_stats(worker, CHANGING).json["cached"] is True
    assert descriptions(openml, CHANGING) == asked  # just computed: nothing to check yet

    time.sleep(1.1)
    for _ in range(5):
        for worker in workers:
            assert get_stats(worker, CHANGING).json["cached"] is True
    assert descriptions(openml, CHANGING) == asked + 1  # one check for both workers
    assert openml.data_downloads(CHANGING) == 1  # the checksum was the same


def test_a_change_within_the_interval_is_not_noticed_yet(fresh_app, openml) -> None:
    openml.put_dataset(CHANGING, "changing", numbers([1.0, 2.0, 3.0]))
    app = fresh_app()  # the default: one day
    first = get_stats(app, CHANGING)
    openml.put_dataset(CHANGING, "changing", numbers([7.0]))
    asked = descriptions(openml, CHANGING)
    later = get_stats(app, CHANGING)
    assert later.json["cached"] is True and later.json["statistics"] == first.json["statistics"]
    assert descriptions(openml, CHANGING) == asked


def test_force_refresh_downloads_again_within_its_rate_limit(fresh_app, openml) -> None:
    openml.put_dataset(CHANGING, "changing", numbers([1.0, 2.0, 3.0]))
    app = fresh_app(env={"STATS_REFRESH_INTERVAL": "0.5"})
    assert get_stats(app, CHANGING).status_code == 200
    assert openml.data_downloads(CHANGING) == 1
    time.sleep(0.6)
    refreshed = get_stats(app, CHANGING, "?force_refresh=true")
    assert refreshed.json["cached"] is False
    assert openml.data_downloads(CHANGING) == 2  # the local copy was not reused
    limited = get_stats(app, CHANGING, "?force_refresh=true")  # within the interval
    assert limited.json["cached"] is True
    assert openml.data_downloads(CHANGING) == 2


# --- refusals are remembered -------------------------------------------------------------


@pytest.mark.parametrize(("dataset_id", "status", "code"),
                         [(UNKNOWN, 404, "dataset_not_found"), (PRIVATE, 403, "dataset_forbidden")])
def test_twenty_requests_for_a_refused_id_ask_openml_once(fresh_app, openml, dataset_id, status, code) -> None:
    workers = [fresh_app() for _ in range(2)]
    answers = [get_stats(workers[0], dataset_id)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers += list(pool.map(lambda i: get_stats(workers[i % 2], dataset_id), range(19)))
    assert [(a.status_code, a.json["code"]) for a in answers] == [(status, code)] * 20
    assert all(a.mimetype == "application/problem+json" for a in answers)
    assert descriptions(openml, dataset_id) == 1


def test_a_refusal_is_forgotten_after_its_ttl(fresh_app, openml) -> None:
    app = fresh_app(env={"STATS_REFUSAL_TTL": "0.5"})
    assert get_stats(app, CHANGING).status_code == 404  # not on the stand-in yet
    assert get_stats(app, CHANGING).status_code == 404
    assert descriptions(openml, CHANGING) == 1
    openml.put_dataset(CHANGING, "changing", numbers([1.0, 2.0]))
    time.sleep(0.6)
    assert get_stats(app, CHANGING).status_code == 200


# --- the download cache on disk ------------------------------------------------------------


def test_no_lock_file_or_folder_is_left_per_requested_id(fresh_app, openml) -> None:
    app = fresh_app()
    ids = [UNKNOWN + i for i in range(20)]
    assert {get_stats(app, dataset_id).status_code for dataset_id in ids} == {404}
    assert cache_folders(app, openml) == set()
    assert lock_files(app) == set()
    assert get_stats(app, 61).status_code == 200  # a dataset it keeps: its folder and its lock
    assert cache_folders(app, openml) == {61} and lock_files(app) == {"61.lock"}


def test_the_download_cache_stays_under_its_size(fresh_app, openml) -> None:
    # Sizes on disk, about: 9003 4.3 KB, 9002 3.5 KB, 9008 5.2 KB, anneal (2) 290 KB.
    limit = 11_000
    app = fresh_app(env={"OPENML_CACHE_MAX_MB": str(limit / 2**20)})
    datasets = local_cache.dataset_dir(app.config["OPENML_CACHE_DIR"], openml.api_url, 0).parent
    for dataset_id in (9003, 9002, 9008):
        assert get_stats(app, dataset_id).status_code == 200
        time.sleep(0.05)  # distinct times of use
    sizes = {d: folder_bytes(datasets / str(d)) for d in cache_folders(app, openml)}
    assert sum(sizes.values()) <= limit, sizes
    # The least recently used went first, with its lock file.
    assert set(sizes) == {9002, 9008}
    assert lock_files(app) == {"9002.lock", "9008.lock"}
    # A dataset larger than the whole limit is kept while it is the latest; the rest goes.
    assert get_stats(app, 2).status_code == 200
    assert cache_folders(app, openml) == {2} and lock_files(app) == {"2.lock"}


# --- a hanging dataset -----------------------------------------------------------------------


def test_twenty_clients_of_a_hanging_dataset_all_answer_within_the_timeout(fresh_app, openml) -> None:
    workers = [fresh_app(env={"OPENML_TIMEOUT": str(HANG_TIMEOUT)}) for _ in range(3)]
    # The fetch server starts once per process, outside the timeout (gunicorn starts it when a
    # worker boots): get that out of the way, as a running worker has.
    assert get_stats(workers[0], 9002).status_code == 200
    outcomes: list[tuple[int, str, float]] = []
    lock = threading.Lock()

    def ask(index: int) -> None:
        started = time.monotonic()
        response = get_stats(workers[index % 3], HANG)
        with lock:
            outcomes.append((response.status_code, response.json["code"], time.monotonic() - started))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for index, thread in enumerate(threads):
        thread.start()
        if index % 5 == 4:
            time.sleep(0.5)  # arrivals spread over the first fetch, as a probe's would be
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 20
    for status, code, seconds in outcomes:
        assert status == 503 and code in ("openml_unavailable", "stats_unavailable", "stats_pending"), code
        assert seconds < HANG_TIMEOUT + MARGIN, outcomes
    # One fetch for all of them: the failure is remembered (STATS_FAILURE_TTL).
    assert descriptions(openml, HANG) == 1


def test_twenty_clients_of_a_hanging_dataset_under_gunicorn(openml, mariadb_database: str, tmp_path: Path,
                                                            start_gunicorn) -> None:
    """The probe itself: production gunicorn (3 workers x 4 threads, so 8 of the 20 clients
    queue for a thread), 20 concurrent clients of one hanging dataset."""
    from sqlalchemy.engine import make_url

    database = make_url(mariadb_database).set(drivername="mysql").render_as_string(hide_password=False)
    # Refusals forgotten at once: warming every worker's fetch server needs a fetch per worker.
    env = production_environment(tmp_path, database, openml.api_url, OPENML_TIMEOUT=str(GUNICORN_HANG_TIMEOUT),
                                 STATS_REFUSAL_TTL="0.001")
    migrate(env)
    server = start_gunicorn(env, tmp_path / "server.log")
    warm_every_worker(server, f"/api/v1/datasets/{UNKNOWN}/stats", status=404, also=frozenset({503}))

    def timed_get(_index: int) -> tuple[int, str, float]:
        started = time.monotonic()
        response = server.http("GET", f"/api/v1/datasets/{HANG}/stats", timeout=120)
        return response.status_code, response.json().get("code", ""), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(timed_get, range(20)))
    for status, code, seconds in outcomes:
        assert status == 503 and code in ("openml_unavailable", "stats_unavailable", "stats_pending"), outcomes
        assert seconds < GUNICORN_HANG_TIMEOUT + MARGIN, outcomes
    assert descriptions(openml, HANG) == 1


def test_taking_over_a_dead_workers_lease_stays_within_the_budget(fresh_app, openml) -> None:
    from datetime import timedelta

    from openml_backend.clock import utcnow
    from openml_backend.datasets.models import StatsLease
    from openml_backend.extensions import db
    from openml_backend.stats import ENGINE_VERSION

    app = fresh_app(env={"OPENML_TIMEOUT": str(HANG_TIMEOUT), "STATS_LEASE_TTL": "1"})
    assert get_stats(app, 9002).status_code == 200  # the fetch server is up, as in a running worker
    budget = app.config["STATS_WAIT_TIMEOUT"]
    with app.app_context():  # a worker SIGKILLed while fetching the hanging dataset
        db.session.add(StatsLease(dataset_id=HANG, engine_version=ENGINE_VERSION, owner="dead-worker",
                                  expires_at=utcnow() + timedelta(seconds=budget - 1)))
        db.session.commit()
    started = time.monotonic()
    response = get_stats(app, HANG)
    seconds = time.monotonic() - started
    # It waited for the lease to expire, took it over, and its fetch got only what was left.
    assert response.status_code == 503 and response.json["code"] == "openml_unavailable"
    # (A whole fetch of its own after waiting would end a second past the budget.)
    assert budget - 1 <= seconds < budget + 0.9
    assert descriptions(openml, HANG) == 1
