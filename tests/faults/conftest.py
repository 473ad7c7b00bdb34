"""Fixtures of the fault suite: a fresh MariaDB database written as the prod Secret writes it,
and the same database behind a TCP proxy the test can cut or pause."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import MARIADB_ADMIN_URL
from tests.servers import TcpProxy


@pytest.fixture
def mariadb_uri(mariadb_database: str) -> str:
    """A fresh MariaDB database (dropped afterwards), as plain mysql:// with no driver."""
    return make_url(mariadb_database).set(drivername="mysql").render_as_string(hide_password=False)


@pytest.fixture
def proxied_mariadb(mariadb_uri: str) -> Iterator[tuple[TcpProxy, str]]:
    """(proxy, URI through the proxy): cutting or pausing the proxy takes MariaDB away from
    the app only."""
    admin = make_url(MARIADB_ADMIN_URL)
    with TcpProxy(admin.host or "127.0.0.1", admin.port or 3306) as proxy:
        yield proxy, make_url(mariadb_uri).set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
