"""Every server the tests start, started one way each, waited for one way, stopped one way.

- gunicorn: always through docker/entrypoint.sh with docker/gunicorn.conf.py, as the pods run
  it (`gunicorn(env, log_path)`); `gunicorn_command_for_testing(workers)` serves the testing
  configuration (SQLite allowed, several workers) through the entrypoint's pass-through mode;
- the stand-in OpenML (`standin_openml_server()`), in a thread of the test process;
- SMTP: aiosmtpd keeping every message (`smtp_server()`), and a port that accepts and never
  speaks (`silent_smtp_server()`);
- a TCP proxy in front of a shared server (MariaDB) that a test can cut, restore, pause and
  resume (`TcpProxy`).

Subprocesses get a process group of their own and are stopped by their PID
(`stop_process`: SIGTERM, then SIGKILL to that group only). `wait_until` is the one wait
loop, `http` the one HTTP client.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests
from aiosmtpd.controller import Controller

from tests.deploy import kube
from tests.helpers import Samples, metric_total, samples_by_worker
from tests.paths import ENTRYPOINT, GUNICORN_CONF, REPO_ROOT
from tests.standin_openml import StandinOpenML

START_SECONDS = 90.0
STOP_SECONDS = 40.0
VENV_BIN = str(Path(sys.executable).parent)
T = TypeVar("T")

# --- waiting, stopping, asking -------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], T], seconds: float, what: str, interval: float = 0.1) -> T:
    """Poll `condition` until it returns something truthy (returned), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen, seconds: float = STOP_SECONDS) -> int | None:
    """Stop a process started with start_new_session=True: SIGTERM to it, then (after
    `seconds`, or at once if it already exited) SIGKILL to its own process group, so no
    worker outlives it. Returns its exit code (None if it could not be reaped)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(seconds)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of this group only
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(seconds)
    return process.returncode


def http(method: str, url: str, timeout: float = 30, **kwargs: Any) -> requests.Response:
    """One HTTP request on a fresh connection, bounded by `timeout`."""
    return requests.request(method, url, timeout=timeout, **kwargs)


def child_pids(pid: int) -> list[int]:
    """The PIDs of `pid`'s child processes."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(p) for p in children_file.read_text().split()]
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


# --- gunicorn through docker/entrypoint.sh -------------------------------------------------

TEST_SECRETS = {
    "APP_SECRET_KEY": "test-suite-app-secret-" + "a" * 24,
    "JWT_SECRET_KEY": "test-suite-jwt-secret-" + "b" * 24,
    "SMTP_PASS": "test-suite-smtp-password",
}


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


def production_environment(scratch: Path, database_uri: str, openml_url: str, **overrides: str) -> dict[str, str]:
    """The prod container's environment (the committed ConfigMap, gthread workers, WARNING
    logs) with the test's own secrets, database, OpenML server and (unless overridden) a mail
    relay port where nothing listens."""
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


def environment_for_testing(scratch: Path, database_uri: str, **overrides: str) -> dict[str, str]:
    """The testing configuration (any database, OpenML's test server) for
    `gunicorn_command_for_testing`, with per-worker metrics files in `scratch`/metrics."""
    return {
        **image_like_environment(scratch),
        "ENVIRONMENT": "testing",
        "DATABASE_URI": database_uri,
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
        **overrides,
    }


def gunicorn_command_for_testing(workers: int) -> list[str]:
    """Arguments for entrypoint.sh that run gunicorn with docker/gunicorn.conf.py and
    `workers` workers in the testing configuration (the entrypoint's own serve mode knows only
    development, one worker, and production, which refuses SQLite)."""
    return ["gunicorn", "--config", str(GUNICORN_CONF), "--workers", str(workers), "autoapp:app"]


def run_entrypoint(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run entrypoint.sh to completion (for commands that exit: migrate, refusals)."""
    return subprocess.run([str(ENTRYPOINT), *args], env=dict(env), capture_output=True, text=True, timeout=timeout)


def migrate(env: Mapping[str, str]) -> None:
    """Upgrade the schema the way the release Job does (entrypoint.sh migrate)."""
    result = run_entrypoint(env, "migrate")
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Gunicorn:
    """A running entrypoint.sh (gunicorn after exec): its process, port, log and environment."""

    process: subprocess.Popen
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self, method: str, path: str, timeout: float = 30, **kwargs: Any) -> requests.Response:
        """One request to this server on a fresh connection."""
        return http(method, self.url + path, timeout=timeout, **kwargs)

    @property
    def metrics_url(self) -> str:
        """GET /metrics on the master's own port (METRICS_PORT), not the public one."""
        return f"http://127.0.0.1:{self.env['METRICS_PORT']}/metrics"

    def scrape(self, timeout: float = 10) -> str:
        """The Prometheus text the metrics port serves (every worker's numbers)."""
        response = http("GET", self.metrics_url, timeout=timeout)
        assert response.status_code == 200, response.text
        return response.text

    def get(self, path: str, timeout: float = 5) -> tuple[int, dict]:
        """GET `path`: (status, JSON body or {} when empty)."""
        response = self.http("GET", path, timeout=timeout)
        return response.status_code, response.json() if response.content else {}

    def wait_until_answering(self, path: str = "/health", seconds: float = START_SECONDS) -> None:
        """Poll `path` the way a startup probe does, until 200 (fails if the process exits)."""
        last: object = None

        def answering() -> bool:
            nonlocal last
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.output()[-5000:]}")
            try:
                last = self.http("GET", path, timeout=2).status_code
            except requests.RequestException as error:
                last = error
            return last == 200

        try:
            wait_until(answering, seconds, f"{path} to answer 200", interval=0.2)
        except AssertionError as error:
            if "exited with" in str(error):
                raise
            raise AssertionError(f"{error} (last: {last}):\n{self.output()[-5000:]}") from None

    def stop(self, seconds: float = STOP_SECONDS) -> int | None:
        """Stop the server now (`stop_process`); its exit code."""
        return stop_process(self.process, seconds)

    def output(self) -> str:
        """Everything the process wrote so far."""
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
        """The PIDs of the master's child processes (gunicorn's workers)."""
        return child_pids(self.process.pid)

    def wait_for_children(self, expected: int, seconds: float) -> list[int]:
        """Wait until the master has `expected` children and keeps that count for a second;
        return them (or whatever it has when `seconds` run out)."""
        deadline = time.monotonic() + seconds
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
        """The master's argv (entrypoint.sh must have exec'd gunicorn)."""
        return Path(f"/proc/{self.process.pid}/cmdline").read_bytes().decode().split("\0")

    def samples_by_worker(self) -> dict[int, Samples]:
        """Each worker's own metrics, keyed by PID (needs PROMETHEUS_MULTIPROC_DIR in env)."""
        return samples_by_worker(Path(self.env["PROMETHEUS_MULTIPROC_DIR"]))


@contextlib.contextmanager
def gunicorn(env: Mapping[str, str], log_path: Path, *, command: Sequence[str] = (), wrapper: Sequence[str] = (),
             wait_path: str | None = "/health", start_seconds: float = START_SECONDS,
             port: int | None = None) -> Iterator[Gunicorn]:
    """Start docker/entrypoint.sh (with `command` as its arguments) on a free port with `env`
    plus GUNICORN_BIND, stdout and stderr to `log_path`; yield once `wait_path` answers 200
    (at once when None); stop it at the end (`stop_process`).

    `wrapper` runs in front of the entrypoint (e.g. `unshare -m` with a mount); it must exec,
    so the PID stays gunicorn's master.
    """
    port = port or free_port()
    environ = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*wrapper, str(ENTRYPOINT), *command], env=environ, cwd=REPO_ROOT,
            stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it reaches its workers
        )
    server = Gunicorn(process, port, log_path, environ)
    try:
        if wait_path is not None:
            server.wait_until_answering(wait_path, start_seconds)
        yield server
    finally:
        stop_process(process)


def wait_for_warm_workers(server: Gunicorn, workers: int, seconds: float = 90) -> list[int]:
    """Wait until each of `workers` workers has started its OpenML fetch server (the warm-up
    every production worker runs at start; until then a first fetch also pays for it)."""
    pids = server.wait_for_children(workers, seconds)
    wait_until(lambda: all(child_pids(pid) for pid in pids), seconds, "every worker's fetch server")
    return pids


# --- the stand-in OpenML -------------------------------------------------------------------


@contextlib.contextmanager
def standin_openml_server(server_class: type[StandinOpenML] = StandinOpenML) -> Iterator[StandinOpenML]:
    """A stand-in OpenML (tests/standin_openml) on a free loopback port, in a thread of this
    process; stopped at the end."""
    with server_class(host="127.0.0.1", port=0) as server:
        yield server


# --- SMTP ----------------------------------------------------------------------------------

# aiosmtpd logs every connection at INFO; the tests read the mailbox instead.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Mailbox:
    """aiosmtpd handler: stores each message (parsed) with its envelope recipients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(([address.lower() for address in envelope.rcpt_tos], message))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        """Forget every message."""
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        """Every message delivered to `address`, oldest first."""
        with self._lock:
            return [message for recipients, message in self.messages if address.lower() in recipients]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait (bounded) until `address` has at least `count` messages; return them all."""
        def enough() -> list[EmailMessage] | None:
            found = self.to(address)
            return found if len(found) >= count else None

        try:
            return wait_until(enough, timeout, f"{count} messages to {address}", interval=0.02)
        except AssertionError:
            raise AssertionError(f"{address} got {len(self.to(address))} messages, expected {count}"
                                 f" within {timeout}s") from None


@dataclass(frozen=True)
class SmtpServer:
    """A running aiosmtpd on 127.0.0.1:`port`; what it received is in `mailbox`."""

    port: int
    mailbox: Mailbox


@contextlib.contextmanager
def smtp_server(port: int | None = None) -> Iterator[SmtpServer]:
    """Run aiosmtpd on 127.0.0.1 (a free port unless given) until the block ends."""
    mailbox = Mailbox()
    port = port or free_port()  # aiosmtpd's Controller cannot bind port 0
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_smtp_server() -> Iterator[int]:
    """A port where the kernel completes the TCP handshake but nobody ever answers (the
    socket listens and is never accepted from). Yields the port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


# --- the TCP proxy -------------------------------------------------------------------------

BUFFER_BYTES = 65536
SELECT_SECONDS = 0.5


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`, to take a shared server
    (MariaDB) away from one application without stopping it for everyone else.

    - `cut()`: new connections are refused and open ones break, as when the server dies;
      `restore()` listens again on the same port.
    - `pause()`: connections are still accepted, but no byte goes either way (none forwarded,
      none answered), as when the server stalls; `resume()` lets the held bytes flow.

    One thread accepts, one thread per connection forwards both directions (select); the
    number of connections is bounded, and every thread ends when the proxy is cut or closed.
    """

    def __init__(self, target_host: str, target_port: int, max_connections: int = 128) -> None:
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.port = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._flowing = threading.Event()
        self._flowing.set()

    def start(self) -> TcpProxy:
        """Listen (on a free port the first time, on the same port afterwards)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        accepter = threading.Thread(target=self._accept, args=(listener,), name=f"tcpproxy-{self.port}", daemon=True)
        self._threads.append(accepter)
        accepter.start()
        return self

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets, self._connections = self._connections, set()
        if listener is not None:
            _close(listener)
        for sock in open_sockets:
            _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = [t for t in self._threads if t.is_alive()]

    def restore(self) -> None:
        """Listen again on the same port."""
        self.start()

    def pause(self) -> None:
        """Keep accepting connections but hold every byte, both ways, until `resume()`."""
        self._flowing.clear()

    def resume(self) -> None:
        """Forward again, the held bytes first."""
        self._flowing.set()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.resume()
        self.cut()

    def _open(self, client: socket.socket) -> bool:
        with self._lock:
            return client in self._connections

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:  # closed by cut()
                return
            with self._lock:
                if self._listener is not listener or len(self._connections) >= 2 * self.max_connections:  # client + upstream each
                    _close(client)
                    continue
                self._connections.add(client)
                self.accepted += 1
            handler = threading.Thread(target=self._serve, args=(client,), daemon=True,
                                       name=f"tcpproxy-{self.port}-conn")
            self._threads = [t for t in self._threads if t.is_alive()] + [handler]
            handler.start()

    def _serve(self, client: socket.socket) -> None:
        # Paused before the upstream connection exists: connect only when bytes may flow, so a
        # stalled connection does not also run down the server's own handshake timeout.
        while not self._flowing.wait(SELECT_SECONDS):
            if not self._open(client):
                return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            with self._lock:
                self._connections.discard(client)
            _close(client)
            return
        with self._lock:
            if client not in self._connections:  # cut meanwhile
                _close(upstream)
                return
            self._connections.add(upstream)
        self._pump(client, upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while self._open(client):
                if not self._flowing.wait(SELECT_SECONDS):
                    continue  # paused: the bytes wait in the kernel's buffers
                readable, _, _ = select.select(list(peers), [], [], SELECT_SECONDS)
                for sock in readable:
                    data = sock.recv(BUFFER_BYTES)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # a socket closed by cut() or by either side
            return
        finally:
            with self._lock:
                self._connections.discard(client)
                self._connections.discard(upstream)
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


STATS_TEMPLATE = "/api/v1/datasets/<dataset_id>/stats"


def warm_every_worker(server: Gunicorn, path: str, status: int = 200, rounds: int = 40,
                      also: frozenset[int] = frozenset()) -> set[int]:
    """Send concurrent GETs of the statistics `path` until every worker has answered one with
    `status` (seen in that worker's own metrics file); return the workers' PIDs. Answers in
    `also` are tolerated on the way."""
    from concurrent.futures import ThreadPoolExecutor

    workers = set(server.wait_for_children(int(server.env["GUNICORN_WORKERS"]), 60))
    warm: set[int] = set()
    with ThreadPoolExecutor(max_workers=12) as pool:
        for _ in range(rounds):
            statuses = list(pool.map(lambda _: server.http("GET", path).status_code, range(12)))
            assert set(statuses) <= {status, *also}, statuses
            by_worker = server.samples_by_worker()
            warm = {pid for pid in workers if metric_total(by_worker.get(pid, {}), "openml_backend_http_requests_total",
                                                           endpoint=STATS_TEMPLATE, status=str(status)) > 0}
            if warm == workers:
                return workers
    raise AssertionError(f"only {len(warm)} of {len(workers)} workers answered {path} in {rounds} rounds")
