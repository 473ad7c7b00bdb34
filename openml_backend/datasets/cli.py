"""`flask --app autoapp stats warm`: precompute statistics entries.

    stats warm ID [ID...]                            these datasets, then a summary line
    stats warm --all [--shard I/N] [--older-than D]  every active dataset on OpenML (of shard I
                                                     of N): what the Job runs

Both skip the datasets whose entry is fresh (`warming`), log each dataset and a summary as
JSON lines (whatever LOG_LEVEL says), and exit 1 when any dataset failed.
With --all, each dataset's download is removed once its entry is stored (a pod's cache
volume cannot hold the catalogue), and `--metrics-port` serves the run's counters on GET
/metrics while it lasts (the Job's pods are scraped like the web pods).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import click
from flask.cli import AppGroup

from .. import metrics
from ..extensions import db
from ..metrics_server import multiprocess_registry, start_metrics_server
from ..openml_client import OpenMLError, list_active_datasets
from . import warming
from .views import MAX_DATASET_ID, dataset_statistics

stats_cli = AppGroup("stats", help="Dataset statistics cache.")

# The list of every active dataset is a few MB from OpenML: more than one fetch's timeout.
LIST_TIMEOUT = 300.0


class ShardType(click.ParamType):
    name = "I/N"

    def convert(self, value, param, ctx) -> warming.Shard:
        if isinstance(value, warming.Shard):
            return value
        try:
            return warming.Shard.parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


@stats_cli.command("warm")
@click.argument("dataset_ids", nargs=-1, type=click.IntRange(1, MAX_DATASET_ID))
@click.option("--all", "everything", is_flag=True, help="Every active dataset OpenML lists (instead of IDs).")
@click.option("--shard", type=ShardType(), default="0/1", show_default=True,
              help="Only the datasets whose id modulo N is I (an Indexed Job's pod: JOB_COMPLETION_INDEX/N).")
@click.option("--older-than", "older_than_days", type=click.FloatRange(0, min_open=True), metavar="DAYS",
              help="Also recompute entries computed more than DAYS days ago.")
@click.option("--refresh", is_flag=True, help="Recompute even when a fresh entry exists.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Serve GET /metrics (this run's counters) on PORT while the run lasts.")
def warm(dataset_ids: tuple[int, ...], everything: bool, shard: warming.Shard, older_than_days: float | None,
         refresh: bool, metrics_port: int | None) -> None:
    """Compute and store the statistics of each dataset that has no fresh entry; report what
    failed (exit status 1 when anything did)."""
    if everything == bool(dataset_ids):
        raise click.UsageError("give dataset IDs or --all, not both and not neither")
    older_than = timedelta(days=older_than_days) if older_than_days is not None else None
    statistics = dataset_statistics()
    # The run's own lines are its output: they show whatever LOG_LEVEL the ConfigMap sets.
    logging.getLogger(warming.__name__).setLevel(logging.INFO)
    if metrics_port is not None:
        serve_metrics(metrics_port)
    if not everything:
        summary = warming.warm(statistics, db.engine, dataset_ids, shard=shard, older_than=older_than,
                               refresh=refresh)
        click.echo(f"{summary.computed} computed, {summary.skipped} already stored, {summary.failed} failed")
        for failure in summary.failures:
            click.echo(f"  dataset {failure.dataset_id}: {failure.code}: {failure.message}", err=True)
        raise SystemExit(1 if summary.failures else 0)
    try:
        listed = list_active_datasets(statistics.openml, timeout=max(LIST_TIMEOUT, statistics.openml.timeout))
    except OpenMLError as error:
        warming.log.error("warm: OpenML's dataset list could not be read", extra={
            "shard": str(shard), "error_type": type(error).__name__, "problem": str(error)})
        raise SystemExit(1) from None
    summary = warming.warm(statistics, db.engine, listed, shard=shard, older_than=older_than, refresh=refresh,
                           after_each=lambda dataset_id: warming.discard_download(dataset_id, statistics.openml))
    raise SystemExit(1 if summary.failures else 0)


def serve_metrics(port: int) -> None:
    """GET /metrics on every interface's `port`, in a daemon thread; a port already taken is
    logged and the run goes on (its log lines still tell everything)."""
    registry = (multiprocess_registry(os.environ["PROMETHEUS_MULTIPROC_DIR"])
                if metrics.multiprocess_enabled() else metrics.REGISTRY)
    try:
        start_metrics_server("0.0.0.0", port, registry)  # noqa: S104 - a pod's port, reached by its scraper
    except OSError as error:
        warming.log.error("warm: metrics: cannot listen", extra={"port": port, "error_type": type(error).__name__})
