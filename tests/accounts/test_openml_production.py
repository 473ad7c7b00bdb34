"""What was observed before: `flask db upgrade` against OpenML's database tried to create
`users`, and the server did not boot. Replayed with the production entrypoint (prod
ConfigMap, release migration, gthread workers, production hashing) on a MariaDB laid out by
OpenML's schema.sql with its legacy accounts: the migration leaves OpenML's tables as they
were, the server boots, an existing OpenML user logs in with their PHP-era password and reads
the API key OpenML already knows, and a new account gets a key OpenML's REST API accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import mariadb_rows, token_from
from tests.openml_db import LEGACY, lay_out_as_openml
from tests.servers import SmtpServer, migrate, production_environment

pytestmark = pytest.mark.slow

API = "/api/v1"
UNUSED_OPENML = "http://127.0.0.1:9/api/v1/xml"  # accounts only: OpenML is never asked


def test_production_boots_on_openml_database_and_serves_its_accounts(
    mariadb_database: str, smtp: SmtpServer, start_gunicorn, tmp_path: Path
) -> None:
    lay_out_as_openml(mariadb_database)
    shape = [mariadb_rows(mariadb_database, f"SHOW CREATE TABLE `{table}`")[0][1]
             for table in ("users", "users_groups", "groups")]
    uri = make_url(mariadb_database).set(drivername="mysql").render_as_string(hide_password=False)
    env = production_environment(tmp_path, uri, UNUSED_OPENML, SMTP_PORT=str(smtp.port))
    migrate(env)
    assert [mariadb_rows(mariadb_database, f"SHOW CREATE TABLE `{table}`")[0][1]
            for table in ("users", "users_groups", "groups")] == shape
    server = start_gunicorn(env, tmp_path / "server.log")

    user_id, email, password, _active, key = LEGACY["phpera"]
    login = server.http("POST", f"{API}/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert server.http("GET", "/api-key", headers=bearer).json() == {"apikey": key}
    stored = mariadb_rows(mariadb_database, "SELECT password FROM users WHERE id = %s", user_id)[0][0]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=1$")

    signup = server.http("POST", f"{API}/auth/signup", json={
        "email": "new.member@example.org", "password": "a long new password", "first_name": "Zoë",
        "last_name": "Öberg"})
    assert signup.status_code == 202, signup.text
    token = token_from(smtp.mailbox.wait_for("new.member@example.org", timeout=30)[-1])
    assert server.http("POST", f"{API}/auth/confirm", json={"token": token}).status_code == 200
    (new_id, new_key, first, last), = mariadb_rows(
        mariadb_database, "SELECT id, session_hash, first_name, last_name FROM users WHERE email = %s",
        "new.member@example.org")
    assert re.fullmatch(r"[0-9a-f]{32}", new_key)  # what OpenML's newer REST API checks
    assert (first, last) == ("Zoë", "Öberg")  # through a utf8mb4 connection into latin1 columns
    assert mariadb_rows(mariadb_database, "SELECT group_id FROM users_groups WHERE user_id = %s", new_id) == [(2,)]
