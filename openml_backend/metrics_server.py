"""GET /metrics on its own port (METRICS_PORT), served by gunicorn's master process.

The public port (5000) has no /metrics route, so neither the Ingress nor any client that
reaches the Service can read it, however the path is spelled (`//metrics`, `/metrics/`).
The master sums every worker's numbers from the prometheus multiprocess files
(PROMETHEUS_MULTIPROC_DIR), and answers even while every worker thread is busy.

This module imports prometheus_client only, never the app's metrics: a metric created in the
master would write files of its own that every forked worker inherits.
"""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

METRICS_PATH = "/metrics"
log = logging.getLogger(__name__)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        """Scrapes are not logged: every 15 s per pod would drown the access log."""


def metrics_app(registry: CollectorRegistry) -> Any:
    """A WSGI app answering GET /metrics with `registry`'s exposition; 404 elsewhere."""

    def app(environ: dict, start_response: Any) -> list[bytes]:
        if environ.get("PATH_INFO") != METRICS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found\n"]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")])
            return [b"method not allowed\n"]
        body = generate_latest(registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store"),
                                  ("Content-Length", str(len(body)))])
        return [body] if environ["REQUEST_METHOD"] == "GET" else []

    return app


def multiprocess_registry(directory: str) -> CollectorRegistry:
    """A registry that sums the metrics files every worker writes under `directory`."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> WSGIServer:
    """Serve GET /metrics on `host`:`port` in a daemon thread; return the server."""
    server = make_server(host, port, metrics_app(registry), server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    return server
