"""Parsing of single variables (booleans, numbers, lists, database URIs and their masking),
the bounds of every declared setting, and the generated table of docs/configuration.md."""

from __future__ import annotations

import pytest

from openml_backend.config import (
    SETTINGS,
    Boolean,
    CommaList,
    ConfigError,
    Integer,
    Number,
    TestingConfig,
    load_config,
    mask_database_uri,
    normalize_database_uri,
)
from openml_backend.config.docs import DOCS_PATH, render_docs


@pytest.mark.parametrize(("text", "expected"), [("True", True), ("true", True), ("1", True),
                                                ("False", False), ("false", False), ("0", False)])
def test_booleans_accepted(text: str, expected: bool) -> None:
    assert Boolean().coerce("SMTP_USE_TLS", text) is expected


@pytest.mark.parametrize("text", ["yes", "no", "TRUE", "on", "2", " true", "t"])
def test_booleans_refused_with_the_variable_named(text: str) -> None:
    with pytest.raises(ConfigError, match="^SMTP_USE_TLS must be one of"):
        Boolean().coerce("SMTP_USE_TLS", text)


def test_unset_or_empty_variable_takes_the_default() -> None:
    assert TestingConfig({"SMTP_USE_TLS": ""}).MAIL_USE_TLS is False
    assert TestingConfig({"OPENML_USE_TEST_SERVER": ""}).OPENML_USE_TEST_SERVER is True


@pytest.mark.parametrize("text", ["0", "70000", "abc", "-1", "2.5"])
def test_port_out_of_range_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="^SMTP_PORT must be"):
        Integer(1, 65535).coerce("SMTP_PORT", text)


@pytest.mark.parametrize("text", ["0", "-3", "nan", "inf", "soon"])
def test_numbers_must_be_finite_and_positive(text: str) -> None:
    with pytest.raises(ConfigError, match="^OPENML_TIMEOUT must be"):
        Number().coerce("OPENML_TIMEOUT", text)


def test_comma_lists_drop_blanks_and_networks_are_checked() -> None:
    assert CommaList().coerce("CORS_ORIGINS", " https://a.org, ,https://b.org ") == ["https://a.org", "https://b.org"]
    assert CommaList(networks=True).coerce("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7") == [
        "10.0.0.0/8", "192.168.1.7"]
    with pytest.raises(ConfigError, match="^TRUSTED_PROXIES must list IP networks"):
        CommaList(networks=True).coerce("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")


# (variable, app.config key, lowest accepted, highest accepted or None, a refused value)
BOUNDS = [
    ("OPENML_TIMEOUT", "OPENML_TIMEOUT", "0.001", None, "0"),
    ("OPENML_RETRIES", "OPENML_RETRIES", "1", "10", "11"),
    ("STATS_MAX_CATEGORIES", "STATS_MAX_CATEGORIES", "1", None, "0"),
    ("STATS_MAX_CORRELATION_FEATURES", "STATS_MAX_CORRELATION_FEATURES", "2", "1000", "1"),
    ("STATS_REFRESH_INTERVAL", "STATS_REFRESH_INTERVAL", "0.001", None, "-1"),
    ("STATS_LEASE_TTL", "STATS_LEASE_TTL", "0.001", None, "0"),
    ("STATS_WAIT_TIMEOUT", "STATS_WAIT_TIMEOUT", "0.001", None, "0"),
    ("STATS_REVALIDATE_SECONDS", "STATS_REVALIDATE_SECONDS", "0.001", None, "0"),
    ("STATS_REFUSAL_TTL", "STATS_REFUSAL_TTL", "0.001", None, "0"),
    ("STATS_FAILURE_TTL", "STATS_FAILURE_TTL", "0.001", None, "0"),
    ("OPENML_CACHE_MAX_MB", "OPENML_CACHE_MAX_MB", "0.001", None, "0"),
    ("STATS_MEMORY_MB", "STATS_MEMORY_MB", "1", None, "0"),
    ("STATS_MEMORY_BUDGET_MB", "STATS_MEMORY_BUDGET_MB", "16", None, "15"),
    ("STATS_MAX_CELLS", "STATS_MAX_CELLS", "1", None, "0"),
    ("STATS_CACHE_MAX_AGE", "STATS_CACHE_MAX_AGE", "0", None, "-1"),
    ("DB_CONNECT_TIMEOUT", "DB_CONNECT_TIMEOUT", "1", None, "0"),
    ("DB_READ_TIMEOUT", "DB_READ_TIMEOUT", "1", None, "0"),
    ("DB_WRITE_TIMEOUT", "DB_WRITE_TIMEOUT", "1", None, "0"),
    ("DB_POOL_TIMEOUT", "DB_POOL_TIMEOUT", "1", None, "0"),
    ("DB_POOL_RECYCLE", "DB_POOL_RECYCLE", "1", None, "0"),
    ("DB_MAX_CONCURRENT_REQUESTS", "DB_MAX_CONCURRENT_REQUESTS", "1", None, "0"),
    ("SMTP_PORT", "MAIL_PORT", "1", "65535", "65536"),
    ("SMTP_TIMEOUT", "SMTP_TIMEOUT", "0.001", None, "0"),
    ("MAX_CONTENT_LENGTH", "MAX_CONTENT_LENGTH", "1024", None, "1023"),
    ("AVATAR_MAX_MB", "AVATAR_MAX_MB", "1", "64", "65"),
    ("AVATAR_CACHE_MAX_AGE", "AVATAR_CACHE_MAX_AGE", "0", None, "-1"),
    ("ACCESS_TOKEN_MINUTES", "ACCESS_TOKEN_MINUTES", "1", None, "0"),
    ("REFRESH_TOKEN_DAYS", "REFRESH_TOKEN_DAYS", "1", None, "0"),
    ("CONFIRM_TOKEN_HOURS", "CONFIRM_TOKEN_HOURS", "1", None, "0"),
    ("RESET_TOKEN_MINUTES", "RESET_TOKEN_MINUTES", "1", None, "0"),
    ("REAUTH_SECONDS", "REAUTH_SECONDS", "0", None, "-1"),
    ("LOGIN_WINDOW_SECONDS", "LOGIN_WINDOW_SECONDS", "1", None, "0"),
    ("LOGIN_MAX_PER_ACCOUNT", "LOGIN_MAX_PER_ACCOUNT", "1", None, "0"),
    ("LOGIN_MAX_PER_ADDRESS", "LOGIN_MAX_PER_ADDRESS", "1", None, "0"),
    ("EMAIL_MAX_PER_ADDRESS", "EMAIL_MAX_PER_ADDRESS", "1", None, "0"),
    ("EMAIL_MAX_PER_ACCOUNT", "EMAIL_MAX_PER_ACCOUNT", "1", None, "0"),
    ("EMAIL_MAX_PER_RECIPIENT", "EMAIL_MAX_PER_RECIPIENT", "1", None, "0"),
    ("EMAIL_CHANGE_UNDO_DAYS", "EMAIL_CHANGE_UNDO_DAYS", "1", None, "0"),
    ("FEEDBACK_MAX_PER_ADDRESS", "FEEDBACK_MAX_PER_ADDRESS", "1", None, "0"),
    ("CONTRIBUTIONS_MAX_PER_HOUR", "CONTRIBUTIONS_MAX_PER_HOUR", "1", None, "0"),
    ("UPLOAD_MAX_MB", "UPLOAD_MAX_MB", "0.001", None, "0"),
    ("UPLOAD_MAX_PER_HOUR", "UPLOAD_MAX_PER_HOUR", "1", None, "0"),
    ("PROXY_FIX_HOPS", "PROXY_FIX_HOPS", "0", "5", "6"),
    ("METRICS_PORT", "METRICS_PORT", "1", "65535", "0"),
    ("HSTS_SECONDS", "HSTS_SECONDS", "0", None, "-1"),
    ("OAUTH_STATE_MINUTES", "OAUTH_STATE_MINUTES", "1", "60", "61"),
    ("OAUTH_CODE_SECONDS", "OAUTH_CODE_SECONDS", "1", "600", "601"),
    ("OAUTH_TIMEOUT", "OAUTH_TIMEOUT", "0.001", None, "0"),
    ("PASSKEY_CHALLENGE_SECONDS", "PASSKEY_CHALLENGE_SECONDS", "1", None, "0"),
    ("GUNICORN_WORKERS", None, "1", None, "0"),
    ("GUNICORN_THREADS", None, "1", None, "0"),
    ("GUNICORN_TIMEOUT", None, "1", None, "0"),
    ("GUNICORN_GRACEFUL_TIMEOUT", None, "1", None, "0"),
    ("GUNICORN_WORKER_MEMORY_MB", None, "1", None, "0"),
    ("GUNICORN_MAX_WORKERS", None, "1", None, "0"),
    ("LOG_LEVEL", "LOG_LEVEL", "debug", "CRITICAL", "LOUD"),
    ("PASSWORD_HASH_COST", "PASSWORD_HASH_COST", "low", "production", "medium"),
]


def test_every_bounded_setting_has_a_bounds_case() -> None:
    bounded = {s.name for s in SETTINGS if isinstance(s.kind, Integer | Number) or s.name in (
        "LOG_LEVEL", "PASSWORD_HASH_COST")}
    assert bounded == {case[0] for case in BOUNDS}


@pytest.mark.parametrize(("variable", "key", "lowest", "highest", "refused"), BOUNDS, ids=[c[0] for c in BOUNDS])
def test_setting_bounds(variable: str, key: str | None, lowest: str, highest: str | None, refused: str) -> None:
    for accepted in (lowest, highest):
        if accepted is not None:
            config = TestingConfig({variable: accepted})
            value = config.value(variable)
            assert str(value).lower() == accepted.lower() or float(value) == float(accepted)
            if key:
                assert getattr(config, key) == value
    with pytest.raises(ConfigError) as refused_error:
        TestingConfig({variable: refused})
    assert str(refused_error.value).startswith(f"{variable} must be")
    assert refused in str(refused_error.value)


def test_overrides_are_held_to_the_same_bounds() -> None:
    with pytest.raises(ConfigError, match="^MAIL_PORT must be"):
        TestingConfig({}, MAIL_PORT=0)
    with pytest.raises(TypeError, match="NOT_A_SETTING"):
        TestingConfig({}, NOT_A_SETTING=1)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("mysql://user:pass@mysql-host:3306/openml?charset=utf8mb4",
         "mysql+pymysql://user:pass@mysql-host:3306/openml?charset=utf8mb4"),
        ("mysql://user:pass@mysql-host/openml", "mysql+pymysql://user:pass@mysql-host/openml?charset=utf8mb4"),
        ("mysql+pymysql://u:p@h:3306/db?charset=latin1", "mysql+pymysql://u:p@h:3306/db?charset=utf8mb4"),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("sqlite:////app/data/openml.db", "sqlite:////app/data/openml.db"),
    ],
)
def test_database_uri_normalized(given: str, expected: str) -> None:
    assert normalize_database_uri(given) == expected


@pytest.mark.parametrize("uri", ["mysql+mysqldb://u:p@h/db", "postgresql://u:p@h/db", "not a url"])
def test_unusable_database_uri_refused_without_echoing_it(uri: str) -> None:
    with pytest.raises(ConfigError) as refused:
        normalize_database_uri(uri)
    assert "DATABASE_URI" in str(refused.value)
    assert "u:p" not in str(refused.value)


def test_masked_uri_hides_the_password() -> None:
    masked = mask_database_uri("mysql+pymysql://openml:hunter2-secret@db:3306/openml")
    assert "hunter2-secret" not in masked
    assert masked == "mysql+pymysql://openml:***@db:3306/openml"


def test_mysql_engine_options_recycle_below_wait_timeout() -> None:
    config = load_config({"ENVIRONMENT": "testing", "DATABASE_URI": "mysql://u:p@h/db"})
    options = config.SQLALCHEMY_ENGINE_OPTIONS
    assert options["pool_pre_ping"] is True
    assert 0 < options["pool_recycle"] < 28800


def test_mysql_timeouts_come_from_their_settings() -> None:
    default = load_config({"ENVIRONMENT": "testing", "DATABASE_URI": "mysql://u:p@h/db"}).SQLALCHEMY_ENGINE_OPTIONS
    assert (default["pool_timeout"], default["connect_args"]) == (
        3, {"connect_timeout": 3, "read_timeout": 5, "write_timeout": 5})
    tuned = load_config({"ENVIRONMENT": "testing", "DATABASE_URI": "mysql://u:p@h/db", "DB_READ_TIMEOUT": "7",
                         "DB_WRITE_TIMEOUT": "8", "DB_POOL_TIMEOUT": "2", "DB_CONNECT_TIMEOUT": "4"})
    options = tuned.SQLALCHEMY_ENGINE_OPTIONS
    assert (options["pool_timeout"], options["connect_args"]) == (
        2, {"connect_timeout": 4, "read_timeout": 7, "write_timeout": 8})


def test_variables_map_to_flask_mail_settings() -> None:
    config = load_config({
        "ENVIRONMENT": "testing", "SMTP_SERVER": "smtp.example.org", "SMTP_PORT": "587",
        "SMTP_LOGIN": "mailer", "SMTP_PASS": "pw", "SMTP_USE_TLS": "true", "EMAIL_SENDER": "a@b.c",
        "CORS_ORIGINS": "https://a.org, https://b.org",
    })
    assert (config.MAIL_SERVER, config.MAIL_PORT, config.MAIL_USERNAME, config.MAIL_PASSWORD) == (
        "smtp.example.org", 587, "mailer", "pw")
    assert config.MAIL_USE_TLS is True
    assert config.MAIL_DEFAULT_SENDER == "a@b.c"
    assert config.CORS_ORIGINS == ["https://a.org", "https://b.org"]


def test_secret_values_are_the_declared_secrets_and_the_database_password() -> None:
    config = load_config({"ENVIRONMENT": "testing", "SMTP_PASS": "smtp-pass-value",
                          "DATABASE_URI": "mysql://u:db-pass-value@h/db"})
    secrets = config.secret_values()
    for value in (config.SECRET_KEY, config.JWT_SECRET_KEY, "smtp-pass-value", "db-pass-value"):
        assert value in secrets
    assert "mailer" not in secrets and config.MAIL_SERVER not in secrets


def test_config_objects_are_frozen() -> None:
    config = TestingConfig({})
    with pytest.raises(AttributeError, match="frozen"):
        config.MAIL_PORT = 2525


def test_docs_table_matches_the_declarations() -> None:
    current = DOCS_PATH.read_text(encoding="utf-8")
    assert render_docs(current) == current, "run: python -m openml_backend.config docs --write"
    for setting in SETTINGS:
        assert f"| `{setting.name}`" in current
