"""Configuration: every setting declared once in `SETTINGS`, read from environment variables.

A `Setting` names its environment variable, its type and bounds (a `Kind`), its default in
each environment, whether it is a secret, and one line of documentation. One class per
environment (`DevelopmentConfig`, `ProductionConfig`, `TestingConfig`) reads the declarations
into a frozen object whose upper-case attributes are the Flask `app.config` keys.
`load_config()` picks the class from ENVIRONMENT; a bad value anywhere raises `ConfigError`
with one line naming the variable.

    python -m openml_backend.config check [--print NAME ...]   validate (exit 0, 78, or 64)
    python -m openml_backend.config docs [--write]            the table of docs/configuration.md

Adding a setting: append a `Setting(...)` to `SETTINGS` (its `key` is the `app.config` name,
the variable name unless given), then run `python -m openml_backend.config docs --write`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.engine import URL, make_url

ENVIRONMENTS = ("development", "production", "testing")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
OPENML_TEST_SERVER = "https://test.openml.org/api/v1/xml"
OPENML_PRODUCTION_SERVER = "https://www.openml.org/api/v1/xml"
# Tests must never reach a real OpenML server by accident: port 9 is "discard".
OPENML_UNREACHABLE_SERVER = "http://127.0.0.1:9/api/v1/xml"

# Committed development secrets (also in k8s/dev/secrets.yaml). Production refuses any secret
# containing one of these markers, so a copied development manifest cannot go live.
DEVELOPMENT_APP_SECRET_KEY = "development-only-app-secret-key-never-use-in-production"
DEVELOPMENT_JWT_SECRET_KEY = "development-only-jwt-secret-key-never-use-in-production"
FORBIDDEN_SECRET_MARKERS = ("CHANGE-ME", "development-only")
MIN_SECRET_LENGTH = 32

EX_USAGE = 64  # sysexits.h: the command was used incorrectly
EX_CONFIG = 78  # sysexits.h: configuration error

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
DOCS_BEGIN = "<!-- BEGIN GENERATED: python -m openml_backend.config docs --write -->"
DOCS_END = "<!-- END GENERATED -->"

log = logging.getLogger("openml_backend.config")  # also when run as __main__


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


# --- Kinds: how one variable's text becomes a value, and the bounds it must respect --------


class Kind:
    """The type of a setting. `coerce` accepts the variable's text or an already typed value
    (a test's override) and returns the value, or raises ConfigError naming the variable."""

    description = "text"

    def coerce(self, name: str, value: Any) -> Any:
        return self.parse(name, value) if isinstance(value, str) else self.check(name, value)

    def parse(self, name: str, text: str) -> Any:
        return self.check(name, text)

    def check(self, name: str, value: Any) -> Any:
        return value

    def show(self, value: Any) -> str:
        """The value as the docs table writes it."""
        return f"`{value}`"


@dataclass(frozen=True)
class Text(Kind):
    """Any text; `rstrip` characters are removed from its end (base URLs lose a final /)."""

    rstrip: str = ""

    def check(self, name: str, value: Any) -> str:
        return str(value).rstrip(self.rstrip) if self.rstrip else str(value)


@dataclass(frozen=True)
class Integer(Kind):
    """A whole number within [minimum, maximum] (either end may be open)."""

    minimum: int | None = None
    maximum: int | None = None

    @property
    def description(self) -> str:  # type: ignore[override]
        return "integer" + _bounds(self.minimum, self.maximum)

    def parse(self, name: str, text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ConfigError(f"{name} must be an integer (got {text!r})") from None
        return self.check(name, number)

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer (got {value!r})")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ConfigError(f"{name} must be{_bounds(self.minimum, self.maximum)} (got {value})")
        return value


@dataclass(frozen=True)
class Number(Kind):
    """A finite number strictly above `above`."""

    above: float = 0.0

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"number > {self.above:g}"

    def parse(self, name: str, text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number (got {text!r})") from None
        return self.check(name, number)

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number (got {value!r})")
        if not math.isfinite(value) or not value > self.above:
            raise ConfigError(f"{name} must be a finite number above {self.above:g} (got {value!r})")
        return float(value)

    def show(self, value: Any) -> str:
        return f"`{value:g}`"


_TRUE = ("True", "true", "1")
_FALSE = ("False", "false", "0")


class Boolean(Kind):
    """True or False, written exactly True, False, true, false, 1 or 0."""

    description = "boolean"

    def parse(self, name: str, text: str) -> bool:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{name} must be one of {', '.join(_TRUE + _FALSE)} (got {text!r})")

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be True or False (got {value!r})")
        return value


@dataclass(frozen=True)
class OneOf(Kind):
    """One of a fixed set of words; `upper` accepts any case and stores upper case."""

    choices: tuple[str, ...]
    upper: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        return " \\| ".join(self.choices)

    def check(self, name: str, value: Any) -> str:
        word = str(value).upper() if self.upper else str(value)
        if word not in self.choices:
            raise ConfigError(f"{name} must be one of {', '.join(self.choices)} (got {value!r})")
        return word


@dataclass(frozen=True)
class CommaList(Kind):
    """Comma-separated items, blanks dropped; `networks` requires each to be an IP network."""

    networks: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        return "comma-separated CIDRs" if self.networks else "comma-separated list"

    def parse(self, name: str, text: str) -> list[str]:
        return self.check(name, text.split(","))

    def check(self, name: str, value: Any) -> list[str]:
        items = [str(item).strip() for item in value if str(item).strip()]
        if self.networks:
            for item in items:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ConfigError(f"{name} must list IP networks such as 10.0.0.0/8 (got {item!r})") from None
        return items

    def show(self, value: Any) -> str:
        return f"`{','.join(value)}`" if value else "empty"


class DatabaseUrl(Kind):
    """A mysql:// (used through PyMySQL, utf8mb4) or sqlite:/// URL."""

    description = "mysql:// or sqlite:/// URL"

    def check(self, name: str, value: Any) -> str:
        return normalize_database_uri(str(value), name)


def _bounds(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" {minimum}..{maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


# --- Defaults -------------------------------------------------------------------------------


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # a default meaning "the variable must be set"


@dataclass(frozen=True)
class Derived:
    """A default computed from settings declared earlier; `text` says how, for the docs."""

    text: str
    compute: Callable[[Mapping[str, Any]], Any]


# --- Production rules: what production refuses although the type would accept it -----------


def strong_secret(name: str, value: str) -> None:
    """Refuse a short secret or one that looks like a placeholder or a development value."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{name} must be at least {MIN_SECRET_LENGTH} characters in production")
    if any(marker.lower() in value.lower() for marker in FORBIDDEN_SECRET_MARKERS):
        raise ConfigError(f"{name} is a placeholder or development value; set a real secret in production")


def not_sqlite(name: str, value: str) -> None:
    """Refuse SQLite: production runs several pods against one MySQL."""
    if make_url(value).get_backend_name() == "sqlite":
        raise ConfigError(f"{name} must not be SQLite in production; use MySQL")


def production_cost(name: str, value: str) -> None:
    """Refuse the cheap password hash the tests use."""
    if value != "production":
        raise ConfigError(f"{name} must be production in production")


def exact_origins(name: str, value: list[str]) -> None:
    """Refuse a wildcard origin: credentials go with CORS answers."""
    if any("*" in origin for origin in value):
        raise ConfigError(f"{name} must list exact origins in production, not '*'")


# --- The declaration --------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable: its kind, defaults, meaning and where the app finds it.

    `default` holds in every environment unless `development`, `production` or `testing`
    name another; a default may be a value, None (unset), REQUIRED or `Derived`. `key` is the
    `app.config` name (the variable's own name unless given; None keeps it out of app.config:
    the container entrypoint reads it). `secret` values are never logged. `production_rule`
    refuses values production must not run with. `deprecated_alias` is an older variable
    still read (with a warning) when this one is unset.
    """

    name: str
    kind: Kind
    default: Any
    doc: str
    development: Any = field(default=..., kw_only=True)
    production: Any = field(default=..., kw_only=True)
    testing: Any = field(default=..., kw_only=True)
    key: str | None = field(default="", kw_only=True)
    secret: bool = field(default=False, kw_only=True)
    production_rule: Callable[[str, Any], None] | None = field(default=None, kw_only=True)
    deprecated_alias: str | None = field(default=None, kw_only=True)

    @property
    def flask_key(self) -> str | None:
        """The app.config name, or None for a setting only the container entrypoint reads."""
        return self.name if self.key == "" else self.key

    def default_for(self, environment: str) -> Any:
        """The default in `environment`."""
        specific = getattr(self, environment)
        return self.default if specific is ... else specific


SELECTION = (
    Setting("ENVIRONMENT", OneOf(ENVIRONMENTS), "development",
            "picks the configuration; unset means development (with a warning)",
            production="production", testing="testing"),
    Setting("DOTENV_PATH", Text(), ".env", "a file of variables read in development only (real variables win)",
            production=None, testing=None, key=None),
)

SETTINGS: tuple[Setting, ...] = (
    Setting("FLASK_ENV", Text(), Derived("ENVIRONMENT", lambda v: v["ENVIRONMENT"]),
            "informational; the Kubernetes ConfigMaps set it"),
    Setting("LOG_LEVEL", OneOf(LOG_LEVELS, upper=True), "DEBUG", "level of the JSON log lines (any case)",
            production="WARNING"),
    Setting("DATA_DIR", Text(), "./data", "SQLite file and other writable state (`/app/data` in the image)"),
    Setting("OPENML_USE_TEST_SERVER", Boolean(), True,
            "True selects OpenML's test server, False its production server", production=False,
            deprecated_alias="TESTING"),
    Setting("OPENML_SERVER_URL", Text(),
            Derived("from OPENML_USE_TEST_SERVER",
                    lambda v: OPENML_TEST_SERVER if v["OPENML_USE_TEST_SERVER"] else OPENML_PRODUCTION_SERVER),
            "the OpenML API base; overrides OPENML_USE_TEST_SERVER",
            testing=OPENML_UNREACHABLE_SERVER),
    Setting("OPENML_CACHE_DIR", Text(), Derived("DATA_DIR/openml-cache", lambda v: str(Path(v["DATA_DIR"]) / "openml-cache")),
            "the openml client's download cache"),
    Setting("OPENML_TIMEOUT", Number(), 30.0, "seconds one OpenML fetch may take before 503"),
    Setting("OPENML_RETRIES", Integer(1, 10), 2, "tries of the openml client per request"),
    Setting("STATS_MAX_CATEGORIES", Integer(1), 50, "categories listed per nominal feature"),
    Setting("STATS_MAX_CORRELATION_FEATURES", Integer(2, 1000), 100, "features in the correlation matrix"),
    Setting("STATS_REFRESH_INTERVAL", Number(), 60.0, "seconds between two recomputations of one dataset"),
    Setting("STATS_LEASE_TTL", Number(), 15.0, "seconds after which a silent computing worker is presumed dead"),
    Setting("STATS_WAIT_TIMEOUT", Number(), Derived("OPENML_TIMEOUT + 30", lambda v: v["OPENML_TIMEOUT"] + 30.0),
            "seconds a request waits for another worker's computation"),
    Setting("STATS_MEMORY_MB", Integer(1), 64, "in-process cache of ready responses, in MiB"),
    Setting("STATS_CACHE_MAX_AGE", Integer(0), 300, "Cache-Control max-age of statistics answers, for CDNs"),
    Setting("APP_SECRET_KEY", Text(), DEVELOPMENT_APP_SECRET_KEY, "Flask's secret key",
            production=REQUIRED, testing="testing-app-secret-key-0123456789abcdef",
            key="SECRET_KEY", secret=True, production_rule=strong_secret),
    Setting("JWT_SECRET_KEY", Text(), DEVELOPMENT_JWT_SECRET_KEY, "signs the JWTs",
            production=REQUIRED, testing="testing-jwt-secret-key-0123456789abcdef",
            secret=True, production_rule=strong_secret),
    Setting("DATABASE_URI", DatabaseUrl(),
            Derived("sqlite:///DATA_DIR/openml.db", lambda v: f"sqlite:///{(Path(v['DATA_DIR']) / 'openml.db').resolve()}"),
            "the database; production needs mysql://user:pass@host:3306/openml?charset=utf8mb4",
            production=REQUIRED, key="SQLALCHEMY_DATABASE_URI", secret=True, production_rule=not_sqlite),
    Setting("DB_CONNECT_TIMEOUT", Integer(1), 3, "seconds to open a MySQL connection"),
    Setting("DB_READ_TIMEOUT", Integer(1), 5, "seconds a MySQL read may take within a request"),
    Setting("DB_WRITE_TIMEOUT", Integer(1), 5, "seconds a MySQL write may take within a request"),
    Setting("DB_POOL_TIMEOUT", Integer(1), 3, "seconds a request waits for a pooled MySQL connection"),
    Setting("DB_POOL_RECYCLE", Integer(1), 280, "seconds before a pooled MySQL connection is replaced (below wait_timeout)"),
    Setting("DB_MAX_CONCURRENT_REQUESTS", Integer(1), 3,
            "database-using requests one worker runs at once; others answer 503 database_unavailable"),
    Setting("SMTP_SERVER", Text(), "localhost", "outgoing mail relay", key="MAIL_SERVER"),
    Setting("SMTP_PORT", Integer(1, 65535), 25, "port of the mail relay", key="MAIL_PORT"),
    Setting("SMTP_LOGIN", Text(), None, "user name at the mail relay", key="MAIL_USERNAME"),
    Setting("SMTP_PASS", Text(), None, "password at the mail relay", key="MAIL_PASSWORD", secret=True),
    Setting("SMTP_USE_TLS", Boolean(), False, "STARTTLS to the mail relay", key="MAIL_USE_TLS"),
    Setting("SMTP_TIMEOUT", Number(), 10.0, "seconds for every SMTP exchange"),
    Setting("EMAIL_SENDER", Text(), "OpenML <no-reply@openml.org>", "From: of every email", key="MAIL_DEFAULT_SENDER"),
    Setting("EMAIL_SERVER", Text(rstrip="/"), "http://localhost:3000", "website base URL used in email links"),
    Setting("URL_API", Text(rstrip="/"), "http://localhost:8000", "this API's public base URL"),
    Setting("CORS_ORIGINS", CommaList(), [], "exact origins allowed to call /api with credentials",
            development=["http://localhost:3000"], production_rule=exact_origins),
    Setting("MAX_CONTENT_LENGTH", Integer(1024), 64 * 1024, "largest accepted request body in bytes (413 above)"),
    Setting("ACCESS_TOKEN_MINUTES", Integer(1), 15, "lifetime of an access token"),
    Setting("REFRESH_TOKEN_DAYS", Integer(1), 30, "lifetime of a refresh token"),
    Setting("CONFIRM_TOKEN_HOURS", Integer(1), 72, "lifetime of an emailed confirmation link"),
    Setting("RESET_TOKEN_MINUTES", Integer(1), 60, "lifetime of an emailed password-reset link"),
    Setting("PASSWORD_HASH_COST", OneOf(("production", "low")), "production", "argon2 cost; low only for tests",
            testing="low", production_rule=production_cost),
    Setting("REAUTH_SECONDS", Integer(0), 300,
            "a login this recent counts as recent for sensitive actions; 0 always asks the password"),
    Setting("LOGIN_WINDOW_SECONDS", Integer(1), 900, "window of the login throttles"),
    Setting("LOGIN_MAX_PER_ACCOUNT", Integer(1), 5, "login attempts per account and window"),
    Setting("LOGIN_MAX_PER_ADDRESS", Integer(1), 30, "login attempts per client address and window"),
    Setting("EMAIL_MAX_PER_ADDRESS", Integer(1), 30, "signup, resend and forgot requests per client address and hour"),
    Setting("EMAIL_MAX_PER_ACCOUNT", Integer(1), 5, "mails one account may cause per hour"),
    Setting("EMAIL_MAX_PER_RECIPIENT", Integer(1), 5, "mails one recipient address may receive per hour"),
    Setting("EMAIL_CHANGE_UNDO_DAYS", Integer(1), 7, "how long the old address's undo link of an email change works"),
    Setting("FEEDBACK_MAX_PER_ADDRESS", Integer(1), 5, "feedback messages per client address and hour"),
    Setting("FEEDBACK_EMAIL", Text(), "openmlhq@googlegroups.com", "where POST /feedback messages go"),
    Setting("PROXY_FIX_HOPS", Integer(0, 5), 0, "trust X-Forwarded-For from this many proxies; 0 uses the socket address"),
    Setting("TRUSTED_PROXIES", CommaList(networks=True), [],
            "X-Forwarded-For is honoured only when the socket peer is in one of these networks"),
    Setting("METRICS_PORT", Integer(1, 65535), 9100, "/metrics is served only on this port"),
    Setting("HSTS_SECONDS", Integer(0), 0, "Strict-Transport-Security max-age; 0 sends none", production=31536000),
    # Read by docker/entrypoint.sh (through `check --print`), not by the app.
    Setting("GUNICORN_WORKERS", Integer(1), None,
            "worker processes per pod; unset derives them from the CPU and memory limits (always 1 in development)",
            key=None),
    Setting("GUNICORN_THREADS", Integer(1), 4, "threads per worker (gthread)", key=None),
    Setting("GUNICORN_TIMEOUT", Integer(1), 120, "seconds a silent worker lives before it is restarted", key=None),
    Setting("GUNICORN_GRACEFUL_TIMEOUT", Integer(1), 30, "seconds in-flight requests get after SIGTERM", key=None),
    Setting("GUNICORN_WORKER_MEMORY_MB", Integer(1), 1024, "memory budget per worker when deriving the count",
            key=None),
    Setting("GUNICORN_MAX_WORKERS", Integer(1), 12, "upper bound of the derived worker count", key=None),
)

_BY_NAME = {setting.name: setting for setting in SELECTION + SETTINGS}
_PRINTABLE = {"ENVIRONMENT"} | {setting.name for setting in SETTINGS}
_BY_KEY = {setting.flask_key: setting for setting in SETTINGS if setting.flask_key}


# --- Database URLs --------------------------------------------------------------------------


def normalize_database_uri(uri: str, name: str = "DATABASE_URI") -> str:
    """Return `uri` in the form SQLAlchemy needs: plain `mysql://` goes through PyMySQL, utf8mb4.

    SQLAlchemy reads `mysql://` as the MySQLdb driver, which is not installed; the Kubernetes
    Secret writes `mysql://user:pass@host:3306/openml?charset=utf8mb4`.
    """
    try:
        url = make_url(uri)
    except Exception:
        raise ConfigError(f"{name} is not a valid database URL") from None
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb"):
        if url.drivername in ("mysql", "mariadb"):
            url = url.set(drivername="mysql+pymysql")
        if url.get_driver_name() != "pymysql":
            raise ConfigError(f"{name} must use the pymysql driver for MySQL (mysql:// or mysql+pymysql://)")
        url = url.update_query_dict({"charset": "utf8mb4"})
    elif backend != "sqlite":
        raise ConfigError(f"{name} must be a mysql:// or sqlite:/// URL (got a {backend} URL)")
    return url.render_as_string(hide_password=False)


def mask_database_uri(uri: str) -> str:
    """Return `uri` with its password replaced by ***, safe to log."""
    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URI>"


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


# --- Reading ---------------------------------------------------------------------------------


def read_settings(environment: str, env: Mapping[str, str], overrides: Mapping[str, Any],
                  warnings: list[str]) -> dict[str, Any]:
    """Return every declared setting's value by variable name, in declaration order.

    An empty variable counts as unset; reading a deprecated alias appends to `warnings`. `overrides` (by app.config key) replace what the
    environment gives, before later defaults are derived, and are held to the same bounds.
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
        flask.update({key: overrides[key] for key in overrides if key not in _BY_KEY})
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

    Unset ENVIRONMENT means development (with a warning in `config.warnings`). In development a `.env` file in the
    working directory (or DOTENV_PATH) is read first; real environment variables win over it.
    """
    env = dict(os.environ if environ is None else environ)
    name = env.get("ENVIRONMENT", "")
    warnings = []
    if not name:
        warnings.append("ENVIRONMENT is not set; using development")
        name = "development"
    name = _BY_NAME["ENVIRONMENT"].kind.coerce("ENVIRONMENT", name)
    if name == "development":
        dotenv_path = Path(env.get("DOTENV_PATH") or _BY_NAME["DOTENV_PATH"].default)
        if dotenv_path.is_file():
            env = {**_read_dotenv(dotenv_path), **env}
    return CONFIGS[name](env, warnings=warnings)


def _read_dotenv(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path).items() if value is not None}


# --- The documentation table -----------------------------------------------------------------


def docs_table() -> str:
    """The Markdown table of every declared setting, as docs/configuration.md embeds it."""
    rows = ["| Variable | Type | Development | Production | Testing | Meaning |",
            "| --- | --- | --- | --- | --- | --- |"]
    for setting in SELECTION + SETTINGS:
        name = f"`{setting.name}`"
        if setting.deprecated_alias:
            name += f" (formerly `{setting.deprecated_alias}`)"
        defaults = [_show_default(setting, environment) for environment in ENVIRONMENTS]
        meaning = setting.doc + (" **Secret.**" if setting.secret else "")
        rows.append(f"| {name} | {setting.kind.description} | {' | '.join(defaults)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _show_default(setting: Setting, environment: str) -> str:
    default = setting.default_for(environment)
    if default is REQUIRED:
        return "**required**"
    if default is None:
        return "unset"
    if isinstance(default, Derived):
        return default.text
    if setting.secret:
        return "a committed non-production value"
    return setting.kind.show(default)


def render_docs(current: str) -> str:
    """Return `current` (docs/configuration.md) with the generated block replaced."""
    head, begin, rest = current.partition(DOCS_BEGIN)
    _, end, tail = rest.partition(DOCS_END)
    if not begin or not end:
        raise ValueError(f"{DOCS_PATH.name} lacks the markers {DOCS_BEGIN!r} and {DOCS_END!r}")
    return f"{head}{DOCS_BEGIN}\n{docs_table()}{DOCS_END}{tail}"


# --- Command line ----------------------------------------------------------------------------

USAGE = ("usage: python -m openml_backend.config check [--print NAME ...]\n"
         "       python -m openml_backend.config docs [--write]")


def main(argv: list[str]) -> int:
    """`check` validates the environment's configuration: exit 0, or 78 with one JSON line on
    stderr naming the variable; `--print NAME...` then prints those values, space-separated
    (`-` for an unset one). `docs` prints the settings table (`--write` updates the docs)."""
    command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if command == "check" and (not args or (args[0] == "--print" and args[1:] and set(args[1:]) <= _PRINTABLE)):
        return _check(args[1:])
    if command == "docs" and args in ([], ["--write"]):
        if args:
            DOCS_PATH.write_text(render_docs(DOCS_PATH.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            sys.stdout.write(docs_table())
        return 0
    print(USAGE, file=sys.stderr)
    return EX_USAGE


def _check(names: Iterable[str]) -> int:
    from .logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.propagate = False
    try:
        config = load_config()
    except ConfigError as error:
        log.error(f"configuration error: {error}")
        return EX_CONFIG
    for warning in config.warnings:
        log.warning(warning)
    names = list(names)
    if names:
        print(" ".join("-" if config.value(n) is None else str(config.value(n)) for n in names))
    else:
        print(f"configuration ok: environment={config.ENVIRONMENT} database={config.database_uri_for_logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
