"""Serve the app the way the production pods do, on loopback, for fault tests and the bench.

docker/entrypoint.sh runs for real with ENVIRONMENT=production and the committed prod
ConfigMap (so gunicorn gets docker/gunicorn.conf.py, gthread workers, WARNING logs); the
Secret's values, the database, the OpenML server and the mail relay are the test's. The
schema is migrated first, as the release Job does. An optional command `wrapper` runs in
front of the entrypoint (e.g. `unshare -m` with a mount); it must exec, so the PID stays
gunicorn's master. Everything started here is stopped by its own process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import requests

from tests.deploy import kube
from tests.deploy.running import Server, image_like_environment, run_entrypoint
from tests.support.services import free_port

TEST_SECRETS = {
    "APP_SECRET_KEY": "fault-suite-app-secret-" + "a" * 24,
    "JWT_SECRET_KEY": "fault-suite-jwt-secret-" + "b" * 24,
    "SMTP_PASS": "fault-suite-smtp-password",
}
START_SECONDS = 90.0
STOP_SECONDS = 40.0


def production_environment(scratch: Path, database_uri: str, openml_url: str,
                           **overrides: str) -> dict[str, str]:
    """The prod container's environment (committed ConfigMap), pointed at local services."""
    env = {
        **image_like_environment(scratch),
        **kube.kubelet_environment("production", {**TEST_SECRETS, "DATABASE_URI": database_uri}),
        "DATABASE_URI": database_uri,
        "OPENML_SERVER_URL": openml_url,
        "GUNICORN_WORKERS": "3",
        "GUNICORN_THREADS": "4",
        # Local mail relay without TLS unless the test names one.
        "SMTP_SERVER": "127.0.0.1",
        "SMTP_PORT": str(free_port()),
        "SMTP_USE_TLS": "False",
        "SMTP_LOGIN": "",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
    }
    env.update(overrides)
    return env


def migrate(env: Mapping[str, str]) -> None:
    """Upgrade the schema the way the release Job does (entrypoint.sh migrate)."""
    result = run_entrypoint(env, "migrate")
    assert result.returncode == 0, result.stdout + result.stderr


class ProductionServer(Server):
    """A running production gunicorn: its base URL, master PID, log and environment."""

    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self, method: str, path: str, timeout: float = 30, **kwargs) -> requests.Response:
        """One request on a fresh connection (bounded by `timeout`)."""
        return requests.request(method, self.url + path, timeout=timeout, **kwargs)

    @property
    def metrics_url(self) -> str:
        """GET /metrics of the master's own port (METRICS_PORT), not the public one."""
        return f"http://127.0.0.1:{self.env['METRICS_PORT']}/metrics"

    def scrape(self, timeout: float = 10) -> str:
        """The Prometheus text the metrics port serves (every worker's numbers)."""
        response = requests.get(self.metrics_url, timeout=timeout)
        assert response.status_code == 200, response.text
        return response.text


@contextlib.contextmanager
def production_gunicorn(env: Mapping[str, str], log_path: Path,
                        wrapper: Sequence[str] = ()) -> Iterator[ProductionServer]:
    """Start entrypoint.sh with `env` on a free port; yield once /health answers; stop it."""
    port = free_port()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*wrapper, str(kube.ENTRYPOINT)],
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so cleanup reaches its workers
        )
    server = ProductionServer(process, port, log_path)
    server.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    try:
        server.wait_until_answering("/health", START_SECONDS)
        yield server
    finally:
        _stop(process)


def child_pids(pid: int) -> list[int]:
    """The PIDs of `pid`'s child processes."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in children.read_text().split()]
    except OSError:
        return []


def wait_for_warm_workers(server: Server, workers: int, seconds: float = 90) -> list[int]:
    """Wait until each of `workers` workers has started its OpenML fetch server (the warm-up
    every production worker runs at start; until then a first fetch also pays for it)."""
    pids = server.wait_for_children(workers, seconds)
    wait_until(lambda: all(child_pids(pid) for pid in pids), seconds, "every worker's fetch server")
    return pids


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of this group only
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_SECONDS)


def wait_until(condition, seconds: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy (returned) or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(interval)
