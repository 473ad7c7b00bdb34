"""docker/gunicorn.conf.py and the settings entrypoint.sh hands gunicorn, seen from a running
server: JSON log lines without query strings (warnings included), OPENML_USE_TEST_SERVER's
default per environment (which picks the OpenML server), the graceful timeout, the
prometheus multiprocess hooks, and each worker's OpenML fetch server started as it boots."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

from tests.deploy import kube
from tests.servers import (
    child_pids,
    environment_for_testing,
    free_port,
    gunicorn_command_for_testing,
    image_like_environment,
    migrate,
    wait_until,
)
from tests.standin_openml import StandinOpenML

OPENML_TEST_SERVER = "https://test.openml.org/api/v1/xml"
OPENML_PRODUCTION_SERVER = "https://www.openml.org/api/v1/xml"


def base_env(tmp_path: Path, environment: str) -> dict[str, str]:
    env = {**image_like_environment(tmp_path), "ENVIRONMENT": environment, "LOG_LEVEL": "INFO"}
    if environment == "production":
        env.update(
            APP_SECRET_KEY="p" * 40,
            JWT_SECRET_KEY="q" * 40,
            DATABASE_URI=f"mysql://root@127.0.0.1:{free_port()}/openml",
            CORS_ORIGINS="https://www.openml.org",
        )
    return env


@pytest.mark.parametrize(
    ("environment", "openml_server"),
    [("development", OPENML_TEST_SERVER), ("production", OPENML_PRODUCTION_SERVER)],
)
def test_access_log_is_json_without_query_string_and_openml_server_defaults(
    tmp_path: Path, environment: str, openml_server: str, start_gunicorn
) -> None:
    env = base_env(tmp_path, environment)  # OPENML_USE_TEST_SERVER and OPENML_SERVER_URL unset
    server = start_gunicorn(env, tmp_path / "server.log", wait_path=None)
    server.wait_until_answering("/health", 120)
    status, _ = server.get("/health?api_key=query-secret-0123456789")
    assert status == 200
    server.process.terminate()
    assert server.process.wait(timeout=40) == 0
    records = server.log_records()  # fails on any line that is not JSON
    assert "query-secret-0123456789" not in server.output()
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert [(r["method"], r["path"], r["status"]) for r in access][-1] == ("GET", "/health", 200)
    assert access[-1]["request_id"] and access[-1]["request_id"] != "-"
    # One line per worker (production derives several from this host's CPUs).
    configured = {r["openml_server"] for r in records if r.get("message") == "application configured"}
    assert configured == {openml_server}


def test_settings_reach_gunicorn_and_the_alias_warning_is_a_json_line(tmp_path: Path, start_gunicorn) -> None:
    env = {**base_env(tmp_path, "production"), "TESTING": "True", "GUNICORN_WORKERS": "1",
           "GUNICORN_GRACEFUL_TIMEOUT": "7", "GUNICORN_THREADS": "3"}
    server = start_gunicorn(env, tmp_path / "server.log", wait_path=None)
    server.wait_until_answering("/health", 120)
    # entrypoint.sh exec'd gunicorn: the same process, now with the validated settings.
    command = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().split(b"\0")
    server.process.terminate()
    assert server.process.wait(timeout=40) == 0
    records = server.log_records()  # fails on any line that is not JSON
    assert command[command.index(b"--graceful-timeout") + 1] == b"7"
    assert command[command.index(b"--threads") + 1] == b"3"
    (summary,) = [r for r in records if r.get("message") == "starting gunicorn"]
    assert (summary["workers"], summary["threads"], summary["log_level"]) == (1, 3, "info")
    warnings = [r["message"] for r in records if r["level"] == "WARNING" and "TESTING" in r["message"]]
    # Once from the check, once from the one worker's create_app.
    assert warnings == ["TESTING is deprecated; set OPENML_USE_TEST_SERVER instead"] * 2
    configured = {r["openml_server"] for r in records if r.get("message") == "application configured"}
    assert configured == {OPENML_TEST_SERVER}


def test_prometheus_multiprocess_dir_is_emptied_at_start(tmp_path: Path, start_gunicorn) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_12345.db").write_bytes(b"stale")
    env = {**base_env(tmp_path, "development"), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    server = start_gunicorn(env, tmp_path / "server.log", wait_path=None)
    server.wait_until_answering("/health", 120)
    assert not (metrics / "counter_12345.db").exists()
    server.process.terminate()
    assert server.process.wait(timeout=40) == 0


def test_child_exit_drops_a_dead_workers_live_gauges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_4242.db", "gauge_livesum_4343.db", "counter_4242.db"):
        (tmp_path / name).write_bytes(b"")
    hooks = runpy.run_path(str(kube.DOCKER_DIR / "gunicorn.conf.py"))

    class DeadWorker:
        pid = 4242

    hooks["child_exit"](None, DeadWorker())
    # prometheus_client removes only the dead process's live gauges; counters stay summed.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db", "gauge_livesum_4343.db"]


def test_blas_runs_one_thread_per_worker_thread_unless_the_operator_says_otherwise(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    runpy.run_path(str(kube.DOCKER_DIR / "gunicorn.conf.py"))
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    runpy.run_path(str(kube.DOCKER_DIR / "gunicorn.conf.py"))
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"


def fetch_servers(worker: int) -> list[int]:
    """The worker's child processes that are a multiprocessing forkserver (its fetch server)."""
    found = []
    for pid in child_pids(worker):
        try:
            if b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def has_mapped(pid: int, library: str) -> bool:
    """Whether the process has mapped a shared library whose path contains `library`."""
    return library in Path(f"/proc/{pid}/maps").read_text()


def test_a_worker_starts_its_fetch_server_as_it_boots(tmp_path: Path, start_gunicorn, openml: StandinOpenML) -> None:
    env = environment_for_testing(tmp_path, f"sqlite:///{tmp_path / 'boot.db'}",
                                  OPENML_SERVER_URL=openml.api_url, OPENML_TIMEOUT="60")
    migrate(env)
    server = start_gunicorn(env, tmp_path / "server.log", command=gunicorn_command_for_testing(1), wait_path=None)
    (worker,) = server.wait_for_children(1, 60)
    # No request yet, not even /health: the fetch server runs all the same.
    (fetch_server,) = wait_until(lambda: fetch_servers(worker), 60, "the worker's fetch server")
    server.wait_until_answering("/health", 120)
    # The worker serves only once its fetch server has imported the client (pyarrow's parquet
    # library is its last preload, after openml: openml_client.fetcher.PRELOAD) and it has
    # itself read a parquet file once (pyarrow imports pandas on its first read).
    assert has_mapped(fetch_server, "libparquet")
    assert has_mapped(worker, "pandas/_libs")
    assert openml.requests == []

    response = server.http("GET", "/api/v1/datasets/61/stats", timeout=90)
    assert response.status_code == 200, response.text
    assert response.json()["cached"] is False
    assert openml.data_downloads(61) == 1
    # The first cold request was served by that fetch server: no other one was started.
    assert server.children() == [worker]
    assert fetch_servers(worker) == [fetch_server]
