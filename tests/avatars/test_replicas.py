"""Two replicas of the service, two real gunicorn servers (entrypoint.sh, gunicorn.conf.py) on
one database: a picture uploaded through one is served by the other with the same bytes and
ETag, and a deletion through the other is seen by the first. Over real HTTP, the upload also
crosses gunicorn with its multi-megabyte body (the in-process tests check the 413s)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.avatars.conftest import encoded
from tests.helpers import API, PASSWORD, token_from
from tests.servers import Gunicorn, Mailbox, SmtpServer, environment_for_testing, gunicorn_command_for_testing

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


@pytest.fixture
def replicas(make_app, database_uri: str, smtp: SmtpServer, tmp_path: Path,
             start_gunicorn: Callable[..., Gunicorn]) -> tuple[Gunicorn, Gunicorn]:
    make_app()  # empty tables
    servers = []
    for name in ("one", "other"):
        env = environment_for_testing(
            tmp_path / name, database_uri, SMTP_SERVER="127.0.0.1", SMTP_PORT=str(smtp.port), SMTP_TIMEOUT="5",
            EMAIL_SERVER="https://www.openml.test", URL_API="https://api.openml.test", PASSWORD_HASH_COST="low")
        servers.append(start_gunicorn(env, tmp_path / name / "server.log", command=gunicorn_command_for_testing(1)))
    return servers[0], servers[1]


def access_token(server: Gunicorn, mailbox: Mailbox, email: str) -> str:
    signup = server.http("POST", f"{API}/auth/signup",
                         json={"email": email, "password": PASSWORD, "first_name": "G", "last_name": "H"})
    assert signup.status_code == 202
    token = token_from(mailbox.wait_for(email, timeout=30)[-1])
    assert server.http("POST", f"{API}/auth/confirm", json={"token": token}).status_code == 200
    login = server.http("POST", f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


def test_a_picture_uploaded_to_one_replica_is_served_by_the_other(replicas: tuple[Gunicorn, Gunicorn],
                                                                  mailbox: Mailbox) -> None:
    one, other = replicas
    token = access_token(one, mailbox, "grace@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    user_id = one.http("GET", f"{API}/users/me", headers=headers).json()["id"]
    path = f"{API}/users/{user_id}/avatar"

    # Noise as a JPEG of a few MiB: far over MAX_CONTENT_LENGTH (64 KiB), under AVATAR_MAX_MB.
    noise = hashlib.shake_256(b"jpeg noise").digest(1600 * 1200 * 3)
    upload = encoded(Image.frombytes("RGB", (1600, 1200), noise), "JPEG", quality=95)
    assert MIB < len(upload) < 5 * MIB
    stored = one.http("PUT", f"{API}/users/me/avatar", headers=headers,
                      files={"image": ("me.jpg", upload, "image/jpeg")})
    assert stored.status_code == 200, stored.text

    from_one, from_other = one.http("GET", path), other.http("GET", path)
    assert from_other.status_code == 200
    assert from_other.headers["Content-Type"] == "image/webp"
    assert from_other.content == from_one.content
    assert from_other.headers["ETag"] == from_one.headers["ETag"] == f'"{stored.json()["etag"]}"'
    assert hashlib.sha256(from_other.content).hexdigest() == stored.json()["etag"]
    assert other.http("GET", path, headers={"If-None-Match": from_one.headers["ETag"]}).status_code == 304

    assert other.http("DELETE", f"{API}/users/me/avatar", headers=headers).status_code == 204
    gone = one.http("GET", path)
    assert (gone.status_code, gone.json()["code"]) == (404, "avatar_not_found")
