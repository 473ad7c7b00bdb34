"""Prometheus metrics: what the service counts, and GET /metrics.

Under gunicorn every worker is its own process, so the numbers must be summed across them:
prometheus-client's multiprocess mode does that through files in PROMETHEUS_MULTIPROC_DIR,
which docker/gunicorn.conf.py sets (before any worker imports this module), empties when the
server starts, and cleans per dead worker. Without that variable (flask run, tests) the
process's default registry is served.

Labels stay bounded: requests are labelled by their route template (`/api/v1/datasets/<int:
dataset_id>/stats`), never the raw path, and unknown methods collapse into OTHER.

The app itself has no /metrics route: under gunicorn the master serves GET /metrics on
METRICS_PORT (openml_backend/metrics_server.py, started by docker/gunicorn.conf.py), a port
the public Service and the Ingress do not reach. `flask run` serves no metrics at all;
`exposition()` returns what the port would serve.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

# prometheus_client opens its per-process files at the first metric; under gunicorn the
# directory exists already, but a `flask` command (the migration Job) in the same environment
# would fail on a missing one.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402  (after the directory exists)
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from . import __version__
from .logs import request_seconds

UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CACHE_OUTCOMES = ("memory", "database", "coalesced", "miss")
WARM_OUTCOMES = ("computed", "skipped", "failed")
FETCH_FAILURE_KINDS = ("not_found", "forbidden", "unavailable", "unparseable", "unexpected")
LOGIN_FAILURE_REASONS = ("invalid_credentials", "not_confirmed")
EMAIL_OUTCOMES = ("sent", "failed")

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
COMPUTATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
ROWS_BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)

REQUESTS = Counter(
    "openml_backend_http_requests_total", "HTTP requests answered, by route template, method and status.",
    ["endpoint", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "openml_backend_http_request_duration_seconds", "Time from the request's start to its response, by route template.",
    ["endpoint", "method"], buckets=LATENCY_BUCKETS,
)
STATS_COMPUTATIONS = Counter(
    "openml_backend_stats_computations_total", "Statistics computed from downloaded data (not from a cache).",
)
STATS_COMPUTATION_SECONDS = Histogram(
    "openml_backend_stats_computation_seconds", "Download plus computation time of one dataset's statistics.",
    buckets=COMPUTATION_BUCKETS,
)
STATS_COMPUTED_ROWS = Histogram(
    "openml_backend_stats_computed_rows", "Rows of each dataset whose statistics were computed.",
    buckets=ROWS_BUCKETS,
)
STATS_CACHE = Counter(
    "openml_backend_stats_cache_total",
    "Statistics lookups by outcome: memory or database hit, coalesced wait on another "
    "process's computation, miss (computed here).",
    ["outcome"],
)
STATS_WARMED = Counter(
    "openml_backend_stats_warm_total",
    "Datasets a `stats warm` run handled, by outcome: computed, skipped (a fresh entry was "
    "stored) or failed.",
    ["outcome"],
)
OPENML_FETCH_FAILURES = Counter(
    "openml_backend_openml_fetch_failures_total", "Failed dataset downloads from OpenML, by kind.", ["kind"],
)
LOGIN_FAILURES = Counter(
    "openml_backend_login_failures_total", "Refused logins (wrong credentials, unconfirmed account).", ["reason"],
)
THROTTLED = Counter(
    "openml_backend_throttled_total", "Requests refused with 429 by an attempt limit, by scope.", ["scope"],
)
EMAILS = Counter(
    "openml_backend_emails_total", "Account emails handed to SMTP, by template and outcome.", ["template", "outcome"],
)
# "max": every live worker reports 1, so the merged series is 1 whatever the worker count.
BUILD_INFO = Gauge(
    "openml_backend_build_info", "Always 1; the labels say which version runs in which environment.",
    ["version", "environment"], multiprocess_mode="max",
)

for _outcome in CACHE_OUTCOMES:
    STATS_CACHE.labels(_outcome)
for _outcome in WARM_OUTCOMES:
    STATS_WARMED.labels(_outcome)
for _kind in FETCH_FAILURE_KINDS:
    OPENML_FETCH_FAILURES.labels(_kind)
for _reason in LOGIN_FAILURE_REASONS:
    LOGIN_FAILURES.labels(_reason)


def multiprocess_enabled() -> bool:
    """True when the metrics of several worker processes are merged through files."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition() -> bytes:
    """The current metrics in the Prometheus text format (every worker's, in multiprocess mode)."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# -- hooks for the features (plain functions: callers need not know prometheus) ---------------

def stats_computed(_dataset_id: int, seconds: float, rows: int) -> None:
    """Count one statistics computation of `rows` rows that took `seconds`."""
    STATS_COMPUTATIONS.inc()
    STATS_COMPUTATION_SECONDS.observe(seconds)
    STATS_COMPUTED_ROWS.observe(rows)


def stats_cache(outcome: str) -> None:
    """Count one statistics lookup ending in `outcome` (see CACHE_OUTCOMES)."""
    STATS_CACHE.labels(outcome).inc()


def stats_warmed(outcome: str) -> None:
    """Count one dataset a `stats warm` run handled (see WARM_OUTCOMES)."""
    STATS_WARMED.labels(outcome).inc()


def openml_fetch_failed(kind: str) -> None:
    """Count one failed OpenML download of `kind` (see FETCH_FAILURE_KINDS)."""
    OPENML_FETCH_FAILURES.labels(kind).inc()


def login_failed(reason: str) -> None:
    """Count one refused login (see LOGIN_FAILURE_REASONS)."""
    LOGIN_FAILURES.labels(reason).inc()


def throttled(scope: str) -> None:
    """Count one request refused by the attempt limit of `scope` (a fixed set of names)."""
    THROTTLED.labels(scope).inc()


def email_attempted(template: str, sent: bool) -> None:
    """Count one email of `template` (a fixed set of names) as sent or failed."""
    EMAILS.labels(template, "sent" if sent else "failed").inc()


# -- Flask wiring --------------------------------------------------------------------------

def _route_template() -> str:
    return request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE


def _method() -> str:
    return request.method if request.method in KNOWN_METHODS else "OTHER"


def init_app(app: Flask) -> None:
    """Count every request by route template and publish build info (the app serves no /metrics).

    Nothing here depends on what is registered before or after: the route template is read
    when a response leaves, and the features call the counting functions above themselves.
    """
    BUILD_INFO.labels(__version__, app.config["ENVIRONMENT"]).set(1)

    @app.after_request
    def count_request(response: Response) -> Response:
        endpoint, method = _route_template(), _method()
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        elapsed = request_seconds()
        if elapsed is not None:
            REQUEST_SECONDS.labels(endpoint, method).observe(elapsed)
        return response
