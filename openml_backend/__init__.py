"""openml-backend: the Flask backend of openml.org (dataset statistics and user accounts)."""

from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "1.0.0"

log = logging.getLogger(__name__)

# Each feature package mounts itself with `init_app(app)` (blueprints, CLI commands, hooks);
# none depends on the order of this list.
FEATURES = ("health", "datasets", "pages", "accounts", "avatars", "oauth", "passkeys", "contributions",
            "uploads", "contract", "metrics", "database", "security", "request_bodies")


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
    for warning in config.warnings:
        log.warning(warning)
    prepare_directories(app)
    register_extensions(app)
    register_features(app)
    register_errorhandlers(app)
    if app.config.get("AUTO_MIGRATE"):
        upgrade_database(app)
    log.info(
        "application configured",
        extra={"environment": config.ENVIRONMENT, "database": config.database_uri_for_logs,
               "openml_server": app.config["OPENML_SERVER_URL"]},
    )
    return app


def configure_logger(app: Flask, config: Any) -> None:
    """JSON logs on stdout at LOG_LEVEL; the values of settings declared secret never printed."""
    from .logs import configure_logging, register_request_logging

    configure_logging(config.LOG_LEVEL, secrets=config.secret_values())
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
            # The API, and the API key paths the website's frontend calls outside /api/v1.
            resources={r"(/api/.*|/api-key|/api-key/regenerate)$": {"origins": app.config["CORS_ORIGINS"]}},
            supports_credentials=True,
            expose_headers=["X-Request-ID", "ETag", "Retry-After"],
        )


def register_features(app: Flask) -> None:
    """Let each feature package of FEATURES mount itself."""
    for name in FEATURES:
        import_module(f"{__name__}.{name}").init_app(app)


def register_errorhandlers(app: Flask) -> None:
    """Render every error in the one problem+json shape."""
    from . import errors

    errors.init_app(app)


def upgrade_database(app: Flask) -> None:
    """Apply pending migrations (development only: production runs them in a release Job)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()

