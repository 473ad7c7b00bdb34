"""The stand-in OpenML's POST data: the real `openml` client publishes to it, and it refuses
what OpenML refuses, with OpenML's codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import requests

from tests.paths import REPO_ROOT

DESCRIPTION = ('<oml:data_set_description xmlns:oml="http://openml.org/openml">'
               "<oml:name>tiny</oml:name><oml:description>d</oml:description>"
               "<oml:default_target_attribute>{target}</oml:default_target_attribute>"
               "</oml:data_set_description>")
ARFF = "@relation tiny\n@attribute x numeric\n@attribute y {a,b}\n@data\n1,a\n2,b\n"
OML = "{http://openml.org/openml}"

PUBLISH = """
import json, sys
import openml, pandas as pd
openml.config.server, openml.config.apikey = sys.argv[1], sys.argv[2]
openml.config.connection_n_retries = 1
frame = pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": pd.Categorical(["a", "b", "a"])})
dataset = openml.datasets.create_dataset(
    name="tiny", description="three rows", creator=None, contributor=None, collection_date=None,
    language=None, licence="CC0", attributes="auto", data=frame, default_target_attribute="y",
    ignore_attribute=None, citation="none")
dataset.publish()
print(json.dumps({"id": dataset.dataset_id, "sha256": __import__("hashlib").sha256(
    dataset._dataset.encode("utf-8")).hexdigest()}))
"""


def post(server, fields=None, files=None):
    return requests.post(server.api_url + "/data", data=fields or {}, files=files or {}, timeout=10)


def error_code(response) -> int:
    assert response.status_code == 412
    return int(ET.fromstring(response.text).find(f"{OML}code").text)


def test_the_openml_client_publishes_a_dataset_and_it_is_recorded(openml):
    done = subprocess.run([sys.executable, "-c", PUBLISH, openml.api_url, "k" * 32], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    [record] = openml.uploads.records
    assert answer["id"] == record.dataset_id
    assert record.api_key == "k" * 32
    assert record.description["name"] == "tiny"
    assert record.description["licence"] == "CC0"
    assert record.file_sha256 == answer["sha256"]
    assert ("POST", "/api/v1/xml/data/") in openml.requests


def test_a_valid_upload_answers_openmls_shape(openml):
    response = post(openml, {"api_key": "key"}, {"description": DESCRIPTION.format(target="y"), "dataset": ARFF})
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    assert root.tag == f"{OML}upload_data_set"
    assert int(root.find(f"{OML}id").text) == openml.uploads.records[0].dataset_id
    assert openml.uploads.records[0].file_sha256 == hashlib.sha256(ARFF.encode()).hexdigest()


def test_refusals_carry_openmls_upload_codes(openml):
    good = {"description": DESCRIPTION.format(target="y"), "dataset": ARFF}
    assert error_code(post(openml, {}, good)) == 137
    openml.uploads.refused_keys.add("bad")
    assert error_code(post(openml, {"api_key": "bad"}, good)) == 138
    assert error_code(post(openml, {"api_key": "k"}, {"dataset": ARFF})) == 135
    assert error_code(post(openml, {"api_key": "k"}, {**good, "description": "<oml:data_set_description"})) == 131
    assert error_code(post(openml, {"api_key": "k"}, {**good, "description": DESCRIPTION.replace(
        "<oml:name>tiny</oml:name>", "")})) == 131
    assert error_code(post(openml, {"api_key": "k"}, {"description": good["description"]})) == 141
    assert error_code(post(openml, {"api_key": "k"}, {**good, "dataset": "@relation x\n@data\n1\n"})) == 142
    assert error_code(post(openml, {"api_key": "k"}, {**good, "description": DESCRIPTION.format(target="z")})) == 142
    assert openml.uploads.records == []


def test_upload_faults(openml):
    openml.uploads.set_fault("error412", code=134, message="Failed to insert record in database")
    good = {"description": DESCRIPTION.format(target="y"), "dataset": ARFF}
    assert error_code(post(openml, {"api_key": "k"}, good)) == 134
    openml.clear_faults()
    assert post(openml, {"api_key": "k"}, good).status_code == 200
