"""create_app and load_config: each environment, and every refusal to start in production."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openml_backend import create_app
from openml_backend.config import (
    DEVELOPMENT_APP_SECRET_KEY,
    DEVELOPMENT_JWT_SECRET_KEY,
    OPENML_PRODUCTION_SERVER,
    OPENML_TEST_SERVER,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    load_config,
)
from tests.paths import REPO_ROOT

STRONG_APP_KEY = "a" * 16 + "b" * 16 + "c" * 8
STRONG_JWT_KEY = "d" * 20 + "e" * 20


def production_env(**changes: str | None) -> dict[str, str]:
    env = {
        "ENVIRONMENT": "production",
        "APP_SECRET_KEY": STRONG_APP_KEY,
        "JWT_SECRET_KEY": STRONG_JWT_KEY,
        "DATABASE_URI": "mysql://user:s3cret@db.internal:3306/openml?charset=utf8mb4",
        "CORS_ORIGINS": "https://www.openml.org",
    }
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_development_defaults(tmp_path: Path) -> None:
    config = load_config({"ENVIRONMENT": "development", "DATA_DIR": str(tmp_path)})
    assert isinstance(config, DevelopmentConfig)
    assert config.LOG_LEVEL == "DEBUG"
    assert config.OPENML_SERVER_URL == OPENML_TEST_SERVER
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path.resolve() / 'openml.db'}"
    assert config.AUTO_MIGRATE is True


def test_production_defaults() -> None:
    config = load_config(production_env())
    assert isinstance(config, ProductionConfig)
    assert config.LOG_LEVEL == "WARNING"
    assert config.OPENML_SERVER_URL == OPENML_PRODUCTION_SERVER
    assert config.SQLALCHEMY_DATABASE_URI.startswith("mysql+pymysql://user:s3cret@db.internal:3306/openml")
    assert config.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] is True
    assert config.AUTO_MIGRATE is False


def test_testing_environment_never_reaches_a_real_openml() -> None:
    config = load_config({"ENVIRONMENT": "testing"})
    assert isinstance(config, TestingConfig)
    assert config.TESTING is True
    assert "openml.org" not in config.OPENML_SERVER_URL


@pytest.mark.parametrize("variable", ["OPENML_USE_TEST_SERVER", "TESTING"])
def test_use_test_server_selects_the_openml_test_server_in_production(variable: str) -> None:
    assert load_config(production_env(**{variable: "True"})).OPENML_SERVER_URL == OPENML_TEST_SERVER
    assert load_config(production_env(**{variable: "False"})).OPENML_SERVER_URL == OPENML_PRODUCTION_SERVER


def test_testing_is_a_deprecated_alias_with_one_warning_naming_the_new_variable() -> None:
    config = load_config(production_env(TESTING="True"))
    assert config.OPENML_USE_TEST_SERVER is True
    assert config.warnings == ("TESTING is deprecated; set OPENML_USE_TEST_SERVER instead",)
    assert load_config(production_env(OPENML_USE_TEST_SERVER="True")).warnings == ()


def test_the_new_name_wins_over_the_alias() -> None:
    config = load_config(production_env(TESTING="True", OPENML_USE_TEST_SERVER="False"))
    assert config.OPENML_SERVER_URL == OPENML_PRODUCTION_SERVER
    assert config.warnings == ("TESTING is deprecated and ignored because OPENML_USE_TEST_SERVER is set",)


def test_create_app_logs_the_alias_warning_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_app(TestingConfig(environ={"DATA_DIR": str(tmp_path), "TESTING": "False"}))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    warnings = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert warnings == ["TESTING is deprecated; set OPENML_USE_TEST_SERVER instead"]


def test_openml_server_url_overrides_everything() -> None:
    env = production_env(TESTING="True", OPENML_SERVER_URL="http://127.0.0.1:8081/api/v1/xml")
    assert load_config(env).OPENML_SERVER_URL == "http://127.0.0.1:8081/api/v1/xml"


def test_unset_environment_means_development_with_a_warning(tmp_path: Path) -> None:
    config = load_config({"DATA_DIR": str(tmp_path), "DOTENV_PATH": str(tmp_path / "none")})
    assert isinstance(config, DevelopmentConfig)
    assert config.warnings == ("ENVIRONMENT is not set; using development",)


@pytest.mark.parametrize("name", ["prod", "Production", "staging", "dev "])
def test_unknown_environment_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="ENVIRONMENT must be one of development, production, testing"):
        load_config({"ENVIRONMENT": name})


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"APP_SECRET_KEY": None}, "APP_SECRET_KEY"),
        ({"JWT_SECRET_KEY": None}, "JWT_SECRET_KEY"),
        ({"APP_SECRET_KEY": "short-secret"}, "APP_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "x" * 31}, "JWT_SECRET_KEY"),
        ({"APP_SECRET_KEY": "CHANGE-ME-" + "x" * 40}, "APP_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "please-change-me-" + "y" * 40}, "JWT_SECRET_KEY"),
        ({"APP_SECRET_KEY": DEVELOPMENT_APP_SECRET_KEY}, "APP_SECRET_KEY"),
        ({"JWT_SECRET_KEY": DEVELOPMENT_JWT_SECRET_KEY}, "JWT_SECRET_KEY"),
        ({"DATABASE_URI": None}, "DATABASE_URI"),
        ({"DATABASE_URI": "sqlite:////app/data/openml.db"}, "DATABASE_URI"),
        ({"DATABASE_URI": "postgresql://u:p@h/db"}, "DATABASE_URI"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://www.openml.org, *"}, "CORS_ORIGINS"),
        ({"OAUTH_RETURN_ORIGINS": "https://www.openml.org, *"}, "OAUTH_RETURN_ORIGINS"),
        ({"GITHUB_CLIENT_SECRET": "CHANGE-ME-github-client-secret"}, "GITHUB_CLIENT_SECRET"),
        ({"GOOGLE_CLIENT_SECRET": "development-only-google-client-secret"}, "GOOGLE_CLIENT_SECRET"),
        ({"GOOGLE_CLIENT_SECRET": "short"}, "GOOGLE_CLIENT_SECRET"),
        ({"TESTING": "yes"}, "TESTING"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_production_refuses_to_start(changes: dict[str, str | None], variable: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(production_env(**changes))
    message = str(refused.value)
    assert variable in message
    assert "\n" not in message
    assert "s3cret" not in message


def test_create_app_exits_with_one_line_on_bad_environment() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import autoapp"],
        cwd=REPO_ROOT,
        env={"ENVIRONMENT": "staging", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "configuration error: ENVIRONMENT must be one of development, production, testing (got 'staging')"
    ]


@pytest.mark.parametrize(
    ("env", "expected_code", "expected_text"),
    [
        ({"ENVIRONMENT": "production"}, 78, "APP_SECRET_KEY is required in production"),
        ({"ENVIRONMENT": "nope"}, 78, "ENVIRONMENT must be one of"),
        ({"ENVIRONMENT": "production", "JWT_SECRET_KEY": "x" * 40, "APP_SECRET_KEY": "CHANGE-ME" * 5},
         78, "APP_SECRET_KEY is a placeholder"),
    ],
)
def test_config_check_command(env: dict[str, str], expected_code: int, expected_text: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openml_backend.config", "check"],
        cwd=REPO_ROOT,
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == expected_code
    (line,) = result.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR" and expected_text in record["message"]
    assert "CHANGE-ME" not in line.replace("APP_SECRET_KEY is a placeholder", "")


@pytest.mark.parametrize("args", [[], ["chek"], ["check", "--print"], ["check", "--print", "NO_SUCH_SETTING"],
                                  ["docs", "--overwrite"]])
def test_config_command_usage_errors_exit_64(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openml_backend.config", *args],
        cwd=REPO_ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 64
    assert result.stderr.startswith("usage:") and result.stdout == ""


def test_config_check_prints_the_resolved_values_it_is_asked_for() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openml_backend.config", "check", "--print",
         "ENVIRONMENT", "LOG_LEVEL", "GUNICORN_WORKERS", "GUNICORN_THREADS", "OPENML_SERVER_URL"],
        cwd=REPO_ROOT, env={**production_env(), "LOG_LEVEL": "info", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"production INFO - 4 {OPENML_PRODUCTION_SERVER}\n"


def test_config_check_accepts_a_valid_production_environment_and_masks_the_password() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openml_backend.config", "check"],
        cwd=REPO_ROOT,
        env={**production_env(), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "environment=production" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


def test_dotenv_is_read_in_development_only_and_real_variables_win(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=ERROR\nURL_API=http://from-dotenv\n")
    dev = load_config({"ENVIRONMENT": "development", "DOTENV_PATH": str(dotenv), "URL_API": "http://real",
                       "DATA_DIR": str(tmp_path)})
    assert dev.LOG_LEVEL == "ERROR"
    assert dev.URL_API == "http://real"
    prod = load_config(production_env(DOTENV_PATH=str(dotenv)))
    assert prod.LOG_LEVEL == "WARNING"


def test_create_app_accepts_a_config_object_and_a_dict(tmp_path: Path) -> None:
    app = create_app(TestingConfig(environ={"DATA_DIR": str(tmp_path)}))
    assert app.config["ENVIRONMENT"] == "testing"
    assert app.testing
    app = create_app({"DATA_DIR": str(tmp_path), "LOG_LEVEL": "ERROR"})
    assert app.config["LOG_LEVEL"] == "ERROR"
    with pytest.raises(TypeError):
        create_app(42)
