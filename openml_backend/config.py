"""Configuration: one class per environment, values read from environment variables.

The variable names are the ones the Kubernetes ConfigMaps and Secrets use (see the README's
table). `load_config()` picks the class from ENVIRONMENT; a bad value anywhere raises
`ConfigError` with one line naming the variable, and `python -m openml_backend.config check`
turns that into a non-zero exit for the container entrypoint.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

ENVIRONMENTS = ("development", "production", "testing")
OPENML_TEST_SERVER = "https://test.openml.org/api/v1/xml"
OPENML_PRODUCTION_SERVER = "https://www.openml.org/api/v1/xml"

# Committed development secrets (also in k8s/dev/secrets.yaml). Production refuses any secret
# containing one of these markers, so a copied development manifest cannot go live.
DEVELOPMENT_APP_SECRET_KEY = "development-only-app-secret-key-never-use-in-production"
DEVELOPMENT_JWT_SECRET_KEY = "development-only-jwt-secret-key-never-use-in-production"
FORBIDDEN_SECRET_MARKERS = ("CHANGE-ME", "development-only")
MIN_SECRET_LENGTH = 32

_TRUE = {"True", "true", "1"}
_FALSE = {"False", "false", "0"}

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    """Return the boolean in `value`, accepting only True/False/true/false/1/0."""
    if value is None or value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of True, False, true, false, 1, 0 (got {value!r})")


def parse_int(name: str, value: str | None, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """Return the integer in `value` within [minimum, maximum], or `default` when unset."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer (got {value!r})") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ConfigError(f"{name} must be at least {minimum}{upper} (got {number})")
    return number


def parse_float(name: str, value: str | None, default: float, minimum: float = 0.0) -> float:
    """Return the positive number in `value`, or `default` when unset."""
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {value!r})") from None
    if not number > minimum or number != number or number == float("inf"):
        raise ConfigError(f"{name} must be a finite number above {minimum} (got {value!r})")
    return number


def parse_networks(name: str, value: str | None) -> tuple[IPv4Network | IPv6Network, ...]:
    """Return the comma-separated CIDRs (or single addresses) in `value`; none when unset."""
    networks = []
    for part in (value or "").split(","):
        if part.strip():
            try:
                networks.append(ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"{name} must be comma-separated CIDRs such as 10.0.0.0/8 (got {part.strip()!r})") from None
    return tuple(networks)


def normalize_database_uri(uri: str) -> str:
    """Return `uri` in the form SQLAlchemy needs: plain `mysql://` goes through PyMySQL, utf8mb4.

    SQLAlchemy reads `mysql://` as the MySQLdb driver, which is not installed; the seed's
    Secret writes `mysql://user:pass@host:3306/openml?charset=utf8mb4`.
    """
    try:
        url = make_url(uri)
    except Exception:
        raise ConfigError("DATABASE_URI is not a valid database URL") from None
    backend = url.get_backend_name()
    if backend == "mysql" or backend == "mariadb":
        if url.drivername in ("mysql", "mariadb"):
            url = url.set(drivername="mysql+pymysql")
        if url.get_driver_name() != "pymysql":
            raise ConfigError("DATABASE_URI must use the pymysql driver for MySQL (mysql:// or mysql+pymysql://)")
        url = url.update_query_dict({"charset": "utf8mb4"})
    elif backend != "sqlite":
        raise ConfigError(f"DATABASE_URI must be a mysql:// or sqlite:/// URL (got a {backend} URL)")
    return url.render_as_string(hide_password=False)


def mask_database_uri(uri: str) -> str:
    """Return `uri` with its password replaced by ***, safe to log."""
    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URI>"


def database_engine_options(
    uri: str, connect_timeout: int, pool_recycle: int,
    read_timeout: int = 5, write_timeout: int = 5, pool_timeout: int = 3,
) -> dict[str, Any]:
    """Return SQLAlchemy engine options suited to the database behind `uri`.

    For MySQL every wait is bounded: connecting, each read and write on the socket, and the
    wait for a pooled connection, so a database that accepts and never answers costs a
    request seconds, not minutes."""
    url: URL = make_url(uri)
    if url.get_backend_name() == "sqlite":
        # Several gunicorn workers share the file: wait for a lock instead of failing at once.
        return {"connect_args": {"timeout": 15}}
    return {
        "pool_pre_ping": True,
        # Below MariaDB's default wait_timeout and the usual proxy idle limits (300 s).
        "pool_recycle": pool_recycle,
        "pool_timeout": pool_timeout,
        "connect_args": {"connect_timeout": connect_timeout, "read_timeout": read_timeout,
                         "write_timeout": write_timeout},
    }


def _read_dotenv(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path).items() if value is not None}


class BaseConfig:
    """Settings shared by every environment; subclasses set the defaults that differ."""

    ENVIRONMENT = ""
    DEFAULT_LOG_LEVEL = "INFO"
    DEFAULT_USE_OPENML_TEST_SERVER = True
    AUTO_MIGRATE = False
    DEFAULT_PASSWORD_HASH_COST = "production"
    TESTING = False  # Flask's own flag; the seed's TESTING variable only picks the OpenML server.
    DEBUG = False

    def __init__(self, environ: Mapping[str, str] | None = None, **overrides: Any) -> None:
        env = dict(os.environ if environ is None else environ)
        self._read(env)
        for key, value in overrides.items():
            setattr(self, key, value)
        self._finish()
        self.validate()

    def _read(self, env: Mapping[str, str]) -> None:
        get = env.get
        self.FLASK_ENV = get("FLASK_ENV", self.ENVIRONMENT)
        self.LOG_LEVEL = (get("LOG_LEVEL") or self.DEFAULT_LOG_LEVEL).upper()
        if self.LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL (got {self.LOG_LEVEL!r})")
        self.DATA_DIR = get("DATA_DIR") or "./data"
        self.OPENML_USE_TEST_SERVER = parse_bool("TESTING", get("TESTING"), self.DEFAULT_USE_OPENML_TEST_SERVER)
        default_server = OPENML_TEST_SERVER if self.OPENML_USE_TEST_SERVER else OPENML_PRODUCTION_SERVER
        self.OPENML_SERVER_URL = get("OPENML_SERVER_URL") or default_server
        self.OPENML_CACHE_DIR = get("OPENML_CACHE_DIR") or ""
        self.OPENML_TIMEOUT = parse_float("OPENML_TIMEOUT", get("OPENML_TIMEOUT"), 30.0)
        self.OPENML_RETRIES = parse_int("OPENML_RETRIES", get("OPENML_RETRIES"), 2, minimum=1, maximum=10)
        self.STATS_MAX_CATEGORIES = parse_int("STATS_MAX_CATEGORIES", get("STATS_MAX_CATEGORIES"), 50, minimum=1)
        self.STATS_MAX_CORRELATION_FEATURES = parse_int(
            "STATS_MAX_CORRELATION_FEATURES", get("STATS_MAX_CORRELATION_FEATURES"), 100, minimum=2, maximum=1000
        )
        self.STATS_REFRESH_INTERVAL = parse_float("STATS_REFRESH_INTERVAL", get("STATS_REFRESH_INTERVAL"), 60.0)
        self.STATS_LEASE_TTL = parse_float("STATS_LEASE_TTL", get("STATS_LEASE_TTL"), 15.0)
        self.STATS_WAIT_TIMEOUT = parse_float(
            "STATS_WAIT_TIMEOUT", get("STATS_WAIT_TIMEOUT"), self.OPENML_TIMEOUT + 30.0
        )
        self.STATS_MEMORY_MB = parse_int("STATS_MEMORY_MB", get("STATS_MEMORY_MB"), 64, minimum=1)
        self.STATS_CACHE_MAX_AGE = parse_int("STATS_CACHE_MAX_AGE", get("STATS_CACHE_MAX_AGE"), 300, minimum=0)
        self.DATABASE_URI_RAW = get("DATABASE_URI") or ""
        self.DB_CONNECT_TIMEOUT = parse_int("DB_CONNECT_TIMEOUT", get("DB_CONNECT_TIMEOUT"), 3, minimum=1)
        self.DB_POOL_RECYCLE = parse_int("DB_POOL_RECYCLE", get("DB_POOL_RECYCLE"), 280, minimum=1)
        self.SECRET_KEY = get("APP_SECRET_KEY") or ""
        self.JWT_SECRET_KEY = get("JWT_SECRET_KEY") or ""
        self.MAIL_SERVER = get("SMTP_SERVER") or "localhost"
        self.MAIL_PORT = parse_int("SMTP_PORT", get("SMTP_PORT"), 25, minimum=1, maximum=65535)
        self.MAIL_USERNAME = get("SMTP_LOGIN") or None
        self.MAIL_PASSWORD = get("SMTP_PASS") or None
        self.MAIL_USE_TLS = parse_bool("SMTP_USE_TLS", get("SMTP_USE_TLS"), False)
        self.MAIL_USE_SSL = False
        self.MAIL_DEFAULT_SENDER = get("EMAIL_SENDER") or "OpenML <no-reply@openml.org>"
        self.SMTP_TIMEOUT = parse_float("SMTP_TIMEOUT", get("SMTP_TIMEOUT"), 10.0)
        self.EMAIL_SERVER = (get("EMAIL_SERVER") or "http://localhost:3000").rstrip("/")
        self.URL_API = (get("URL_API") or "http://localhost:8000").rstrip("/")
        self.CORS_ORIGINS = [origin.strip() for origin in (get("CORS_ORIGINS") or "").split(",") if origin.strip()]
        self.MAX_CONTENT_LENGTH = parse_int("MAX_CONTENT_LENGTH", get("MAX_CONTENT_LENGTH"), 64 * 1024, minimum=1024)
        self._read_accounts(get)
        self._read_hardening(get)

    def _read_accounts(self, get: Any) -> None:
        """Settings of the accounts feature (tokens, hashing, throttles, feedback)."""
        self.JWT_ALGORITHM = "HS256"
        self.JWT_DECODE_ALGORITHMS = ["HS256"]  # pinned: `alg: none` and other algorithms are refused
        self.JWT_TOKEN_LOCATION = ["headers"]
        self.ACCESS_TOKEN_MINUTES = parse_int("ACCESS_TOKEN_MINUTES", get("ACCESS_TOKEN_MINUTES"), 15, minimum=1)
        self.REFRESH_TOKEN_DAYS = parse_int("REFRESH_TOKEN_DAYS", get("REFRESH_TOKEN_DAYS"), 30, minimum=1)
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=self.ACCESS_TOKEN_MINUTES)
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=self.REFRESH_TOKEN_DAYS)
        self.CONFIRM_TOKEN_HOURS = parse_int("CONFIRM_TOKEN_HOURS", get("CONFIRM_TOKEN_HOURS"), 72, minimum=1)
        self.RESET_TOKEN_MINUTES = parse_int("RESET_TOKEN_MINUTES", get("RESET_TOKEN_MINUTES"), 60, minimum=1)
        self.PASSWORD_HASH_COST = get("PASSWORD_HASH_COST") or self.DEFAULT_PASSWORD_HASH_COST
        if self.PASSWORD_HASH_COST not in ("production", "low"):
            raise ConfigError(f"PASSWORD_HASH_COST must be production or low (got {self.PASSWORD_HASH_COST!r})")
        self.LOGIN_WINDOW_SECONDS = parse_int("LOGIN_WINDOW_SECONDS", get("LOGIN_WINDOW_SECONDS"), 900, minimum=1)
        self.LOGIN_MAX_PER_ACCOUNT = parse_int("LOGIN_MAX_PER_ACCOUNT", get("LOGIN_MAX_PER_ACCOUNT"), 5, minimum=1)
        self.LOGIN_MAX_PER_ADDRESS = parse_int("LOGIN_MAX_PER_ADDRESS", get("LOGIN_MAX_PER_ADDRESS"), 30, minimum=1)
        self.EMAIL_MAX_PER_ADDRESS = parse_int("EMAIL_MAX_PER_ADDRESS", get("EMAIL_MAX_PER_ADDRESS"), 30, minimum=1)
        self.FEEDBACK_MAX_PER_ADDRESS = parse_int(
            "FEEDBACK_MAX_PER_ADDRESS", get("FEEDBACK_MAX_PER_ADDRESS"), 5, minimum=1)
        self.FEEDBACK_EMAIL = get("FEEDBACK_EMAIL") or "openmlhq@googlegroups.com"
        # Trust X-Forwarded-For from this many proxies (0: use the socket's address only).
        self.PROXY_FIX_HOPS = parse_int("PROXY_FIX_HOPS", get("PROXY_FIX_HOPS"), 0, minimum=0, maximum=5)

    def _read_hardening(self, get: Any) -> None:
        """Settings of the security hardening: database waits, proxies, metrics port, HSTS."""
        self.DB_READ_TIMEOUT = parse_int("DB_READ_TIMEOUT", get("DB_READ_TIMEOUT"), 5, minimum=1)
        self.DB_WRITE_TIMEOUT = parse_int("DB_WRITE_TIMEOUT", get("DB_WRITE_TIMEOUT"), 5, minimum=1)
        self.DB_POOL_TIMEOUT = parse_int("DB_POOL_TIMEOUT", get("DB_POOL_TIMEOUT"), 3, minimum=1)
        self.DB_MAX_CONCURRENT_REQUESTS = parse_int(
            "DB_MAX_CONCURRENT_REQUESTS", get("DB_MAX_CONCURRENT_REQUESTS"), 3, minimum=1)
        self.TRUSTED_PROXIES = parse_networks("TRUSTED_PROXIES", get("TRUSTED_PROXIES"))
        self.METRICS_PORT = parse_int("METRICS_PORT", get("METRICS_PORT"), 9100, minimum=1, maximum=65535)
        default_hsts = 31536000 if self.ENVIRONMENT == "production" else 0
        self.HSTS_SECONDS = parse_int("HSTS_SECONDS", get("HSTS_SECONDS"), default_hsts, minimum=0)

    def _finish(self) -> None:
        data_dir = Path(self.DATA_DIR)
        if not self.OPENML_CACHE_DIR:
            self.OPENML_CACHE_DIR = str(data_dir / "openml-cache")
        if not self.DATABASE_URI_RAW:
            self.DATABASE_URI_RAW = self.default_database_uri(data_dir)
        self.SQLALCHEMY_DATABASE_URI = normalize_database_uri(self.DATABASE_URI_RAW) if self.DATABASE_URI_RAW else ""
        self.SQLALCHEMY_ENGINE_OPTIONS = (
            database_engine_options(self.SQLALCHEMY_DATABASE_URI, self.DB_CONNECT_TIMEOUT, self.DB_POOL_RECYCLE,
                                    self.DB_READ_TIMEOUT, self.DB_WRITE_TIMEOUT, self.DB_POOL_TIMEOUT)
            if self.SQLALCHEMY_DATABASE_URI
            else {}
        )
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False

    def default_database_uri(self, data_dir: Path) -> str:
        """Return the database used when DATABASE_URI is unset: a SQLite file in DATA_DIR."""
        return f"sqlite:///{(data_dir / 'openml.db').resolve()}"

    def validate(self) -> None:
        """Raise ConfigError when a setting is unusable in this environment."""

    @property
    def database_uri_for_logs(self) -> str:
        """The database URI with its password masked."""
        return mask_database_uri(self.SQLALCHEMY_DATABASE_URI)

    def as_flask_config(self) -> dict[str, Any]:
        """Return the upper-case settings, for `app.config.update`."""
        names = {name for klass in type(self).__mro__ for name in vars(klass)} | set(vars(self))
        return {name: getattr(self, name) for name in names if name.isupper()}


class DevelopmentConfig(BaseConfig):
    """Local work and the dev cluster: SQLite, DEBUG logs, OpenML's test server, committed secrets."""

    ENVIRONMENT = "development"
    DEFAULT_LOG_LEVEL = "DEBUG"
    AUTO_MIGRATE = True

    def _read(self, env: Mapping[str, str]) -> None:
        super()._read(env)
        self.SECRET_KEY = self.SECRET_KEY or DEVELOPMENT_APP_SECRET_KEY
        self.JWT_SECRET_KEY = self.JWT_SECRET_KEY or DEVELOPMENT_JWT_SECRET_KEY
        if not self.CORS_ORIGINS:
            self.CORS_ORIGINS = ["http://localhost:3000"]


class ProductionConfig(BaseConfig):
    """The production cluster: MySQL, WARNING logs, OpenML's production server, real secrets."""

    ENVIRONMENT = "production"
    DEFAULT_LOG_LEVEL = "WARNING"
    DEFAULT_USE_OPENML_TEST_SERVER = False

    def default_database_uri(self, data_dir: Path) -> str:
        return ""

    def validate(self) -> None:
        for name, value in (("APP_SECRET_KEY", self.SECRET_KEY), ("JWT_SECRET_KEY", self.JWT_SECRET_KEY)):
            if not value:
                raise ConfigError(f"{name} is required in production")
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(f"{name} must be at least {MIN_SECRET_LENGTH} characters in production")
            if any(marker.lower() in value.lower() for marker in FORBIDDEN_SECRET_MARKERS):
                raise ConfigError(f"{name} is a placeholder or development value; set a real secret in production")
        if not self.SQLALCHEMY_DATABASE_URI:
            raise ConfigError("DATABASE_URI is required in production (mysql://user:pass@host:3306/openml)")
        if make_url(self.SQLALCHEMY_DATABASE_URI).get_backend_name() == "sqlite":
            raise ConfigError("DATABASE_URI must not be SQLite in production; use MySQL")
        if self.PASSWORD_HASH_COST != "production":
            raise ConfigError("PASSWORD_HASH_COST must be production in production")
        if any("*" in origin for origin in self.CORS_ORIGINS):
            raise ConfigError("CORS_ORIGINS must list exact origins in production, not '*'")


class TestingConfig(BaseConfig):
    """The test suite: Flask testing mode, a throwaway SQLite file unless told otherwise."""

    ENVIRONMENT = "testing"
    DEFAULT_LOG_LEVEL = "DEBUG"
    DEFAULT_PASSWORD_HASH_COST = "low"  # fast tests; one test opts into production cost
    TESTING = True
    __test__ = False  # not a pytest test class despite its name

    def _read(self, env: Mapping[str, str]) -> None:
        super()._read(env)
        self.SECRET_KEY = self.SECRET_KEY or "testing-app-secret-key-0123456789abcdef"
        self.JWT_SECRET_KEY = self.JWT_SECRET_KEY or "testing-jwt-secret-key-0123456789abcdef"
        # Never reach a real OpenML server from a test by accident: port 9 is "discard".
        self.OPENML_SERVER_URL = env.get("OPENML_SERVER_URL") or "http://127.0.0.1:9/api/v1/xml"


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config(environ: Mapping[str, str] | None = None) -> BaseConfig:
    """Return the configuration that ENVIRONMENT names, built from `environ` (default os.environ).

    Unset ENVIRONMENT means development (with a warning). In development a `.env` file in the
    working directory is read first; real environment variables win over it.
    """
    env = dict(os.environ if environ is None else environ)
    name = env.get("ENVIRONMENT", "")
    if not name:
        log.warning("ENVIRONMENT is not set; using development")
        name = "development"
    if name not in CONFIGS:
        raise ConfigError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)} (got {name!r})")
    if name == "development":
        dotenv_path = Path(env.get("DOTENV_PATH", ".env"))
        if dotenv_path.is_file():
            env = {**_read_dotenv(dotenv_path), **env}
    return CONFIGS[name](env)


def main(argv: list[str]) -> int:
    """`python -m openml_backend.config check`: exit 0 when the environment's config is valid."""
    if argv[1:] != ["check"]:
        print("usage: python -m openml_backend.config check", file=sys.stderr)
        return 64
    try:
        config = load_config()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 78
    print(f"configuration ok: environment={config.ENVIRONMENT} database={config.database_uri_for_logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
