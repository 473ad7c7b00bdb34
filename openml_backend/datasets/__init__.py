"""Dataset statistics: GET /api/v1/datasets/<id>/stats and `flask stats warm`.

`views` is the endpoint, `cli` the command, `statistics` builds and renders a dataset's
document, `responses` sends a rendered answer (ETag, 304, gzip; the dataset page uses it too),
`cache` shares it between processes (tables in `models`). The OpenML client is
`openml_backend.openml_client`; the computation is `openml_backend.stats`.
"""

from __future__ import annotations

from flask import Flask

from ..extensions import db
from ..openml_client import OpenMLSettings
from ..stats import MemoryBudget, StatsSettings
from . import models  # noqa: F401  (tables must be known to Alembic)
from .cache import CacheSettings, StatsCache
from .cli import stats_cli
from .statistics import DatasetStatistics
from .views import MAX_PREVIEW_ROWS, blueprint


def init_app(app: Flask) -> None:
    """Build the app's DatasetStatistics from its config and mount the endpoint and CLI."""
    config = app.config
    openml = OpenMLSettings(
        server_url=config["OPENML_SERVER_URL"],
        cache_dir=config["OPENML_CACHE_DIR"],
        timeout=config["OPENML_TIMEOUT"],
        retries=config["OPENML_RETRIES"],
        cache_max_bytes=int(config["OPENML_CACHE_MAX_MB"] * 1024 * 1024),
    )
    memory_bytes = config["STATS_MEMORY_MB"] * 1024 * 1024
    cache = StatsCache(
        CacheSettings(
            refresh_interval=config["STATS_REFRESH_INTERVAL"],
            lease_ttl=config["STATS_LEASE_TTL"],
            wait_timeout=config["STATS_WAIT_TIMEOUT"],
            revalidate_after=config["STATS_REVALIDATE_SECONDS"],
            refusal_ttl=config["STATS_REFUSAL_TTL"],
            failure_ttl=config["STATS_FAILURE_TTL"],
            memory_bytes=memory_bytes // 2,
        ),
        engine=lambda: db.engine,
    )
    stats = StatsSettings(
        max_categories=config["STATS_MAX_CATEGORIES"],
        max_correlation_features=config["STATS_MAX_CORRELATION_FEATURES"],
        max_preview_rows=MAX_PREVIEW_ROWS,
    )
    budget = MemoryBudget(budget_bytes=config["STATS_MEMORY_BUDGET_MB"] * 1024 * 1024,
                          max_cells=config["STATS_MAX_CELLS"])
    app.extensions["openml_backend.dataset_statistics"] = DatasetStatistics(
        cache, openml, stats, memory_bytes=memory_bytes // 2, budget=budget)
    # The fetch server is started when a gunicorn worker boots (docker/gunicorn.conf.py);
    # elsewhere (flask run, the CLI) by the first fetch.
    app.register_blueprint(blueprint)
    app.cli.add_command(stats_cli)
