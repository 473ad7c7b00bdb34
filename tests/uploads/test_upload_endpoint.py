"""POST /api/v1/datasets through the app as a confirmed user, against the stand-in OpenML:
what OpenML receives, every refusal, the size limit, the throttle, a hanging OpenML, and
that no upload leaves a file behind."""

from __future__ import annotations

import hashlib
import io
import json
import time

import arff
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openml_backend.uploads import checks
from openml_backend.uploads.views import FORM_OVERHEAD_BYTES
from tests.helpers import AccountActions, bearer
from tests.uploads.conftest import sign_in

PATH = "/api/v1/datasets"
ARFF = ("% measurements\n@relation flowers\n@attribute length numeric\n@attribute width numeric\n"
        "@attribute kind {rose,tulip}\n@data\n1.5,0.5,rose\n2.5,0.7,tulip\n3.5,0.9,rose\n")
CSV = "length,width,kind\n1.5,0.5,rose\n2.5,0.7,tulip\n3.5,0.9,rose\n"
METADATA = {"name": "flowers", "description": "Three flowers.", "licence": "CC0",
            "default_target_attribute": "kind", "citation": "None yet"}


class CountingStream(io.RawIOBase):
    """`size` bytes of CSV-like filler, counting how many the app read."""

    def __init__(self, prefix: bytes, size: int, suffix: bytes) -> None:
        self.prefix, self.size, self.suffix, self.sent = prefix, size, suffix, 0

    @property
    def total(self) -> int:
        return len(self.prefix) + self.size + len(self.suffix)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.total - self.sent
        count = min(len(buffer), left)
        for index in range(count):  # slow but exact; only small reads happen before a refusal
            position = self.sent + index
            if position < len(self.prefix):
                buffer[index] = self.prefix[position]
            elif position < len(self.prefix) + self.size:
                buffer[index] = ord("1") if position % 2 else ord("\n")
            else:
                buffer[index] = self.suffix[position - len(self.prefix) - self.size]
        self.sent += count
        return count


def multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = "b0undary") -> bytes:
    """A multipart/form-data body of (name, content, filename or None) parts."""
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def upload(client, token, content: bytes | str | None, metadata=METADATA, filename="data.bin"):
    parts = []
    if metadata is not None:
        parts.append(("metadata", (metadata if isinstance(metadata, str) else json.dumps(metadata)).encode(), None))
    if content is not None:
        parts.append(("file", content.encode() if isinstance(content, str) else content, filename))
    return client.post(PATH, data=multipart(parts), content_type="multipart/form-data; boundary=b0undary",
                       headers=bearer(token) if token else {})


def assert_problem(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code
    return response.json


@pytest.fixture(autouse=True)
def nothing_left_behind(upload_dir):
    """Every test ends with the upload directory empty, whatever happened."""
    yield
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


def test_an_arff_upload_reaches_openml_as_is_with_the_users_key(client, uploader, standin, upload_dir):
    response = upload(client, uploader.access_token, ARFF, filename="flowers.csv")  # name says CSV: ignored
    assert response.status_code == 201, response.json
    [record] = standin.writes.records
    assert (record.endpoint, record.api_key, record.status) == ("data", uploader.api_key, 200)
    assert record.files["dataset"] == hashlib.sha256(ARFF.encode()).hexdigest()
    new_id, stored = standin.writes.uploads[(uploader.user_id, "flowers", None)]
    assert stored == ARFF.encode()
    assert response.json == {"id": new_id, "url": f"https://www.openml.test/d/{new_id}"}
    assert response.headers["Location"] == response.json["url"]
    assert response.headers["Cache-Control"] == "no-store"
    assert uploader.api_key not in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_csv_and_parquet_are_published_as_arff_with_the_same_data(client, uploader, standin, tmp_path, kind):
    if kind == "csv":
        content = CSV.encode()
    else:
        pq.write_table(pa.table({"length": [1.5, 2.5, 3.5], "width": [0.5, 0.7, 0.9],
                                 "kind": ["rose", "tulip", "rose"]}), tmp_path / "p")
        content = (tmp_path / "p").read_bytes()
    response = upload(client, uploader.access_token, content)
    assert response.status_code == 201, response.json
    _new_id, stored = standin.writes.uploads[(uploader.user_id, "flowers", None)]
    decoded = arff.loads(stored.decode())
    assert [name for name, _ in decoded["attributes"]] == ["length", "width", "kind"]
    assert decoded["data"] == [[1.5, 0.5, "rose"], [2.5, 0.7, "tulip"], [3.5, 0.9, "rose"]]
    assert standin.writes.records[-1].api_key == uploader.api_key


def test_without_a_token_401_and_openml_sees_nothing(client, standin):
    assert_problem(upload(client, None, CSV), 401, "missing_token")
    assert standin.writes.records == []


@pytest.mark.parametrize("content, status, code, line, words", [
    (CSV + "4.5,1.1\n", 400, "invalid_file", 5, "line 5: expected 3 fields, got 2"),
    (ARFF.replace("@attribute width numeric", "@attribute width"), 400, "invalid_file", 4,
     "line 4: expected '@attribute <name> <type>'"),
    (b"PAR1 not really parquet" * 10, 400, "invalid_file", None, "not a valid Parquet file"),
    (b"", 400, "invalid_file", None, "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", 415, "unsupported_format", None, "neither CSV, ARFF nor Parquet"),
])
def test_bad_files_are_refused_saying_where(client, uploader, standin, content, status, code, line, words):
    body = assert_problem(upload(client, uploader.access_token, content), status, code)
    assert words in body["detail"]
    assert body.get("line") == line
    assert standin.writes.records == []


def test_a_csv_bomb_is_refused_with_the_column_limit(client, uploader, standin):
    header = ",".join(f"column{i}" for i in range(1_000_000))
    body = assert_problem(upload(client, uploader.access_token, header + "\n" + "1," * 999_999 + "1\n"),
                          400, "file_limit_exceeded")
    assert f"more than {checks.MAX_COLUMNS} columns" in body["detail"]
    assert standin.writes.records == []


@pytest.mark.parametrize("metadata, words", [
    ({**METADATA, "default_target_attribute": "colour"}, "metadata.default_target_attribute"),
    ({**METADATA, "ignore_attribute": ["kind", "weight"]}, "'weight'"),
    ({**METADATA, "name": "has spaces"}, "metadata.name"),
    ({key: value for key, value in METADATA.items() if key != "description"}, "metadata.description"),
    ("{not json", "metadata"),
    (None, "'metadata'"),
])
def test_bad_metadata_is_refused(client, uploader, standin, metadata, words):
    body = assert_problem(upload(client, uploader.access_token, CSV, metadata=metadata), 400, "invalid_metadata")
    assert words in body["detail"]
    assert standin.writes.records == []


def test_no_file_part(client, uploader):
    assert "'file'" in assert_problem(upload(client, uploader.access_token, None), 400, "invalid_file")["detail"]


def test_a_json_body_is_415(client, uploader):
    response = client.post(PATH, json=METADATA, headers=bearer(uploader.access_token))
    assert_problem(response, 415, "unsupported_media_type")


def test_openml_refusing_the_dataset_is_a_400_with_openmls_code(client, uploader, standin):
    assert upload(client, uploader.access_token, ARFF).status_code == 201
    body = assert_problem(upload(client, uploader.access_token, ARFF), 409, "dataset_exists")
    assert body["openml_code"] == 139


# The size limit


@pytest.fixture
def small_app(app_with):
    return app_with(UPLOAD_MAX_MB=0.01)  # 10,485 bytes


def limit_of(app) -> int:
    return int(app.config["UPLOAD_MAX_MB"] * 1024 * 1024)


def big_body() -> CountingStream:
    return CountingStream(b'--x\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n',
                          50 * 1024 * 1024, b"\r\n--x--\r\n")


def post_stream(client, token, stream, environ):
    """POST `stream` as the raw WSGI input (the test client would otherwise measure it)."""
    return client.post(PATH, content_type="multipart/form-data; boundary=x", headers=bearer(token),
                       environ_overrides={"wsgi.input": stream, **environ})


def test_a_declared_length_over_the_limit_is_refused_before_reading_a_byte(small_app, accounts, standin):
    client = small_app.test_client()
    user = sign_in(small_app, AccountActions(client, accounts.mailbox), standin, "big@openml.test")
    stream = big_body()
    response = post_stream(client, user.access_token, stream, {"CONTENT_LENGTH": str(stream.total)})
    assert_problem(response, 413, "payload_too_large")
    assert stream.sent == 0


def test_a_body_without_length_is_cut_at_the_limit_while_streaming(small_app, accounts, standin):
    client = small_app.test_client()
    user = sign_in(small_app, AccountActions(client, accounts.mailbox), standin, "chunked@openml.test")
    stream = big_body()
    response = post_stream(client, user.access_token, stream,
                           {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    assert_problem(response, 413, "payload_too_large")
    assert 0 < stream.sent <= limit_of(small_app) + FORM_OVERHEAD_BYTES + 64 * 1024 < stream.total
    assert standin.writes.records == []


def test_a_file_just_over_the_limit_in_an_honest_body(small_app, accounts, standin):
    client = small_app.test_client()
    user = sign_in(small_app, AccountActions(client, accounts.mailbox), standin, "over@openml.test")
    limit = limit_of(small_app)
    assert upload(client, user.access_token, CSV).status_code == 201
    too_big = "a\n" + "1\n" * (limit // 2)  # the file alone is just over the limit, the body within its slack
    assert_problem(upload(client, user.access_token, too_big, metadata={**METADATA, "name": "b",
                                                                        "default_target_attribute": "a"}),
                   413, "payload_too_large")


# Throttle and a hanging OpenML


def test_uploads_are_throttled_per_user(app_with, accounts, standin):
    app = app_with(UPLOAD_MAX_PER_HOUR=2)
    client = app.test_client()
    user = sign_in(app, AccountActions(client, accounts.mailbox), standin, "busy@openml.test")
    assert upload(client, user.access_token, b"").status_code == 400
    assert upload(client, user.access_token, CSV).status_code == 201
    response = upload(client, user.access_token, CSV)
    assert_problem(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) > 0
    assert len(standin.writes.records) == 1


def test_a_hanging_openml_is_a_503_within_the_timeout_and_leaves_nothing(app_with, accounts, standin, upload_dir):
    app = app_with(OPENML_TIMEOUT=2.0)
    client = app.test_client()
    user = sign_in(app, AccountActions(client, accounts.mailbox), standin, "patient@openml.test")
    standin.writes.set_fault("hang", endpoint="data", seconds=30)
    started = time.monotonic()
    response = upload(client, user.access_token, CSV)
    elapsed = time.monotonic() - started
    assert_problem(response, 503, "openml_unavailable")
    assert elapsed < 2.0 + 4.0  # the timeout, plus the checks and the child's start
    assert list(upload_dir.iterdir()) == []


def test_metadata_may_come_as_a_file_part(client, uploader, standin):
    body = multipart([("metadata", json.dumps(METADATA).encode(), "metadata.json"), ("file", CSV.encode(), "d")])
    response = client.post(PATH, data=body, content_type="multipart/form-data; boundary=b0undary",
                           headers=bearer(uploader.access_token))
    assert response.status_code == 201, response.json
    assert standin.writes.records[-1].api_key == uploader.api_key
