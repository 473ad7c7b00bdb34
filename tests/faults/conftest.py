"""Fixtures of the fault suite: a fresh MariaDB database behind a TCP proxy the test can cut,
a stand-in OpenML server of the test's own (faults set per test), and helpers that look at
one gunicorn worker at a time through its prometheus multiprocess files."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from sqlalchemy.engine import make_url

from tests.metrics_scrape import Samples, parse, total
from tests.standin_openml import StandinOpenML
from tests.support.services import MARIADB_ADMIN_URL, fresh_mariadb_database
from tests.support.tcpproxy import TcpProxy

STATS_TEMPLATE = "/api/v1/datasets/<dataset_id>/stats"


@pytest.fixture
def openml() -> Iterator[StandinOpenML]:
    """A stand-in OpenML server for this test alone."""
    with StandinOpenML(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def mariadb_uri() -> Iterator[str]:
    """A fresh MariaDB database (dropped afterwards), written as the prod Secret writes it."""
    with fresh_mariadb_database("openml_backend_faults") as uri:
        yield make_url(uri).set(drivername="mysql").render_as_string(hide_password=False)


@pytest.fixture
def proxied_mariadb(mariadb_uri: str) -> Iterator[tuple[TcpProxy, str]]:
    """(proxy, URI through the proxy): cutting the proxy takes MariaDB away from the app only."""
    admin = make_url(MARIADB_ADMIN_URL)
    with TcpProxy(admin.host or "127.0.0.1", admin.port or 3306) as proxy:
        yield proxy, make_url(mariadb_uri).set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)


def samples_by_worker(metrics_dir: Path) -> dict[int, Samples]:
    """Each worker's own metrics (from its counter/histogram files), keyed by its PID."""
    by_pid: dict[int, Samples] = {}
    for path in metrics_dir.glob("*_*.db"):
        pid_text = path.stem.rsplit("_", 1)[-1]
        if not pid_text.isdigit() or path.stem.startswith("gauge"):
            continue
        with tempfile.TemporaryDirectory() as scratch:
            shutil.copy(path, scratch)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=scratch)
            by_pid.setdefault(int(pid_text), {}).update(parse(generate_latest(registry).decode()))
    return by_pid


def warm_every_worker(server, path: str, status: int = 200, rounds: int = 40,
                      also: frozenset[int] = frozenset()) -> set[int]:
    """Send concurrent GETs of the statistics `path` until every worker has answered one with
    `status` (seen in that worker's own metrics file); return the workers' PIDs. Answers in
    `also` are tolerated on the way."""
    workers = set(server.wait_for_children(int(server.env["GUNICORN_WORKERS"]), 60))
    metrics_dir = Path(server.env["PROMETHEUS_MULTIPROC_DIR"])
    warm: set[int] = set()
    with ThreadPoolExecutor(max_workers=12) as pool:
        for _ in range(rounds):
            statuses = list(pool.map(lambda _: server.http("GET", path).status_code, range(12)))
            assert set(statuses) <= {status, *also}, statuses
            by_worker = samples_by_worker(metrics_dir)
            warm = {pid for pid in workers if total(by_worker.get(pid, {}), "openml_backend_http_requests_total",
                                                    endpoint=STATS_TEMPLATE, status=str(status)) > 0}
            if warm == workers:
                return workers
    raise AssertionError(f"only {len(warm)} of {len(workers)} workers answered {path} in {rounds} rounds")
