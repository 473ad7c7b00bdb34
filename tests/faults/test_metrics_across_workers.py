"""GET /metrics under a production gunicorn (3 workers) sums every worker's numbers, keeps a
dead worker's counts, and labels the build."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


from openml_backend import __version__
from tests.helpers import metric_total, metric_value, parse_metrics, samples_by_worker
from tests.servers import migrate, production_environment

REQUESTS = 60


def health_count(server) -> float:
    samples = parse_metrics(server.scrape())
    return metric_value(samples, "openml_backend_http_requests_total", endpoint="/health", method="GET", status="200")


def test_metrics_sum_every_worker_and_keep_a_dead_workers_counts(openml, mariadb_uri: str, tmp_path: Path, start_gunicorn) -> None:
    env = production_environment(tmp_path, mariadb_uri, openml.api_url)
    migrate(env)
    server = start_gunicorn(env, tmp_path / "server.log")
    workers = server.wait_for_children(3, 60)
    before = health_count(server)
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: server.http("GET", "/health").status_code, range(REQUESTS)))
    assert statuses == [200] * REQUESTS
    assert health_count(server) - before == REQUESTS

    by_worker = samples_by_worker(Path(env["PROMETHEUS_MULTIPROC_DIR"]))
    served = {pid: metric_total(samples, "openml_backend_http_requests_total", endpoint="/health")
              for pid, samples in by_worker.items() if pid in workers}
    assert sum(1 for count in served.values() if count > 0) >= 2, served  # really several processes

    busiest = max(served, key=served.get)
    counted = health_count(server)
    os.kill(busiest, signal.SIGKILL)
    replaced = server.wait_for_children(3, 60)
    assert busiest not in replaced
    assert health_count(server) == counted  # a dead worker's counters stay in the sums

    samples = parse_metrics(server.scrape())
    assert metric_value(samples, "openml_backend_build_info", version=__version__, environment="production") == 1
