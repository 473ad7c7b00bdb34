"""openml-backend: the Flask backend of openml.org (dataset statistics and user accounts)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "1.0.0"

log = logging.getLogger(__name__)


def create_app(config: Any = None) -> Flask:
    """Build the application.

    With no argument the configuration comes from the environment (ENVIRONMENT picks the
    class); a configuration error then stops start-up with one line on stderr and a non-zero
    exit. Tests pass a config object (e.g. `TestingConfig(...)`) or a dict of overrides on
    top of `TestingConfig`.
    """
    from .config import BaseConfig, ConfigError, TestingConfig, load_config

    if config is None:
        try:
            config = load_config()
        except ConfigError as error:
            raise SystemExit(f"configuration error: {error}") from None
    elif isinstance(config, dict):
        config = TestingConfig(environ={}, **config)
    if not isinstance(config, BaseConfig):
        raise TypeError("create_app() takes a BaseConfig instance, a dict of overrides or None")

    app = Flask(__name__)
    app.config.update(config.as_flask_config())
    app.extensions["openml_backend.config"] = config
    configure_logger(app, config)
    prepare_directories(app)
    register_extensions(app)
    register_blueprints(app)
    register_metrics(app)
    register_errorhandlers(app)
    register_commands(app)
    from . import database, security

    database.init_app(app)  # at most DB_MAX_CONCURRENT_REQUESTS database requests per process
    security.init_app(app)  # last: its proxy middleware must wrap every other one
    if app.config.get("AUTO_MIGRATE"):
        upgrade_database(app)
    log.info(
        "application configured",
        extra={"environment": config.ENVIRONMENT, "database": config.database_uri_for_logs,
               "openml_server": app.config["OPENML_SERVER_URL"]},
    )
    return app


def configure_logger(app: Flask, config: Any) -> None:
    """JSON logs on stdout at LOG_LEVEL; configured secrets never printed."""
    from sqlalchemy.engine import make_url

    from .logs import configure_logging, register_request_logging

    db_password = None
    if config.SQLALCHEMY_DATABASE_URI:
        db_password = make_url(config.SQLALCHEMY_DATABASE_URI).password
    configure_logging(
        config.LOG_LEVEL,
        secrets=[config.SECRET_KEY, config.JWT_SECRET_KEY, config.MAIL_PASSWORD, db_password],
    )
    register_request_logging(app)


def prepare_directories(app: Flask) -> None:
    """Create the data and OpenML cache directories when they are missing (best effort:
    readiness reports a directory that is not writable)."""
    for key in ("DATA_DIR", "OPENML_CACHE_DIR"):
        try:
            Path(app.config[key]).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            log.warning("cannot create directory", extra={"setting": key, "error_type": type(error).__name__})


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions of `extensions.py` to `app`."""
    from .extensions import cors, db, jwt, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    jwt.init_app(app)
    mail.init_app(app)
    if app.config["CORS_ORIGINS"]:
        cors.init_app(
            app,
            resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
            supports_credentials=True,
            expose_headers=["X-Request-ID", "ETag", "Retry-After"],
        )


def register_blueprints(app: Flask) -> None:
    """Mount each feature's blueprint."""
    from . import contract, datasets
    from .accounts.views import init_app as init_accounts
    from .health.views import blueprint as health_blueprint

    app.register_blueprint(health_blueprint)
    datasets.init_app(app)
    init_accounts(app)
    contract.init_app(app)


def register_metrics(app: Flask) -> None:
    """Count requests and feature events for Prometheus and serve GET /metrics."""
    from . import metrics

    metrics.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    """Render every error in the one problem+json shape."""
    from .errors import register_error_handlers

    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    """Add the project's `flask` CLI commands (each feature registers its own group)."""
    from .accounts.commands import accounts_cli

    app.cli.add_command(accounts_cli)


def upgrade_database(app: Flask) -> None:
    """Apply pending migrations (development only: production runs them in a release Job)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()

