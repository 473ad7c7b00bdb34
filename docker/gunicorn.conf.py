"""gunicorn settings that hold in every environment.

entrypoint.sh passes the validated settings on the command line (workers, threads,
timeouts, log level, reload); this file holds the rest. Every log line,
gunicorn's own and the access log, is one JSON object on stdout. The access log
carries the path without the query string, which may hold API keys or tokens.

GUNICORN_BIND exists for tests and local runs that cannot use port 5000; the
container always listens on 0.0.0.0:5000 (the Deployments' containerPort).

Each worker starts its OpenML fetch server as it boots (post_fork, post_worker_init), so no
request waits for it.

GET /metrics is not on that port: the master serves it on METRICS_PORT (default 9100, the
pods' "metrics" containerPort), on the same host address as the public bind, summing every
worker's numbers (openml_backend/metrics_server.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:5000"

# /metrics must sum every worker's numbers (prometheus-client multiprocess mode), so the
# directory is set here, in the master, before any worker imports prometheus_client. Unless
# the operator names one, each server gets its own under TMPDIR (an emptyDir in the pods,
# whose root filesystem is read-only); two servers on one host then never share files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="openml-backend-metrics-")
    _OWN_METRICS_DIR: str | None = os.environ["PROMETHEUS_MULTIPROC_DIR"]
else:
    _OWN_METRICS_DIR = None
# One BLAS thread per worker thread: workers and their request threads are the parallelism.
# OpenBLAS's own threads (one per core by default) competing with them made a worker's cold
# statistics 6x slower from its second computation on (1M x 29: 35-40 s against 5-6 s,
# measured through HTTP). Set here, in the master, before numpy loads anywhere; an
# operator's own value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Imported here, after the directory is set, rather than inside child_exit: that hook runs in
# the master's SIGCHLD handling, no place for a first import of a package.
from prometheus_client import multiprocess  # noqa: E402
# gthread, except that gunicorn's own 400/431/501 answers are problem+json, not HTML.
worker_class = "openml_backend.gunicorn_worker.JsonErrorThreadWorker"
# Validated by the app's config check as well (1..65535); entrypoint.sh runs that first.
METRICS_PORT = int(os.environ.get("METRICS_PORT") or "9100")
# The workers' heartbeat files: /dev/shm is memory-backed and writable even with a
# read-only root filesystem, so a slow disk cannot make the arbiter kill a worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# graceful_timeout (GUNICORN_GRACEFUL_TIMEOUT) comes from entrypoint.sh. The Deployments'
# terminationGracePeriodSeconds is longer (preStop sleep + that + margin).

# Longer than the idle timeout of the usual ingress proxies (60 s), so the proxy,
# not gunicorn, closes idle upstream connections and no request races a close.
keepalive = 75
# Pods are reached only through the Service / Ingress; trust X-Forwarded-Proto from
# them. It sets only the URL scheme (gunicorn never rewrites the client address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "*"
accesslog = "-"
# Never written to disk: the JSON formatter below builds the line from the atoms.
access_log_format = "%(m)s %(U)s %(s)s"


class JsonLogFormatter(logging.Formatter):
    """Render a log record as one JSON object with the keys of the app's own lines
    (openml_backend/logs.py); access records become structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            entry.update(_access_fields(record.args))
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _access_fields(atoms: Mapping) -> dict:
    # Atom names are gunicorn's: U is the path without the query string, D the
    # duration in microseconds, B the body size; missing values read as "-".
    return {
        "message": "request",
        "method": atoms["m"],
        "path": atoms["U"],
        "status": _int_or_none(atoms["s"]),
        "duration_ms": round(int(atoms["D"]) / 1000, 3),
        "bytes": _int_or_none(atoms["B"]),
        "remote_addr": atoms["h"],
        "user_agent": atoms["a"],
        "request_id": atoms["{x-request-id}o"],
    }


def _int_or_none(value: str) -> int | None:
    return int(value) if str(value).isdigit() else None


logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonLogFormatter}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    "loggers": {
        # The level of gunicorn.error follows --log-level (set by gunicorn itself).
        "gunicorn.error": {"handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
    # The application configures the root logger itself (JSON lines, LOG_LEVEL).
    "root": {"handlers": []},
}


def on_starting(server) -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR (when set) before any worker writes metrics to it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def when_ready(server) -> None:
    """Serve GET /metrics (every worker's numbers) from the master on METRICS_PORT.

    A port already taken is logged and the app still serves: a missing scrape target shows in
    Prometheus (`up == 0`), a pod that will not start takes the service down."""
    from openml_backend.metrics_server import multiprocess_registry, start_metrics_server

    host = server.cfg.bind[0].rsplit(":", 1)[0].strip("[]") or "0.0.0.0"
    try:
        start_metrics_server(host, METRICS_PORT, multiprocess_registry(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
    except OSError as error:
        server.log.error("metrics: cannot listen on %s:%s: %s", host, METRICS_PORT, error)


# How long a booting worker waits for its fetch server to import the OpenML client (1-3 s)
# before it serves anyway (its first cold fetch then waits for the rest); well under the
# gunicorn timeout, which kills a worker that does not boot in time.
FETCH_SERVER_READY_SECONDS = 20.0


def post_fork(server, worker) -> None:
    """Start the worker's OpenML fetch server (openml_client.fetcher) at once: it imports the
    client in its own process while the worker loads the app."""
    try:
        from openml_backend.openml_client import start_fetch_server

        start_fetch_server()
    except Exception:  # the first fetch starts it instead; the worker must still serve
        server.log.warning("worker %s: could not start the OpenML fetch server", worker.pid, exc_info=True)


def post_worker_init(worker) -> None:
    """Before serving, wait (bounded) until the fetch server is ready and load what reading a
    dataset needs (openml_client.warm), so that the worker's first cold request pays for
    neither."""
    try:
        from openml_backend.openml_client import prepare_worker

        if not prepare_worker(timeout=FETCH_SERVER_READY_SECONDS):
            worker.log.warning("worker %s serves before its OpenML fetch server is ready", worker.pid)
    except Exception:
        worker.log.warning("worker %s: the OpenML fetch server did not start", worker.pid, exc_info=True)


def worker_exit(server, worker) -> None:
    """Let a stopping worker finish the emails it has queued (bounded), so none is dropped."""
    from openml_backend.accounts import emails

    emails.wait_for_pending(5)


def child_exit(server, worker) -> None:
    """Drop a dead worker's live metrics (prometheus multiprocess mode, when enabled)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        try:
            multiprocess.mark_process_dead(worker.pid)
        except Exception:  # metrics bookkeeping must never take the master down
            server.log.warning("prometheus: could not mark worker %s dead", worker.pid, exc_info=True)


def on_exit(server) -> None:
    """Remove the metrics directory this file created (never one the operator named)."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
