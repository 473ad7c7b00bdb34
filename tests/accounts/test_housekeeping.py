"""Settings, pruning, rehashing and the no-secrets-in-logs rule of the accounts feature."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openml_backend import create_app
from openml_backend.accounts import emails
from openml_backend.config import ConfigError, ProductionConfig, TestingConfig
from tests.helpers import API, PASSWORD, AccountActions, bearer

PRODUCTION_ENV = {"APP_SECRET_KEY": "p" * 40, "JWT_SECRET_KEY": "j" * 40,
                  "DATABASE_URI": "mysql://user:pw@db:3306/openml"}


def test_account_settings_defaults() -> None:
    config = ProductionConfig(PRODUCTION_ENV)
    assert config.JWT_ACCESS_TOKEN_EXPIRES == timedelta(minutes=15)
    assert config.JWT_REFRESH_TOKEN_EXPIRES == timedelta(days=30)
    assert config.JWT_ALGORITHM == "HS256" and config.JWT_DECODE_ALGORITHMS == ["HS256"]
    assert config.JWT_TOKEN_LOCATION == ["headers"]
    assert config.PASSWORD_HASH_COST == "production"
    assert config.CONFIRM_TOKEN_HOURS == 72 and config.RESET_TOKEN_MINUTES == 60
    assert config.FEEDBACK_EMAIL
    assert TestingConfig({}).PASSWORD_HASH_COST == "low"


@pytest.mark.parametrize(("env", "named"), [
    ({"PASSWORD_HASH_COST": "low"}, "PASSWORD_HASH_COST"),
    ({"PASSWORD_HASH_COST": "medium"}, "PASSWORD_HASH_COST"),
    ({"ACCESS_TOKEN_MINUTES": "0"}, "ACCESS_TOKEN_MINUTES"),
    ({"LOGIN_MAX_PER_ACCOUNT": "many"}, "LOGIN_MAX_PER_ACCOUNT"),
    ({"PROXY_FIX_HOPS": "9"}, "PROXY_FIX_HOPS"),
])
def test_bad_account_settings_are_refused_by_name(env: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        ProductionConfig({**PRODUCTION_ENV, **env})


def test_settings_from_the_environment() -> None:
    config = TestingConfig({"ACCESS_TOKEN_MINUTES": "5", "REFRESH_TOKEN_DAYS": "2", "FEEDBACK_EMAIL": "f@x.org"})
    assert config.JWT_ACCESS_TOKEN_EXPIRES == timedelta(minutes=5)
    assert config.JWT_REFRESH_TOKEN_EXPIRES == timedelta(days=2)
    assert config.FEEDBACK_EMAIL == "f@x.org"


def test_prune_command_deletes_only_expired_rows(app, accounts: AccountActions, db) -> None:
    from openml_backend.accounts.models import EmailToken, RevokedToken, ThrottleCounter, utcnow

    accounts.confirmed_user("prune@example.org")
    pair = accounts.login("prune@example.org")
    accounts.post("/auth/login", {"email": "prune@example.org", "password": "wrong password"})
    accounts.post("/auth/logout", token=pair["access_token"])
    accounts.post("/auth/password/forgot", {"email": "prune@example.org"})
    emails.wait_for_pending(10)  # forgot stores its link after answering
    counts = lambda: tuple(db.session.query(model).count()  # noqa: E731
                           for model in (RevokedToken, EmailToken, ThrottleCounter))
    revoked, tokens, counters = counts()
    assert revoked == 2 and tokens == 2 and counters >= 2
    db.session.query(RevokedToken).filter(RevokedToken.jti == accounts_jti(pair["access_token"])).update(
        {"expires_at": utcnow() - timedelta(seconds=1)})
    db.session.query(EmailToken).filter_by(purpose="confirm").update({"expires_at": utcnow() - timedelta(seconds=1)})
    db.session.query(ThrottleCounter).update({"expires_at": utcnow() - timedelta(seconds=1)})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["accounts", "prune"])
    assert result.exit_code == 0, result.output
    assert "revoked_tokens=1 email_tokens=1" in result.output
    db.session.expire_all()
    assert counts() == (1, 1, 0)
    # The surviving revocation still refuses the refresh token.
    assert accounts.post("/auth/refresh", token=pair["refresh_token"]).status_code == 401


def accounts_jti(token: str) -> str:
    import jwt as pyjwt

    return pyjwt.decode(token, options={"verify_signature": False})["jti"]


def test_login_upgrades_a_hash_made_with_other_parameters(make_app, smtp_settings, mailbox, db) -> None:
    from argon2 import extract_parameters

    from openml_backend.accounts.models import User

    cheap = make_app(**smtp_settings)
    AccountActions(cheap.test_client(), mailbox).confirmed_user("upgrade@example.org")
    # A second app on the same database (make_app would empty the tables).
    strong = create_app(TestingConfig(environ={"DATABASE_URI": cheap.config["SQLALCHEMY_DATABASE_URI"],
                                               "DATA_DIR": cheap.config["DATA_DIR"]},
                                      **smtp_settings, PASSWORD_HASH_COST="production"))
    with strong.app_context():
        assert extract_parameters(db.session.query(User).filter_by(email="upgrade@example.org").one().password_hash).memory_cost == 1024
    AccountActions(strong.test_client(), mailbox).login("upgrade@example.org")
    with strong.app_context():
        stored = db.session.query(User).filter_by(email="upgrade@example.org").one().password_hash
        db.engine.dispose()
    assert extract_parameters(stored).memory_cost == 65536
    AccountActions(strong.test_client(), mailbox).login("upgrade@example.org")


def test_no_password_token_or_api_key_reaches_the_logs(accounts: AccountActions, capsys) -> None:
    secret_password = "Sup3r-Secret-Passphrase"
    accounts.signup("quiet@example.org", password=secret_password)
    confirm_token = accounts.last_token("quiet@example.org")
    accounts.post("/auth/confirm", {"token": confirm_token})
    pair = accounts.login("quiet@example.org", secret_password)
    api_key = accounts.client.get(f"{API}/users/me/api-key", headers=bearer(pair["access_token"])).json["api_key"]
    accounts.post("/auth/login", {"email": "quiet@example.org", "password": "Wrong-Secret-Passphrase"})
    accounts.post("/auth/refresh", token=pair["refresh_token"])
    accounts.post("/auth/password/forgot", {"email": "quiet@example.org"})
    reset_token = accounts.last_token("quiet@example.org", 2)
    accounts.post("/auth/password/reset", {"token": reset_token, "new_password": PASSWORD})
    emails.wait_for_pending(10)
    logged = capsys.readouterr().out
    assert '"path":"/api/v1/auth/login"' in logged  # the request lines were captured
    for secret in (secret_password, "Wrong-Secret-Passphrase", confirm_token, reset_token, api_key,
                   pair["access_token"], pair["refresh_token"], PASSWORD):
        assert secret not in logged
