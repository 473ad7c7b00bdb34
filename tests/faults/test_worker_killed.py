"""A gunicorn worker killed with SIGKILL in the middle of a statistics computation.

The stand-in OpenML serves iris's data slowly, so the computation is caught in flight; the
worker holding the dataset's lease (its PID is in the lease's owner) is killed. Afterwards no
entry exists for the dataset (none half-written), the dead worker's lease expires after
STATS_LEASE_TTL, and the next request computes and answers with a complete entry.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
from pathlib import Path

import requests

from tests.helpers import mariadb_rows
from tests.servers import migrate, production_environment, wait_until, warm_every_worker

IRIS = 61
UNKNOWN = 9901
IRIS_ROWS = 150
LEASE_TTL = 2.0
SLOW_DATA_SECONDS = 6.0


class Request(threading.Thread):
    def __init__(self, server, path: str) -> None:
        super().__init__(daemon=True)
        self.server, self.path, self.outcome = server, path, None

    def run(self) -> None:
        try:
            self.outcome = self.server.http("GET", self.path, timeout=60).status_code
        except requests.RequestException as error:
            self.outcome = type(error).__name__


def test_worker_killed_mid_computation_leaves_no_entry_and_the_next_request_computes(
        openml, mariadb_uri: str, tmp_path: Path, start_gunicorn) -> None:
    env = production_environment(tmp_path, mariadb_uri, openml.api_url, OPENML_TIMEOUT="30",
                                 STATS_LEASE_TTL=str(LEASE_TTL))
    migrate(env)
    openml.set_fault(IRIS, "slow", on="data", seconds=SLOW_DATA_SECONDS)
    server = start_gunicorn(env, tmp_path / "server.log")
    warm_every_worker(server, f"/api/v1/datasets/{UNKNOWN}/stats", status=404, also=frozenset({503}))
    workers = set(server.children())
    victim_request = Request(server, f"/api/v1/datasets/{IRIS}/stats")
    victim_request.start()
    wait_until(lambda: openml.data_downloads(IRIS) >= 1, 30, "the computation to reach the data download")
    (owner,) = wait_until(lambda: mariadb_rows(mariadb_uri, "SELECT owner FROM stats_leases WHERE dataset_id = %s",
                                        IRIS), 10, "the lease")[0]
    victim = int(owner.split(":")[1])
    assert victim in workers
    os.kill(victim, signal.SIGKILL)
    victim_request.join(timeout=30)
    assert victim_request.outcome != 200  # its connection died with the worker
    assert mariadb_rows(mariadb_uri, "SELECT COUNT(*) FROM stats_entries WHERE dataset_id = %s", IRIS) == [(0,)]

    # The dead worker's lease is still there: the next request must take it over.
    assert mariadb_rows(mariadb_uri, "SELECT owner FROM stats_leases WHERE dataset_id = %s", IRIS) == [(owner,)]
    openml.clear_faults()
    after = server.http("GET", f"/api/v1/datasets/{IRIS}/stats", timeout=60)
    assert after.status_code == 200, after.text
    body = after.json()
    assert (body["cached"], body["statistics"]["preview"]["total_rows"]) == (False, IRIS_ROWS)
    rows = mariadb_rows(mariadb_uri, "SELECT payload_gzip FROM stats_entries WHERE dataset_id = %s", IRIS)
    assert len(rows) == 1
    stored = json.loads(gzip.decompress(rows[0][0]))["statistics"]
    answered = body["statistics"]
    # The entry keeps the longest preview; each answer cuts it to the rows asked for.
    answered_rows = answered["preview"].pop("rows")
    assert stored["preview"].pop("rows")[: len(answered_rows)] == answered_rows
    assert stored == answered
    # The master replaced the dead worker; /metrics still merges every live one.
    replaced = set(server.wait_for_children(len(workers), 60))
    assert victim not in replaced and len(replaced) == len(workers)
    assert server.scrape()  # 200 from the metrics port
