"""Configuration: one frozen object per environment, read from the declared settings.

Each setting is declared once in `settings.py` (variable, kind and bounds, default per
environment, secret or not, one line of documentation). `DevelopmentConfig`,
`ProductionConfig` and `TestingConfig` read those declarations from environment variables;
their upper-case attributes are the Flask `app.config` keys. `load_config()` picks the class
from ENVIRONMENT; a bad value anywhere raises `ConfigError` with one line naming the variable.

    python -m openml_backend.config check [--print NAME ...]   validate (exit 0, 78, or 64)
    python -m openml_backend.config docs [--write]            the table of docs/configuration.md
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.engine import URL, make_url

from .kinds import (
    Boolean,
    CommaList,
    ConfigError,
    DatabaseUrl,
    Integer,
    Kind,
    Number,
    OneOf,
    Text,
    mask_database_uri,
    normalize_database_uri,
)
from .settings import (
    BY_KEY,
    BY_NAME,
    DEVELOPMENT_APP_SECRET_KEY,
    DEVELOPMENT_JWT_SECRET_KEY,
    ENVIRONMENTS,
    OPENML_PRODUCTION_SERVER,
    OPENML_TEST_SERVER,
    REQUIRED,
    SELECTION,
    SETTINGS,
    Derived,
    Setting,
)

__all__ = [
    "BaseConfig", "Boolean", "CommaList", "ConfigError", "DatabaseUrl", "Derived", "DevelopmentConfig",
    "DEVELOPMENT_APP_SECRET_KEY", "DEVELOPMENT_JWT_SECRET_KEY", "ENVIRONMENTS", "Integer", "Kind", "Number",
    "OneOf", "OPENML_PRODUCTION_SERVER", "OPENML_TEST_SERVER", "ProductionConfig", "REQUIRED", "SELECTION",
    "SETTINGS", "Setting", "TestingConfig", "Text", "load_config", "mask_database_uri", "normalize_database_uri",
]


def database_engine_options(uri: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return SQLAlchemy engine options suited to the database behind `uri` (DB_* settings)."""
    url: URL = make_url(uri)
    if url.get_backend_name() == "sqlite":
        # Several gunicorn workers share the file: wait for a lock instead of failing at once.
        return {"connect_args": {"timeout": 15}}
    return {
        "pool_pre_ping": True,
        # Below MariaDB's default wait_timeout and the usual proxy idle limits (300 s).
        "pool_recycle": values["DB_POOL_RECYCLE"],
        "pool_timeout": values["DB_POOL_TIMEOUT"],
        "connect_args": {
            "connect_timeout": values["DB_CONNECT_TIMEOUT"],
            "read_timeout": values["DB_READ_TIMEOUT"],
            "write_timeout": values["DB_WRITE_TIMEOUT"],
        },
    }


def read_settings(environment: str, env: Mapping[str, str], overrides: Mapping[str, Any],
                  warnings: list[str]) -> dict[str, Any]:
    """Return every declared setting's value by variable name, in declaration order.

    An empty variable counts as unset; reading a deprecated alias appends to `warnings`.
    `overrides` (by app.config key) replace what the environment gives, before later defaults
    are derived, and are held to the same bounds.
    Production refusals run last, in declaration order, so the first error is stable.
    """
    values: dict[str, Any] = {"ENVIRONMENT": environment}
    for setting in SETTINGS:
        values[setting.name] = _read_one(setting, environment, env, overrides, values, warnings)
    if environment == "production":
        for setting in SETTINGS:
            value = values[setting.name]
            if value is REQUIRED:
                raise ConfigError(f"{setting.name} is required in production")
            if setting.production_rule is not None and value is not None:
                setting.production_rule(setting.name, value)
    return values


def _read_one(setting: Setting, environment: str, env: Mapping[str, str], overrides: Mapping[str, Any],
              values: Mapping[str, Any], warnings: list[str]) -> Any:
    if setting.flask_key in overrides:
        return setting.kind.coerce(setting.flask_key, overrides[setting.flask_key])
    name, raw = setting.name, env.get(setting.name, "")
    alias = setting.deprecated_alias
    if alias and env.get(alias, ""):
        if raw:
            warnings.append(f"{alias} is deprecated and ignored because {setting.name} is set")
        else:
            warnings.append(f"{alias} is deprecated; set {setting.name} instead")
            name, raw = alias, env[alias]
    if raw:
        return setting.kind.coerce(name, raw)
    default = setting.default_for(environment)
    if isinstance(default, Derived):
        default = default.compute(values)
    if default is None or default is REQUIRED:
        return default
    return setting.kind.coerce(setting.name, default)


class BaseConfig:
    """The settings of one environment, read once and frozen.

    Upper-case attributes are the `app.config` keys (`config.MAIL_SERVER`, ...). `environ`
    defaults to os.environ; keyword `overrides` (by app.config key) replace values after they
    are read, for tests: `TestingConfig(environ={...}, MAIL_PORT=2525)`. `warnings` lists what
    the operator should change although the configuration works; whoever starts the app logs
    them once logging is set up.
    """

    ENVIRONMENT: ClassVar[str] = ""
    AUTO_MIGRATE: ClassVar[bool] = False
    TESTING: ClassVar[bool] = False  # Flask's own flag (OPENML_USE_TEST_SERVER picks the OpenML server)
    DEBUG: ClassVar[bool] = False

    def __init__(self, environ: Mapping[str, str] | None = None, *, warnings: Iterable[str] = (),
                 **overrides: Any) -> None:
        env = dict(os.environ if environ is None else environ)
        notes = list(warnings)
        values = read_settings(self.ENVIRONMENT, env, overrides, notes)
        flask = {setting.flask_key: values[setting.name] for setting in SETTINGS if setting.flask_key}
        flask.update(derived_flask_settings(values))
        unknown = set(overrides) - set(flask)
        if unknown:
            raise TypeError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
        flask.update({key: overrides[key] for key in overrides if key not in BY_KEY})
        object.__setattr__(self, "warnings", tuple(notes))
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_flask", flask)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_flask"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen; pass {name} as an override instead")

    def value(self, name: str) -> Any:
        """The value of the variable `name` (entrypoint settings included)."""
        if name == "ENVIRONMENT":
            return self.ENVIRONMENT
        return self._values[name]

    def secret_values(self) -> list[str]:
        """Every configured value of a secret setting (and the database password), to redact."""
        found: list[str] = []
        for setting in SETTINGS:
            value = self._values[setting.name]
            if setting.secret and isinstance(value, str) and value:
                found.append(value)
                if isinstance(setting.kind, DatabaseUrl) and make_url(value).password:
                    found.append(str(make_url(value).password))
        return found

    @property
    def database_uri_for_logs(self) -> str:
        """The database URI with its password masked."""
        return mask_database_uri(self.SQLALCHEMY_DATABASE_URI)

    def as_flask_config(self) -> dict[str, Any]:
        """Return the app.config keys and values, for `app.config.update`."""
        flags = {"ENVIRONMENT": self.ENVIRONMENT, "AUTO_MIGRATE": self.AUTO_MIGRATE,
                 "TESTING": self.TESTING, "DEBUG": self.DEBUG}
        return {**flags, **self._flask}


def derived_flask_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The app.config keys of Flask's extensions that follow from the declared settings."""
    uri = values["DATABASE_URI"]
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": database_engine_options(uri, values) if uri else {},
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],  # pinned: `alg: none` and other algorithms are refused
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=values["ACCESS_TOKEN_MINUTES"]),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=values["REFRESH_TOKEN_DAYS"]),
        "MAIL_USE_SSL": False,
    }


class DevelopmentConfig(BaseConfig):
    """Local work and the dev cluster: SQLite, DEBUG logs, OpenML's test server, committed secrets."""

    ENVIRONMENT = "development"
    AUTO_MIGRATE = True


class ProductionConfig(BaseConfig):
    """The production cluster: MySQL, WARNING logs, OpenML's production server, real secrets."""

    ENVIRONMENT = "production"


class TestingConfig(BaseConfig):
    """The test suite: Flask testing mode, cheap password hashes, no real OpenML server."""

    ENVIRONMENT = "testing"
    TESTING = True
    __test__ = False  # not a pytest test class despite its name


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config(environ: Mapping[str, str] | None = None) -> BaseConfig:
    """Return the configuration that ENVIRONMENT names, built from `environ` (default os.environ).

    Unset ENVIRONMENT means development (with a warning in `config.warnings`). In development
    a `.env` file in the working directory (or DOTENV_PATH) is read first; real environment
    variables win over it.
    """
    env = dict(os.environ if environ is None else environ)
    name = env.get("ENVIRONMENT", "")
    warnings = []
    if not name:
        warnings.append("ENVIRONMENT is not set; using development")
        name = "development"
    name = BY_NAME["ENVIRONMENT"].kind.coerce("ENVIRONMENT", name)
    if name == "development":
        dotenv_path = Path(env.get("DOTENV_PATH") or BY_NAME["DOTENV_PATH"].default)
        if dotenv_path.is_file():
            env = {**_read_dotenv(dotenv_path), **env}
    return CONFIGS[name](env, warnings=warnings)


def _read_dotenv(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path).items() if value is not None}
