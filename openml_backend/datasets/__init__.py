"""Dataset statistics: GET /api/v1/datasets/<id>/stats, its OpenML source and its shared cache."""

from __future__ import annotations

import threading

from flask import Flask

from ..extensions import db
from . import models  # noqa: F401  (tables must be known to Alembic)
from ..stats import StatsSettings
from .cli import stats_cli
from .service import ServiceSettings, StatsService
from .source import OpenMLSettings, warm_up
from .views import MAX_PREVIEW_ROWS, blueprint


def init_app(app: Flask) -> None:
    """Create the app's StatsService from its config and mount the endpoint and CLI."""
    config = app.config
    settings = ServiceSettings(
        openml=OpenMLSettings(
            server_url=config["OPENML_SERVER_URL"],
            cache_dir=config["OPENML_CACHE_DIR"],
            timeout=config["OPENML_TIMEOUT"],
            retries=config["OPENML_RETRIES"],
        ),
        stats=StatsSettings(
            max_categories=config["STATS_MAX_CATEGORIES"],
            max_correlation_features=config["STATS_MAX_CORRELATION_FEATURES"],
            max_preview_rows=MAX_PREVIEW_ROWS,
        ),
        refresh_interval=config["STATS_REFRESH_INTERVAL"],
        lease_ttl=config["STATS_LEASE_TTL"],
        wait_timeout=config["STATS_WAIT_TIMEOUT"],
        memory_bytes=config["STATS_MEMORY_MB"] * 1024 * 1024,
    )
    app.extensions["openml_backend.stats_service"] = StatsService(settings, engine=lambda: db.engine)
    if not app.testing:
        threading.Thread(target=warm_up, args=(settings.openml,), name="openml-warm-up", daemon=True).start()
    app.register_blueprint(blueprint)
    app.cli.add_command(stats_cli)
