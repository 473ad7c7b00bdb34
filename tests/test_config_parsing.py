"""Parsing of single variables: booleans, numbers, database URIs and their masking."""

from __future__ import annotations

import pytest

from openml_backend.config import (
    ConfigError,
    load_config,
    mask_database_uri,
    normalize_database_uri,
    parse_bool,
    parse_int,
)


@pytest.mark.parametrize(("text", "expected"), [("True", True), ("true", True), ("1", True),
                                                ("False", False), ("false", False), ("0", False)])
def test_booleans_accepted(text: str, expected: bool) -> None:
    assert parse_bool("SMTP_USE_TLS", text, default=not expected) is expected


@pytest.mark.parametrize("text", ["yes", "no", "TRUE", "on", "2", " true", "t"])
def test_booleans_refused_with_the_variable_named(text: str) -> None:
    with pytest.raises(ConfigError, match="^SMTP_USE_TLS must be one of"):
        parse_bool("SMTP_USE_TLS", text, default=False)


def test_unset_boolean_takes_the_default() -> None:
    assert parse_bool("TESTING", None, default=True) is True
    assert parse_bool("TESTING", "", default=False) is False


@pytest.mark.parametrize("text", ["0", "70000", "abc", "-1"])
def test_port_out_of_range_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        parse_int("SMTP_PORT", text, 25, minimum=1, maximum=65535)


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
