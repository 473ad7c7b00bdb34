"""Boot the app the way the kubelet starts the container, for development and production.

The environment is built from the committed ConfigMap and Secret with Kubernetes' rules
(envFrom, secretKeyRef); production's Secret is the one k8s/README.md's `kubectl create
secret` command makes. Only DATABASE_URI (a temporary SQLite file; a fresh MariaDB database),
OPENML_SERVER_URL (a closed local port: nothing may reach a real OpenML) and the port are
overridden, the last pointing at the stand-in OpenML server (tests/standin_openml) over real
HTTP. docker/entrypoint.sh runs for real, gunicorn and all.

SIGTERM arrives while two requests are in flight, both naturally slow (no debug endpoint):
a statistics request whose OpenML description answers only after a few seconds, and a
client that sends its headers slowly. Both must complete, and the process must exit 0
within the pod's termination grace period.

The warming Job's pod runs the same way: its container's args (with `$(JOB_COMPLETION_INDEX)`
expanded as the kubelet does) through the image's entrypoint, in the Job's environment, one
shard against the stand-in; then again, as a retried pod would, skipping what it stored.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from tests.deploy import kube
from tests.helpers import metric_value, parse_metrics
from tests.paths import ENTRYPOINT, MIGRATIONS_DIR
from tests.servers import Gunicorn, free_port, http, image_like_environment, run_entrypoint, wait_until
from tests.standin_openml import StandinOpenML

HEAD_REVISION = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def probe_budget(probe: dict) -> float:
    """Seconds the kubelet gives a probe before it gives up on the container."""
    return probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3) + probe.get("initialDelaySeconds", 0)


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'openml.db'}"
        return
    # Written the way the documented Secret writes it: plain mysql://, no driver.
    yield make_url(request.getfixturevalue("mariadb_database")).set(drivername="mysql").render_as_string(
        hide_password=False)


def schema_revision(database_uri: str) -> str | None:
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as connection:
            return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                 password=url.password or "", database=url.database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT version_num FROM alembic_version")
        return cursor.fetchone()[0]


SLOW_DATASET_ID = 61  # iris on the stand-in
SLOW_DESCRIPTION_SECONDS = 4.0


@pytest.fixture
def openml(openml: StandinOpenML) -> StandinOpenML:
    """This test's stand-in OpenML, answering iris's description only after a few seconds."""
    openml.set_fault(SLOW_DATASET_ID, "slow", on="description", seconds=SLOW_DESCRIPTION_SECONDS)
    return openml


def pod_environment(environment: str, database_uri: str, openml_url: str, scratch: Path) -> dict[str, str]:
    (scratch / "db").mkdir(parents=True, exist_ok=True)
    return {
        **image_like_environment(scratch),
        **kube.kubelet_environment(environment),
        "DATABASE_URI": database_uri,
        "OPENML_SERVER_URL": openml_url,
    }


class StatsRequest(threading.Thread):
    """GET the slow dataset's statistics in the background; keeps the status and JSON body."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.status: int | None = None
        self.body: dict = {}

    def run(self) -> None:
        response = http("GET", f"http://127.0.0.1:{self.port}/api/v1/datasets/{SLOW_DATASET_ID}/stats", timeout=120)
        self.status, self.body = response.status_code, response.json()


def send_slow_request_across_sigterm(server: Gunicorn) -> bytes:
    """Start a request, SIGTERM gunicorn while it is in flight, then finish it; return the response.

    The client sends the request line and one header, and the rest only after gunicorn has
    begun its shutdown (new connections refused): a slow client, which every server meets.
    """
    request_id = b"in-flight-across-sigterm"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: openml-backend\r\n")
        time.sleep(1.0)  # a worker thread has taken the connection and waits for the headers
        server.process.send_signal(15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # shutdown has begun once the port refuses
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except ConnectionRefusedError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("gunicorn kept accepting connections after SIGTERM")
        client.sendall(b"X-Request-ID: " + request_id + b"\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := client.recv(65536):
            response += chunk
    assert b"X-Request-ID: " + request_id in response, response
    return response


@pytest.mark.parametrize(
    ("environment", "database"),
    [("development", "sqlite"), pytest.param("production", "mariadb", marks=pytest.mark.mariadb)],
    indirect=["database"],
)
def test_boots_serves_and_stops_like_a_pod(
    environment: str, database: str, openml: StandinOpenML, tmp_path: Path, start_gunicorn
) -> None:
    deployment = kube.deployment(environment)
    container = kube.flask_container(deployment)
    pod = deployment["spec"]["template"]["spec"]
    env = pod_environment(environment, database, openml.api_url, tmp_path)
    configured_workers = int(env["GUNICORN_WORKERS"])

    if environment == "production":
        # What the release Job runs before the Deployment rolls out (workers never run DDL).
        migrated = run_entrypoint(env, "migrate")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert schema_revision(database) == HEAD_REVISION

    server = start_gunicorn(env, tmp_path / "pod.log", wait_path=None)
    startup = container["startupProbe"]
    server.wait_until_answering(startup["httpGet"]["path"], probe_budget(startup))
    assert server.command_line()[1].endswith("gunicorn"), "entrypoint.sh must exec gunicorn (signals reach it)"

    status, body = server.get(container["livenessProbe"]["httpGet"]["path"])
    assert (status, body["environment"]) == (200, environment)
    status, body = server.get(container["readinessProbe"]["httpGet"]["path"])
    assert (status, body["status"]) == (200, "ready"), body
    assert schema_revision(database) == HEAD_REVISION

    # dev: 1 worker whatever the host; prod: the ConfigMap's GUNICORN_WORKERS.
    expected_workers = 1 if environment == "development" else configured_workers
    assert len(server.wait_for_children(expected_workers, 60)) == expected_workers

    stats = StatsRequest(server.port)
    stats.start()
    # In flight: the app is waiting for OpenML's (slow) description of the dataset.
    description = f"/api/v1/xml/data/{SLOW_DATASET_ID}"
    wait_until(lambda: openml.count("GET", description) >= 1, 60, "the stats request to reach OpenML", 0.05)
    response = send_slow_request_across_sigterm(server)
    assert response.startswith(b"HTTP/1.1 200 "), response
    stats.join(timeout=120)
    assert stats.status == 200, stats.body
    assert (stats.body["dataset_id"], stats.body["name"]) == (SLOW_DATASET_ID, "iris")
    assert stats.body["statistics"]
    prestop_seconds = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    stop_budget = pod["terminationGracePeriodSeconds"] - prestop_seconds
    assert server.process.wait(timeout=stop_budget) == 0

    records = server.log_records()
    check_log_level(environment, env["LOG_LEVEL"], records)
    output = (tmp_path / "pod.log").read_text()
    for name in ("APP_SECRET_KEY", "JWT_SECRET_KEY", "SMTP_PASS"):
        assert env[name] not in output, f"{name} leaked into the logs"


def check_log_level(environment: str, log_level: str, records: list[dict]) -> None:
    (summary,) = [r for r in records if r.get("message") == "starting gunicorn"]
    assert summary["log_level"] == log_level.lower()
    assert summary["environment"] == environment
    levels = {(r["logger"], r["level"]) for r in records}
    requests_logged_by_app = [r for r in records if r["logger"] == "openml_backend.request"]
    assert [r for r in records if r["logger"] == "gunicorn.access" and r["path"] == "/health"]
    if log_level == "DEBUG":
        assert ("gunicorn.error", "DEBUG") in levels
        assert requests_logged_by_app, "the app's INFO request lines belong in DEBUG output"
    else:
        assert log_level == "WARNING"
        below = [r for r in records if r["level"] in ("DEBUG", "INFO")
                 and r["logger"] not in ("entrypoint", "gunicorn.access")]
        assert not below, below[:3]


# --- the warming Job's pod ---------------------------------------------------------------------

WARM_JOB = "openml-backend-prod-warm"
UNREADABLE = {9011, 9012}  # stand-in datasets whose data nobody can read: they fail, and are reported


def run_warm_pod(env: dict[str, str], command: list[str], log_path: Path, spawn: Callable[..., subprocess.Popen],
                 while_running: Callable[[subprocess.Popen, int], None] | None = None) -> tuple[int, list[dict]]:
    """Run the pod's command through the entrypoint, its metrics port moved to a free one;
    `while_running(process, port)` is called once it started. Returns the exit code and the
    log records."""
    port = free_port()
    command = [str(port) if previous == "--metrics-port" else word
               for previous, word in zip(["", *command], command)]
    with log_path.open("w") as log:
        process = spawn([str(ENTRYPOINT), *command], env=env, stdout=log, stderr=subprocess.STDOUT)
        if while_running is not None:
            while_running(process, port)
        code = process.wait(timeout=300)
    lines = log_path.read_text().splitlines()
    return code, [json.loads(line) for line in lines if line.startswith("{")]


@pytest.mark.mariadb
def test_one_shard_of_the_warm_job_runs_like_its_pod(mariadb_database: str, openml: StandinOpenML, tmp_path: Path,
                                                     spawn) -> None:
    job = kube.find_object(kube.environment_objects("production"), "Job", WARM_JOB, "openml-prod")
    (container,) = kube.pod_containers(job)
    completions = job["spec"]["completions"]
    index = SLOW_DATASET_ID % completions  # the shard holding the dataset whose description is slow
    public = sorted(i for i, d in openml.catalogue.datasets.items() if not d.private)
    shard = [i for i in public if i % completions == index]
    assert len(shard) >= 2 and shard[0] == SLOW_DATASET_ID, shard  # progress shows before the end
    openml.set_fault(shard[-1], "slow", on="description", seconds=SLOW_DESCRIPTION_SECONDS)
    failing = [i for i in shard if i in UNREADABLE]

    database = make_url(mariadb_database).set(drivername="mysql").render_as_string(hide_password=False)
    env = {
        **image_like_environment(tmp_path),
        **kube.kubelet_environment("production", container=container),
        "DATABASE_URI": database,
        "OPENML_SERVER_URL": openml.api_url,
        "JOB_COMPLETION_INDEX": str(index),  # what the Job controller gives pod number `index`
    }
    migrated = run_entrypoint(env, "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    command = kube.container_command(container, env)
    assert f"{index}/{completions}" in command

    def progress_on_metrics_port(process: subprocess.Popen, port: int) -> None:
        def computed() -> float:
            try:
                text = http("GET", f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except OSError:
                return 0
            return metric_value(parse_metrics(text), "openml_backend_stats_warm_total", outcome="computed")

        wait_until(lambda: computed() >= 1, 120, "the first computed dataset on the metrics port", 0.1)
        assert process.poll() is None, "the progress must show while the pod runs"

    code, records = run_warm_pod(env, command, tmp_path / "warm.log", spawn, progress_on_metrics_port)
    assert code == (1 if failing else 0), records[-5:]
    assert all(r["level"] and r["logger"] for r in records)
    (summary,) = [r for r in records if r["message"] == "warm: finished"]
    assert (summary["shard"], summary["datasets"]) == (f"{index}/{completions}", len(shard))
    assert (summary["computed"], summary["skipped"], summary["failed"]) == (len(shard) - len(failing), 0,
                                                                            len(failing))
    assert sorted(r["dataset_id"] for r in records if r["message"] == "warm: dataset done") == shard
    output = (tmp_path / "warm.log").read_text()
    for name in ("APP_SECRET_KEY", "JWT_SECRET_KEY", "SMTP_PASS"):
        assert env[name] not in output, f"{name} leaked into the logs"

    # A retried pod: what was stored is skipped.
    openml.clear_faults()
    code, records = run_warm_pod(env, command, tmp_path / "warm-again.log", spawn)
    assert code == (1 if failing else 0)
    (summary,) = [r for r in records if r["message"] == "warm: finished"]
    assert (summary["computed"], summary["skipped"], summary["failed"]) == (0, len(shard) - len(failing),
                                                                            len(failing))
