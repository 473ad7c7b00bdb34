"""The declaration of every setting: `SETTINGS` (read by the app and the container entrypoint)
and `SELECTION` (the variables that pick the configuration itself).

Adding a setting: append a `Setting(...)` to `SETTINGS` (its `key` is the `app.config` name,
the variable's own name unless given; `key=None` for one only the entrypoint reads), then
regenerate the docs: `python -m openml_backend.config docs --write`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from .kinds import Boolean, CommaList, ConfigError, DatabaseUrl, Integer, Kind, Number, OneOf, Text

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
# Client secrets are the provider's (GitHub's are 40 characters, Google's 35): shorter is a placeholder.
MIN_CLIENT_SECRET_LENGTH = 20


class _Required:
    """The type of REQUIRED (a readable repr in error reports and docs)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # a default meaning "the variable must be set"


@dataclass(frozen=True)
class Derived:
    """A default computed from settings declared earlier; `text` says how, for the docs."""

    text: str
    compute: Callable[[Mapping[str, Any]], Any]


# Production rules: what production refuses although the kind would accept it.


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


def real_client_secret(name: str, value: str) -> None:
    """Refuse an OAuth client secret that looks like a placeholder or a development value."""
    if len(value) < MIN_CLIENT_SECRET_LENGTH:
        raise ConfigError(f"{name} must be at least {MIN_CLIENT_SECRET_LENGTH} characters in production")
    if any(marker.lower() in value.lower() for marker in FORBIDDEN_SECRET_MARKERS):
        raise ConfigError(f"{name} is a placeholder or development value; set the provider's secret in production")


def exact_origins(name: str, value: list[str]) -> None:
    """Refuse a wildcard origin: credentials go with CORS answers."""
    if any("*" in origin for origin in value):
        raise ConfigError(f"{name} must list exact origins in production, not '*'")


# Host names no real relying party has: the browser would refuse passkeys for them in production.
PLACEHOLDER_HOSTS = ("localhost", "example.com", "example.org", "example.net")
PLACEHOLDER_HOST_SUFFIXES = (".localhost", ".example", ".invalid", ".test", ".local", ".example.com",
                             ".example.org", ".example.net")


def _placeholder_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host in PLACEHOLDER_HOSTS or host.endswith(PLACEHOLDER_HOST_SUFFIXES) or "change-me" in host:
        return True
    try:
        ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host
    return True  # an IP address is never a WebAuthn relying party ID


def public_rp_id(name: str, value: str) -> None:
    """Refuse a WebAuthn relying party ID that is local, an address, or a placeholder."""
    if "/" in value or ":" in value or _placeholder_host(value):
        raise ConfigError(f"{name} must be the website's registrable domain in production (got {value!r})")


def switched_on(name: str, value: bool) -> None:
    """Refuse turning off a protection production needs."""
    if not value:
        raise ConfigError(f"{name} must be true in production")


def public_https_origin(name: str, value: str) -> None:
    """Refuse a WebAuthn origin that is not https on a public host name."""
    parts = urlsplit(value)
    if (parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/")
            or _placeholder_host(parts.hostname)):
        raise ConfigError(f"{name} must be the website's https origin in production (got {value!r})")


# The declarations.


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
    Setting("OPENML_CACHE_DIR", Text(),
            Derived("DATA_DIR/openml-cache", lambda v: str(Path(v["DATA_DIR"]) / "openml-cache")),
            "the openml client's download cache"),
    Setting("OPENML_CACHE_MAX_MB", Number(), 1024.0,
            "size of the download cache in MiB; least recently used datasets are removed beyond it"),
    Setting("OPENML_TIMEOUT", Number(), 30.0, "seconds one OpenML fetch may take before 503"),
    Setting("OPENML_RETRIES", Integer(1, 10), 2, "tries of the openml client per request"),
    Setting("STATS_MAX_CATEGORIES", Integer(1), 50, "categories listed per nominal feature"),
    Setting("STATS_MAX_CORRELATION_FEATURES", Integer(2, 1000), 100, "features in the correlation matrix"),
    Setting("STATS_REFRESH_INTERVAL", Number(), 60.0, "seconds between two recomputations of one dataset"),
    Setting("STATS_LEASE_TTL", Number(), 15.0, "seconds after which a silent computing worker is presumed dead"),
    Setting("STATS_WAIT_TIMEOUT", Number(), Derived("OPENML_TIMEOUT + 2", lambda v: v["OPENML_TIMEOUT"] + 2.0),
            "seconds a request waits for another worker's computation (its answer's bound)"),
    Setting("STATS_REVALIDATE_SECONDS", Number(), 86400.0,
            "seconds between two checks of a stored entry against OpenML's checksum"),
    Setting("STATS_REFUSAL_TTL", Number(), 300.0, "seconds OpenML's 404 or 403 for a dataset is remembered"),
    Setting("STATS_FAILURE_TTL", Number(), 30.0,
            "seconds a failed fetch or computation of a dataset is remembered (answered 502/503)"),
    Setting("STATS_MEMORY_MB", Integer(1), 64, "in-process cache of ready responses, in MiB"),
    Setting("STATS_MEMORY_BUDGET_MB", Integer(16), 512,
            "working memory of one statistics computation, in MiB (one at a time per worker); a dataset "
            "with a column that needs more answers 422 dataset_too_large"),
    Setting("STATS_MAX_CELLS", Integer(1), 2_000_000_000,
            "rows x columns above which a dataset answers 422 dataset_too_large"),
    Setting("STATS_CACHE_MAX_AGE", Integer(0), 300, "Cache-Control max-age of statistics answers, for CDNs"),
    Setting("APP_SECRET_KEY", Text(), DEVELOPMENT_APP_SECRET_KEY, "Flask's secret key",
            production=REQUIRED, testing="testing-app-secret-key-0123456789abcdef",
            key="SECRET_KEY", secret=True, production_rule=strong_secret),
    Setting("JWT_SECRET_KEY", Text(), DEVELOPMENT_JWT_SECRET_KEY, "signs the JWTs",
            production=REQUIRED, testing="testing-jwt-secret-key-0123456789abcdef",
            secret=True, production_rule=strong_secret),
    Setting("DATABASE_URI", DatabaseUrl(),
            Derived("sqlite:///DATA_DIR/openml.db",
                    lambda v: f"sqlite:///{(Path(v['DATA_DIR']) / 'openml.db').resolve()}"),
            "the database; production needs mysql://user:pass@host:3306/openml?charset=utf8mb4",
            production=REQUIRED, key="SQLALCHEMY_DATABASE_URI", secret=True, production_rule=not_sqlite),
    Setting("DB_CONNECT_TIMEOUT", Integer(1), 3, "seconds to open a MySQL connection"),
    Setting("DB_READ_TIMEOUT", Integer(1), 5, "seconds a MySQL read may take within a request"),
    Setting("DB_WRITE_TIMEOUT", Integer(1), 5, "seconds a MySQL write may take within a request"),
    Setting("DB_POOL_TIMEOUT", Integer(1), 3, "seconds a request waits for a pooled MySQL connection"),
    Setting("DB_POOL_RECYCLE", Integer(1), 280,
            "seconds before a pooled MySQL connection is replaced (below wait_timeout)"),
    Setting("DB_MAX_CONCURRENT_REQUESTS", Integer(1), 3,
            "account requests one worker process serves at once (keep it below GUNICORN_THREADS); "
            "others answer 503 database_unavailable"),
    Setting("SMTP_SERVER", Text(), "localhost", "outgoing mail relay", key="MAIL_SERVER"),
    Setting("SMTP_PORT", Integer(1, 65535), 25, "port of the mail relay", key="MAIL_PORT"),
    Setting("SMTP_LOGIN", Text(), None, "user name at the mail relay", key="MAIL_USERNAME"),
    Setting("SMTP_PASS", Text(), None, "password at the mail relay", key="MAIL_PASSWORD", secret=True),
    Setting("SMTP_USE_TLS", Boolean(), False, "STARTTLS to the mail relay", key="MAIL_USE_TLS"),
    Setting("SMTP_TIMEOUT", Number(), 10.0, "seconds for every SMTP exchange"),
    Setting("EMAIL_SENDER", Text(), "OpenML <no-reply@openml.org>", "From: of every email",
            key="MAIL_DEFAULT_SENDER"),
    Setting("EMAIL_SERVER", Text(rstrip="/"), "http://localhost:3000", "website base URL used in email links"),
    Setting("URL_API", Text(rstrip="/"), "http://localhost:8000", "this API's public base URL"),
    Setting("RP_ID", Text(), "localhost", "WebAuthn relying party ID: the website's domain passkeys are bound to",
            production="openml.org", production_rule=public_rp_id),
    Setting("RP_NAME", Text(), "OpenML", "the name a browser shows when it creates a passkey"),
    Setting("RP_ORIGIN", Text(rstrip="/"), "http://localhost:3000",
            "the website origin whose pages run the passkey ceremonies (checked in clientDataJSON)",
            production="https://www.openml.org", production_rule=public_https_origin),
    Setting("PASSKEY_CHALLENGE_SECONDS", Integer(1), 300, "lifetime of a passkey challenge (single-use)"),
    Setting("PASSKEY_REQUIRE_USER_VERIFICATION", Boolean(), True,
            "passkeys must verify the user (PIN, biometrics); off only for tests' software authenticator",
            testing=False, production_rule=switched_on),
    Setting("CORS_ORIGINS", CommaList(), [], "exact origins allowed to call /api with credentials",
            development=["http://localhost:3000"], production_rule=exact_origins),
    Setting("OAUTH_RETURN_ORIGINS", CommaList(), Derived("CORS_ORIGINS", lambda v: v["CORS_ORIGINS"]),
            "exact website origins an OAuth login may return to (`return_to`)", production_rule=exact_origins),
    Setting("OAUTH_STATE_MINUTES", Integer(1, 60), 10, "how long an OAuth login may take at the provider"),
    Setting("OAUTH_CODE_SECONDS", Integer(1, 600), 60,
            "lifetime of the one-time code an OAuth login hands the website to exchange for tokens"),
    Setting("OAUTH_TIMEOUT", Number(), 10.0, "seconds for every request to an OAuth provider"),
    Setting("GITHUB_CLIENT_ID", Text(), None, "GitHub OAuth app client id; unset turns GitHub login off (404)"),
    Setting("GITHUB_CLIENT_SECRET", Text(), None, "GitHub OAuth app client secret", secret=True,
            production_rule=real_client_secret),
    Setting("GITHUB_AUTHORIZE_URL", Text(), "https://github.com/login/oauth/authorize",
            "GitHub's authorization endpoint"),
    Setting("GITHUB_TOKEN_URL", Text(), "https://github.com/login/oauth/access_token", "GitHub's token endpoint"),
    Setting("GITHUB_API_URL", Text(rstrip="/"), "https://api.github.com",
            "GitHub's API (`/user` and `/user/emails` are read)"),
    Setting("GOOGLE_CLIENT_ID", Text(), None, "Google OAuth client id; unset turns Google login off (404)"),
    Setting("GOOGLE_CLIENT_SECRET", Text(), None, "Google OAuth client secret", secret=True,
            production_rule=real_client_secret),
    Setting("GOOGLE_AUTHORIZE_URL", Text(), "https://accounts.google.com/o/oauth2/v2/auth",
            "Google's authorization endpoint"),
    Setting("GOOGLE_TOKEN_URL", Text(), "https://oauth2.googleapis.com/token", "Google's token endpoint"),
    Setting("GOOGLE_ISSUER", Text(), "https://accounts.google.com", "the `iss` Google's ID tokens must carry"),
    Setting("GOOGLE_JWKS_URL", Text(), "https://www.googleapis.com/oauth2/v3/certs",
            "Google's signing keys (JWKS) for ID tokens"),
    Setting("MAX_CONTENT_LENGTH", Integer(1024), 64 * 1024, "largest accepted request body in bytes (413 above)"),
    Setting("AVATAR_MAX_MB", Integer(1, 64), 5,
            "largest accepted profile picture upload, in MiB (413 above); replaces MAX_CONTENT_LENGTH on that route"),
    Setting("AVATAR_CACHE_MAX_AGE", Integer(0), 300, "Cache-Control max-age of served profile pictures, in seconds"),
    Setting("ACCESS_TOKEN_MINUTES", Integer(1), 15, "lifetime of an access token"),
    Setting("REFRESH_TOKEN_DAYS", Integer(1), 30, "lifetime of a refresh token"),
    Setting("CONFIRM_TOKEN_HOURS", Integer(1), 72, "lifetime of an emailed confirmation link"),
    Setting("RESET_TOKEN_MINUTES", Integer(1), 60, "lifetime of an emailed password-reset link"),
    Setting("PASSWORD_HASH_COST", OneOf(("production", "low")), "production", "argon2 cost; low only for tests",
            testing="low", production_rule=production_cost),
    Setting("REAUTH_SECONDS", Integer(0), 300,
            "a login this recent stands in for the current password when changing the email, and is "
            "required to read or replace the API key; 0 always asks the password (and refuses the API key)"),
    Setting("LOGIN_WINDOW_SECONDS", Integer(1), 900, "window of the login throttles"),
    Setting("LOGIN_MAX_PER_ACCOUNT", Integer(1), 5, "login attempts per account and window"),
    Setting("LOGIN_MAX_PER_ADDRESS", Integer(1), 30, "login attempts per client address and window"),
    Setting("EMAIL_MAX_PER_ADDRESS", Integer(1), 30,
            "signup, resend and forgot requests per client address and hour"),
    Setting("EMAIL_MAX_PER_ACCOUNT", Integer(1), 5, "mails one account may cause per hour"),
    Setting("EMAIL_MAX_PER_RECIPIENT", Integer(1), 5, "mails one recipient address may receive per hour"),
    Setting("EMAIL_CHANGE_UNDO_DAYS", Integer(1), 7,
            "how long the old address's undo link of an email change works"),
    Setting("FEEDBACK_MAX_PER_ADDRESS", Integer(1), 5, "feedback messages per client address and hour"),
    Setting("CONTRIBUTIONS_MAX_PER_HOUR", Integer(1), 60,
            "OpenML writes (edits, tags, tasks, studies) one user may make per hour"),
    Setting("FEEDBACK_EMAIL", Text(), "openmlhq@googlegroups.com", "where POST /feedback messages go"),
    Setting("UPLOAD_MAX_MB", Number(), 100.0,
            "largest dataset file POST /datasets accepts, in MiB (413 above; MAX_CONTENT_LENGTH does not apply)"),
    Setting("UPLOAD_MAX_PER_HOUR", Integer(1), 20, "dataset uploads per account and hour"),
    Setting("UPLOAD_TMP_DIR", Text(),
            Derived("DATA_DIR/uploads", lambda v: str(Path(v["DATA_DIR"]) / "uploads")),
            "where uploads are streamed to while they are checked (each removed afterwards)"),
    Setting("PROXY_FIX_HOPS", Integer(0, 5), 0,
            "trust X-Forwarded-For from this many proxies, only from TRUSTED_PROXIES; 0 uses the socket address"),
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

BY_NAME = {setting.name: setting for setting in SELECTION + SETTINGS}
BY_KEY = {setting.flask_key: setting for setting in SETTINGS if setting.flask_key}
