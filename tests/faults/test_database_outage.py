"""MariaDB goes away under a production gunicorn (3 gthread workers), then comes back.

The shared MariaDB keeps running: the app reaches its database through a TCP proxy, and
"MariaDB down" means the proxy refuses connections and breaks the open ones. While it is
down, liveness stays 200, readiness is 503 naming the database, statistics already held by a
worker are served from its memory, and account endpoints answer 503 database_unavailable.
When the proxy listens again, the same processes recover on their own.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.servers import migrate, production_environment, wait_until, warm_every_worker

IRIS = 61
ANNEAL = 2
LOGIN = "/api/v1/auth/login"
SIGNUP = "/api/v1/auth/signup"
NOBODY = {"email": "nobody@example.org", "password": "not the password of anyone"}


def test_database_outage_and_recovery(proxied_mariadb, openml, tmp_path: Path, start_gunicorn) -> None:
    proxy, database_uri = proxied_mariadb
    env = production_environment(tmp_path, database_uri, openml.api_url, OPENML_TIMEOUT="10")
    migrate(env)
    server = start_gunicorn(env, tmp_path / "server.log")
    first = server.http("GET", f"/api/v1/datasets/{IRIS}/stats")
    assert first.status_code == 200, first.text
    workers = warm_every_worker(server, f"/api/v1/datasets/{IRIS}/stats")
    assert server.http("POST", LOGIN, json=NOBODY).status_code == 401

    proxy.cut()
    # A recomputation would now fail: any 200 below comes from a worker's memory.
    openml.set_fault(IRIS, "http500")
    assert [server.http("GET", "/health").status_code for _ in range(5)] == [200] * 5
    ready = server.http("GET", "/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "failed", "data_dir": "ok", "cache_dir": "ok"}
    with ThreadPoolExecutor(max_workers=12) as pool:
        during = list(pool.map(lambda _: server.http("GET", f"/api/v1/datasets/{IRIS}/stats"), range(24)))
    assert {r.status_code for r in during} == {200}, [r.text[:200] for r in during if r.status_code != 200]
    assert all(r.json()["cached"] is True for r in during)
    assert all(r.json()["statistics"] == first.json()["statistics"] for r in during)
    # Never computed before: computed now from OpenML, answered, just not stored.
    fresh = server.http("GET", f"/api/v1/datasets/{ANNEAL}/stats")
    assert (fresh.status_code, fresh.json()["cached"]) == (200, False)
    for path, body in ((LOGIN, NOBODY), (SIGNUP, {"email": "new@example.org", "password": "a long password 123",
                                                  "first_name": "N", "last_name": "U"})):
        answer = server.http("POST", path, json=body)
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "database_unavailable"
        assert answer.headers["Retry-After"]

    proxy.restore()
    openml.clear_faults()
    wait_until(lambda: server.http("GET", "/health/ready").status_code == 200, 30, "readiness after the outage")
    assert [server.http("POST", LOGIN, json=NOBODY).status_code for _ in range(3)] == [401] * 3
    signup = server.http("POST", SIGNUP, json={"email": "after@example.org", "password": "a long password 123",
                                               "first_name": "A", "last_name": "F"})
    assert signup.status_code == 202, signup.text
    assert server.http("GET", f"/api/v1/datasets/{IRIS}/stats").status_code == 200
    assert server.process.poll() is None
    assert set(server.children()) == workers, "recovered without restarting a worker"
