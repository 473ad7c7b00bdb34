"""Start a real gunicorn (sync workers) serving `autoapp:app` on a free port, and stop it by PID.

Its access log records the worker PID of every request, so a test can show that requests
really landed on different worker processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.services import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3}) (\S+) (\S+)")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class RunningGunicorn:
    """A started server: its base URL, master PID and access log."""

    url: str
    pid: int
    access_log: Path

    def requests_seen(self) -> list[tuple[int, int, str, str]]:
        """(worker pid, status, method, path) of every request logged so far."""
        lines = self.access_log.read_text(encoding="utf-8").splitlines() if self.access_log.exists() else []
        found = []
        for line in lines:
            match = ACCESS_LINE.match(line)
            if match:
                found.append((int(match[1]), int(match[2]), match[3], match[4]))
        return found


@contextlib.contextmanager
def running_gunicorn(database_uri: str, data_dir: Path, workers: int = 2,
                     env: dict[str, str] | None = None) -> Iterator[RunningGunicorn]:
    """Serve the app with `workers` sync workers against `database_uri` until the block ends."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    access_log = data_dir / f"access-{port}.log"
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ENVIRONMENT": "testing",
        "DATABASE_URI": database_uri,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--access-logfile", str(access_log),
        "--access-logformat", "%(p)s %(s)s %(m)s %(U)s", "--graceful-timeout", "5", "autoapp:app",
    ]
    output = data_dir / f"gunicorn-{port}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=environ, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = RunningGunicorn(url=f"http://127.0.0.1:{port}", pid=process.pid, access_log=access_log)
    try:
        _wait_until_serving(server, process, output)
        yield server
    finally:
        _stop(process)


def _wait_until_serving(server: RunningGunicorn, process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}: {output.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not serve within {START_TIMEOUT}s: {output.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group of this master only (start_new_session)
            process.wait(STOP_TIMEOUT)
