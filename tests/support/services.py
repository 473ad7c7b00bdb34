"""Real services for tests: a fresh MariaDB database per run, free ports, and the CI rule.

Under CI=true a test that needs MariaDB fails when MariaDB is unreachable; elsewhere it skips
and says why.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
MARIADB_ADMIN_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")


def service_missing(message: str) -> None:
    """Fail under CI=true (a missing service must not pass silently), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: required)", pytrace=False)
    pytest.skip(f"{message}; start MariaDB (see README) or set TEST_MARIADB_URL")


def _admin_connection():
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(MARIADB_ADMIN_URL)
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        connect_timeout=3,
        autocommit=True,
    )


@contextlib.contextmanager
def fresh_mariadb_database(prefix: str = "openml_backend_test") -> Iterator[str]:
    """Create an empty utf8mb4 database, yield its SQLAlchemy URI, drop it afterwards."""
    from sqlalchemy.engine import make_url

    try:
        admin = _admin_connection()
    except Exception as error:
        service_missing(f"MariaDB is not reachable at {make_url(MARIADB_ADMIN_URL).render_as_string()}: {error}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield make_url(MARIADB_ADMIN_URL).set(database=name).update_query_dict({"charset": "utf8mb4"}).render_as_string(
            hide_password=False
        )
    finally:
        with contextlib.suppress(Exception), _admin_connection() as cleanup, cleanup.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now (connecting is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mariadb_rows(database_uri: str, sql: str, *args) -> list[tuple]:
    """Run one query on the MariaDB database behind `database_uri` over its own connection."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(database_uri)
    connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                 password=url.password or "", database=url.database, connect_timeout=5)
    with connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())
