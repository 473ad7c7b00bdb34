"""Fixtures of the fault suite: a fresh MariaDB database behind a TCP proxy the test can cut,
a stand-in OpenML server of the test's own (faults set per test), and helpers that look at
one gunicorn worker at a time through its prometheus multiprocess files."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from sqlalchemy.engine import make_url

from tests.metrics_scrape import Samples, parse
from tests.standin_openml import StandinOpenML
from tests.support.services import MARIADB_ADMIN_URL, fresh_mariadb_database
from tests.support.tcpproxy import TcpProxy


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
