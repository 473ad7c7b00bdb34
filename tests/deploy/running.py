"""Start docker/entrypoint.sh as a container would, and watch it: HTTP probes, worker
processes, log lines. Every process started here is bounded and stopped by its own id."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy import kube
from tests.support.services import free_port

VENV_BIN = str(Path(sys.executable).parent)


def image_like_environment(scratch: Path) -> dict[str, str]:
    """What the image's ENV provides, with the writable paths moved into `scratch` (the
    container's emptyDirs). Nothing of the test runner's own environment leaks in."""
    for name in ("data", "cache/openml", "home/.config", "home/.cache"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": str(scratch / "home"),
        "XDG_CONFIG_HOME": str(scratch / "home/.config"),
        "XDG_CACHE_HOME": str(scratch / "home/.cache"),
        "DATA_DIR": str(scratch / "data"),
        "OPENML_CACHE_DIR": str(scratch / "cache/openml"),
        # The master's /metrics port; a free one, so servers of parallel tests never collide on 9100.
        "METRICS_PORT": str(free_port()),
    }


def run_entrypoint(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run entrypoint.sh to completion (for commands that exit: migrate, failures)."""
    return subprocess.run(
        [str(kube.ENTRYPOINT), *args], env=dict(env), capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Server:
    """A running entrypoint.sh (gunicorn after exec) and its log file."""

    process: subprocess.Popen
    port: int
    log_path: Path
    _offset: int = field(default=0)

    def get(self, path: str, timeout: float = 5) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            return response.status, json.loads(body) if body else {}
        finally:
            connection.close()

    def wait_until_answering(self, path: str, deadline_seconds: float) -> None:
        """Poll `path` the way a startup probe does, until 200 or the deadline."""
        deadline = time.monotonic() + deadline_seconds
        last_error: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _ = self.get(path, timeout=2)
                if status == 200:
                    return
                last_error = status
            except OSError as error:
                last_error = error
            time.sleep(0.2)
        raise AssertionError(f"{path} did not answer 200 within {deadline_seconds}s ({last_error}):\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict]:
        """Every JSON log line so far (a non-JSON line fails: all output must be JSON)."""
        records = []
        for line in self.output().splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    raise AssertionError(f"not a JSON log line: {line!r}") from None
        return records

    def children(self) -> list[int]:
        """The pids of the master's child processes (gunicorn's workers)."""
        pid = self.process.pid
        children_file = Path(f"/proc/{pid}/task/{pid}/children")
        if children_file.exists():
            return [int(p) for p in children_file.read_text().split()]
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(stat.parent.name))
        return found

    def wait_for_children(self, expected: int, deadline_seconds: float) -> list[int]:
        """Wait until the master has `expected` children and keeps that count for a second."""
        deadline = time.monotonic() + deadline_seconds
        stable_since, children = None, []
        while time.monotonic() < deadline:
            children = self.children()
            if len(children) == expected:
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since >= 1.0:
                    return children
            else:
                stable_since = None
            time.sleep(0.1)
        return children

    def command_line(self) -> list[str]:
        return Path(f"/proc/{self.process.pid}/cmdline").read_bytes().decode().split("\0")


@contextlib.contextmanager
def serving(env: Mapping[str, str], port: int, log_path: Path) -> Iterator[Server]:
    """Start entrypoint.sh with `env` (plus GUNICORN_BIND on `port`); stop it afterwards."""
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(kube.ENTRYPOINT)],
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so cleanup reaches its workers
        )
    try:
        yield Server(process, port, log_path)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
