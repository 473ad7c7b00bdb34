"""Key isolation across processes: gunicorn with 2 workers (docker/entrypoint.sh and
docker/gunicorn.conf.py, as the pods run it), many users tagging at once; the stand-in
OpenML's record shows every write carried its own user's key, and both workers served."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.accounts.test_across_processes import confirmed_login
from tests.helpers import API, metric_total
from tests.servers import Gunicorn, Mailbox, SmtpServer, environment_for_testing, gunicorn_command_for_testing
from tests.standin_openml import StandinOpenML

WORKERS = 2
USERS = 6
ROUNDS = 4
IRIS = 61
TAGS_ENDPOINT = f"{API}/datasets/<dataset_id>/tags"


def test_each_write_carries_its_own_users_key_across_workers(
        make_app: Callable, database_uri: str, smtp: SmtpServer, mailbox: Mailbox, standin: StandinOpenML,
        tmp_path: Path, start_gunicorn: Callable[..., Gunicorn]) -> None:
    make_app()  # empty tables
    env = environment_for_testing(
        tmp_path / "gunicorn", database_uri, SMTP_SERVER="127.0.0.1", SMTP_PORT=str(smtp.port), SMTP_TIMEOUT="5",
        EMAIL_SERVER="https://www.openml.test", LOGIN_MAX_PER_ADDRESS="1000", PASSWORD_HASH_COST="low",
        OPENML_SERVER_URL=standin.api_url, OPENML_TIMEOUT="20")
    server = start_gunicorn(env, tmp_path / "gunicorn" / "server.log", command=gunicorn_command_for_testing(WORKERS))

    users = []
    for index in range(USERS):
        token = confirmed_login(server, mailbox, f"worker-user{index}@example.org")["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        user_id = requests.get(f"{server.url}{API}/users/me", headers=headers, timeout=30).json()["id"]
        api_key = requests.get(f"{server.url}{API}/users/me/api-key", headers=headers, timeout=30).json()["api_key"]
        standin.writes.add_user(api_key, user_id)
        users.append((user_id, api_key, headers))

    def tag(index: int) -> int:
        user_id, _key, headers = users[index % USERS]
        response = requests.post(f"{server.url}{API}/datasets/{IRIS}/tags", headers=headers, timeout=60,
                                 json={"tag": f"u{user_id}_{index // USERS}"})
        return response.status_code

    with ThreadPoolExecutor(USERS) as pool:
        statuses = list(pool.map(tag, range(USERS * ROUNDS)))
    assert statuses == [201] * (USERS * ROUNDS), server.output()[-3000:]

    key_of = {user_id: api_key for user_id, api_key, _headers in users}
    records = standin.writes.records
    assert len(records) == USERS * ROUNDS
    for record in records:
        assert record.api_key == key_of[int(record.fields["tag"][1:].split("_")[0])], record
    served_by = {pid for pid, samples in server.samples_by_worker().items()
                 if metric_total(samples, "openml_backend_http_requests_total", endpoint=TAGS_ENDPOINT,
                                 status="201") > 0}
    assert len(served_by) == WORKERS, "both workers wrote to OpenML"
    log = server.output()
    assert not [key for key in key_of.values() if key in log]
