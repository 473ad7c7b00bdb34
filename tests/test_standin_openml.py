"""The stand-in OpenML server, checked over real HTTP against what OpenML and the client expect."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import pytest

from tests.paths import REPO_ROOT, openml_fixture
from tests.standin_openml import FAULT_IDS_DOC, GENERATED_DATASETS, StandinOpenML

OML = "{http://openml.org/openml}"


def fetch(server: StandinOpenML, path: str, method: str = "GET", gzip_ok: bool = False, timeout: float = 10.0):
    """One raw HTTP request; returns (status, headers, body as sent on the wire)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        headers = {"Accept-Encoding": "gzip, deflate"} if gzip_ok else {"Accept-Encoding": "identity"}
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def description(server: StandinOpenML, dataset_id: int) -> ET.Element:
    status, _, body = fetch(server, f"/api/v1/xml/data/{dataset_id}")
    assert status == 200
    return ET.fromstring(body)


def text(element: ET.Element, tag: str) -> str | None:
    found = element.find(OML + tag)
    return None if found is None else found.text


PUBLIC_IDS = [2, 30, 61, 4136, *(i for i in GENERATED_DATASETS if i != 9010)]  # 9010 is private


@pytest.mark.parametrize("dataset_id", PUBLIC_IDS)
def test_descriptions_point_at_the_server_itself_and_md5_matches_the_served_arff(standin_openml, dataset_id):
    root = description(standin_openml, dataset_id)

    assert text(root, "id") == str(dataset_id)
    for tag in ("url", "parquet_url", "minio_url"):
        url = text(root, tag)
        assert url is None or url.startswith(standin_openml.url + "/"), (tag, url)
    arff_path = text(root, "url")[len(standin_openml.url) :]
    status, headers, arff = fetch(standin_openml, arff_path)
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert text(root, "md5_checksum") == hashlib.md5(arff).hexdigest()


def test_anneal_serves_the_fixture_bytes(standin_openml):
    _, _, arff = fetch(standin_openml, "/data/v1/download/2/anneal.arff")
    _, _, features = fetch(standin_openml, "/api/v1/xml/data/features/2")

    assert arff == openml_fixture("datasets", "2", "dataset.arff").read_bytes()
    assert features == openml_fixture("datasets", "2", "features.xml").read_bytes()


def test_features_are_indexed_in_order_and_nominals_list_their_values(standin_openml):
    status, _, body = fetch(standin_openml, "/api/v1/xml/data/features/30")
    features = ET.fromstring(body).findall(OML + "feature")

    assert status == 200
    assert [text(f, "index") for f in features] == [str(i) for i in range(9)]
    sex = features[0]
    assert (text(sex, "name"), text(sex, "data_type")) == ("Sex", "nominal")
    assert [v.text for v in sex.findall(OML + "nominal_value")] == ["M", "F", "I"]
    assert text(features[-1], "is_target") == "true"


def test_dexter_features_come_from_the_arff_header(standin_openml):
    _, _, body = fetch(standin_openml, "/api/v1/xml/data/features/4136")
    features = ET.fromstring(body).findall(OML + "feature")
    header_attributes = [
        line for line in openml_fixture("datasets", "dexter", "dataset.arff").read_text().splitlines()
        if line.lower().startswith("@attribute")
    ]

    assert len(features) == len(header_attributes) == 20001
    assert text(features[-1], "name") == "class" and text(features[-1], "data_type") == "nominal"


def test_parquet_is_served_path_style_with_head_and_rfc1123_last_modified(standin_openml):
    root = description(standin_openml, 61)
    path = text(root, "parquet_url")[len(standin_openml.url) :]

    head_status, head, head_body = fetch(standin_openml, path, method="HEAD")
    status, headers, body = fetch(standin_openml, path, gzip_ok=True)

    assert (head_status, status, head_body) == (200, 200, b"")
    assert body[:4] == b"PAR1" and body[-4:] == b"PAR1"
    assert int(head["content-length"]) == len(body)
    assert "content-encoding" not in headers  # object stores answer the stored bytes
    assert parsedate_to_datetime(head["last-modified"]).tzinfo is not None
    assert head["etag"].strip('"') == hashlib.md5(body).hexdigest()


def test_answers_are_gzip_encoded_when_the_client_accepts_it(standin_openml):
    _, plain_headers, plain = fetch(standin_openml, "/api/v1/xml/data/61")
    _, headers, compressed = fetch(standin_openml, "/api/v1/xml/data/61", gzip_ok=True)

    assert headers["content-encoding"] == "gzip" and "content-encoding" not in plain_headers
    assert gzip.decompress(compressed) == plain


@pytest.mark.parametrize(
    ("dataset_id", "code"),
    [(9901, "111"), (9902, "352"), (123456789, "111"), (9010, "112"), (9908, "112")],
)
def test_errors_are_412_with_an_oml_error_body(standin_openml, dataset_id, code):
    status, _, body = fetch(standin_openml, f"/api/v1/xml/data/{dataset_id}")
    root = ET.fromstring(body)

    assert status == 412
    assert root.tag == OML + "error" and text(root, "code").strip() == code


def test_code_352_is_the_fixture_body(standin_openml):
    _, _, body = fetch(standin_openml, "/api/v1/xml/data/9902")

    assert body == openml_fixture("errors", "dataset_does_not_exist.xml").read_bytes()


def test_http_500_fault(standin_openml):
    status, _, _ = fetch(standin_openml, "/api/v1/xml/data/9903")

    assert status == 500


def test_hang_holds_the_connection_without_answering(standin_openml):
    with pytest.raises(socket.timeout):
        fetch(standin_openml, "/api/v1/xml/data/9904", timeout=0.5)


def test_data_only_faults_leave_the_metadata_alone(standin_openml):
    assert fetch(standin_openml, "/api/v1/xml/data/9907")[0] == 200
    assert fetch(standin_openml, "/data/v1/download/9907/iris.arff")[0] == 500


def test_set_fault_and_clear_faults(standin_openml):
    standin_openml.set_fault(61, "error412", code=111)
    assert fetch(standin_openml, "/api/v1/xml/data/61")[0] == 412

    standin_openml.set_fault(61, "slow", seconds=0.3)
    started = time.monotonic()
    assert fetch(standin_openml, "/api/v1/xml/data/61")[0] == 200
    assert time.monotonic() - started >= 0.3

    standin_openml.clear_faults()
    assert fetch(standin_openml, "/api/v1/xml/data/61")[0] == 200
    with pytest.raises(ValueError):
        standin_openml.set_fault(61, "explode")


def test_request_log_records_method_and_path_without_query(standin_openml):
    before = len(standin_openml.requests)

    fetch(standin_openml, "/api/v1/xml/data/61?api_key=SECRET")
    fetch(standin_openml, "/datasets/0000/0061/dataset_61.pq", method="HEAD")

    assert standin_openml.requests[before:] == [
        ("GET", "/api/v1/xml/data/61"),
        ("HEAD", "/datasets/0000/0061/dataset_61.pq"),
    ]


def test_stop_releases_hanging_requests_and_closes_the_port():
    server = StandinOpenML().start()
    port = server.port
    connection = socket.create_connection((server.host, port))
    connection.sendall(b"GET /api/v1/xml/data/9904 HTTP/1.0\r\n\r\n")
    time.sleep(0.2)

    server.stop()

    connection.settimeout(5)
    assert connection.recv(100) == b""  # closed without an answer, not left hanging
    connection.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_documented_tables_cover_every_fault_and_generated_id(standin_openml):
    assert set(FAULT_IDS_DOC) == set(standin_openml.catalogue.faults)
    assert set(GENERATED_DATASETS) <= set(standin_openml.catalogue.datasets)


def test_cli_serves_until_sigterm(spawn):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = spawn(
        [sys.executable, "-m", "tests.standin_openml", "--port", "0"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first_line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first_line)
        assert match, first_line
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        connection.request("GET", "/api/v1/xml/data/2")
        assert connection.getresponse().status == 200
        connection.close()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        process.stdout.close()
        process.stderr.close()


def listed(server: StandinOpenML, filters: str) -> tuple[int, ET.Element]:
    status, _, body = fetch(server, f"/api/v1/xml/data/list{filters}")
    return status, ET.fromstring(body)


def test_data_list_names_every_public_dataset_in_openmls_shape(standin_openml):
    status, root = listed(standin_openml, "/status/active")

    assert status == 200 and root.tag == OML + "data"
    datasets = root.findall(OML + "dataset")
    assert [int(text(d, "did")) for d in datasets] == sorted(PUBLIC_IDS)
    iris = next(d for d in datasets if text(d, "did") == "61")
    assert (text(iris, "name"), text(iris, "version"), text(iris, "status")) == ("iris", "1", "active")
    assert text(iris, "format") == text(description(standin_openml, 61), "format")


def test_data_list_pages_with_limit_and_offset(standin_openml):
    pages = [listed(standin_openml, f"/status/active/limit/5/offset/{offset}")[1] for offset in (0, 5)]
    ids = [int(text(d, "did")) for page in pages for d in page.findall(OML + "dataset")]
    assert ids == sorted(PUBLIC_IDS)[:10]
    _, chosen = listed(standin_openml, "/data_id/61,2,9010")  # a private one stays hidden
    assert [text(d, "did") for d in chosen.findall(OML + "dataset")] == ["2", "61"]


@pytest.mark.parametrize(("filters", "code"), [
    ("/status/deactivated", "372"),  # no results
    (f"/limit/10/offset/{len(PUBLIC_IDS)}", "372"),
    ("/status/active/offset/10", "373"),  # an offset without a limit
    ("/colour/red", "370"),  # an unknown filter
    ("/limit/ten", "371"),
    ("/status", "371"),
])
def test_data_list_errors_are_openmls_codes(standin_openml, filters, code):
    status, root = listed(standin_openml, filters)
    assert status == 412 and root.tag == OML + "error" and text(root, "code").strip() == code
