"""The stand-in OpenML's POST data: the real `openml` client publishes to it, and it refuses
what OpenML refuses, with OpenML's codes, recording every upload as the other writes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import requests

from tests.paths import REPO_ROOT

KEY = "k" * 32
DESCRIPTION = ('<oml:data_set_description xmlns:oml="http://openml.org/openml">'
               "<oml:name>tiny</oml:name><oml:description>d</oml:description>"
               "<oml:default_target_attribute>{target}</oml:default_target_attribute>"
               "</oml:data_set_description>")
ARFF = "@relation tiny\n@attribute x numeric\n@attribute y {a,b}\n@data\n1,a\n2,b\n"
OML = "{http://openml.org/openml}"

PUBLISH = """
import hashlib, json, sys
import openml, pandas as pd
openml.config.server, openml.config.apikey = sys.argv[1], sys.argv[2]
openml.config.connection_n_retries = 1
frame = pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": pd.Categorical(["a", "b", "a"])})
dataset = openml.datasets.create_dataset(
    name="tiny", description="three rows", creator=None, contributor=None, collection_date=None,
    language=None, licence="CC0", attributes="auto", data=frame, default_target_attribute="y",
    ignore_attribute=None, citation="none")
dataset.publish()
print(json.dumps({"id": dataset.dataset_id, "sha256": hashlib.sha256(dataset._dataset.encode()).hexdigest()}))
"""


def post(server, fields=None, files=None):
    return requests.post(server.api_url + "/data", data=fields or {}, files=files or {}, timeout=10)


def error_code(response) -> int:
    assert response.status_code == 412
    return int(ET.fromstring(response.text).find(f"{OML}code").text)


def test_the_openml_client_publishes_a_dataset_and_it_is_recorded(openml):
    openml.writes.add_user(KEY, 7)
    done = subprocess.run([sys.executable, "-c", PUBLISH, openml.api_url, KEY], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    [record] = openml.writes.records
    assert (record.endpoint, record.api_key, record.status) == ("data", KEY, 200)
    assert record.files["dataset"] == answer["sha256"]
    assert openml.writes.uploads[(7, "tiny", None)][0] == answer["id"]
    assert ("POST", "/api/v1/xml/data/") in openml.requests


def test_a_valid_upload_answers_openmls_shape(openml):
    openml.writes.add_user("key", 3)
    response = post(openml, {"api_key": "key"}, {"description": DESCRIPTION.format(target="y"), "dataset": ARFF})
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    assert root.tag == f"{OML}upload_data_set"
    assert openml.writes.uploads[(3, "tiny", None)] == (int(root.find(f"{OML}id").text), ARFF.encode())
    assert openml.writes.records[-1].files["dataset"] == hashlib.sha256(ARFF.encode()).hexdigest()


def test_refusals_carry_openmls_codes(openml):
    openml.writes.add_user("k", 1)
    good = {"description": DESCRIPTION.format(target="y"), "dataset": ARFF}
    assert error_code(post(openml, {}, good)) == 102
    assert error_code(post(openml, {"api_key": "unknown"}, good)) == 103
    assert error_code(post(openml, {"api_key": "k"}, {"dataset": ARFF})) == 135
    assert error_code(post(openml, {"api_key": "k"}, {**good, "description": "<oml:data_set_description"})) == 131
    assert error_code(post(openml, {"api_key": "k"}, {**good, "description": DESCRIPTION.replace(
        "<oml:name>tiny</oml:name>", "")})) == 131
    assert error_code(post(openml, {"api_key": "k"}, {"description": good["description"]})) == 141
    assert error_code(post(openml, {"api_key": "k"}, {**good, "dataset": "@relation x\n@data\n1\n"})) == 142
    assert error_code(post(openml, {"api_key": "k"}, {**good, "description": DESCRIPTION.format(target="z")})) == 142
    assert openml.writes.uploads == {}
    assert post(openml, {"api_key": "k"}, good).status_code == 200
    assert error_code(post(openml, {"api_key": "k"}, good)) == 139
    assert [r.status for r in openml.writes.records] == [412] * 8 + [200, 412]


def test_upload_faults(openml):
    openml.writes.add_user("k", 1)
    openml.writes.set_fault("error412", endpoint="data", code=134, message="Failed to insert record in database")
    good = {"description": DESCRIPTION.format(target="y"), "dataset": ARFF}
    assert error_code(post(openml, {"api_key": "k"}, good)) == 134
    openml.reset_writes()
    openml.writes.add_user("k", 1)
    assert post(openml, {"api_key": "k"}, good).status_code == 200
