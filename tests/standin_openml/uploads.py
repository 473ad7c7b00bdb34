"""``POST /api/v1/xml/data``: a dataset upload, checked as OpenML checks it (a write of
``writes.WriteState``: the key first, 102/103; then recorded with the others).

The ``openml`` client (``OpenMLDataset.publish``) posts ``multipart/form-data`` to ``data/``
with the form field ``api_key`` and two file parts: ``description`` (the
``oml:data_set_description`` XML) and ``dataset`` (the ARFF text). OpenML answers
``<oml:upload_data_set><oml:id>N</oml:id></oml:upload_data_set>``, or HTTP 412 with a code
of its data-upload list (openml/OpenML pre.php):

* 135 no description; 131 a description that is not well-formed, not an
  ``oml:data_set_description``, or without ``oml:name``;
* 141 no dataset file; 142 an ARFF that does not parse, or a ``default_target_attribute``
  that is not one of its attributes;
* 139 a name the same user already uploaded with the same ``version_label``.

The record's ``files["dataset"]`` is the sha256 of the file exactly as received;
``WriteState.uploads`` keeps what was accepted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import arff

OML_NAMESPACE = "http://openml.org/openml"
DESCRIPTION_INVALID, NAME_TAKEN, NO_DESCRIPTION, NO_FILE, ARFF_INVALID = 131, 139, 135, 141, 142
ARFF_MESSAGE = "Error in processing arff file. Can be a syntax error, or the specified target feature does not exists"


def upload_answer(state: Any, refused: type[Exception], user_id: int, files: dict[str, bytes]) -> str:
    """Check one upload of user ``user_id`` and answer OpenML's XML with a new id from
    ``state.next_id``; raise ``refused(code, message)`` as OpenML would."""
    if "description" not in files:
        raise refused(NO_DESCRIPTION, "Please provide description xml")
    description = parse_description(files["description"], refused)
    if "dataset" not in files:
        raise refused(NO_FILE, "Neither dataset file or dataset url are provided")
    dataset = files["dataset"]
    check_arff(dataset, description.get("default_target_attribute"), refused)
    key = (user_id, description["name"], description.get("version_label"))
    if key in state.uploads:
        raise refused(NAME_TAKEN, "Combination name / version already exists")
    state.next_id += 1
    state.uploads[key] = (state.next_id, dataset)
    return (f'<oml:upload_data_set xmlns:oml="{OML_NAMESPACE}">\n'
            f"  <oml:id>{state.next_id}</oml:id>\n</oml:upload_data_set>\n")


def parse_description(xml: bytes, refused: type[Exception]) -> dict[str, str]:
    """The description's child elements by local name (the first of each)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise refused(DESCRIPTION_INVALID, "Problem validating uploaded description file") from None
    if root.tag != f"{{{OML_NAMESPACE}}}data_set_description":
        raise refused(DESCRIPTION_INVALID, "Problem validating uploaded description file")
    fields: dict[str, str] = {}
    for child in root:
        fields.setdefault(child.tag.rsplit("}", 1)[-1], child.text or "")
    if not fields.get("name", "").strip():
        raise refused(DESCRIPTION_INVALID, "Problem validating uploaded description file")
    return fields


def check_arff(dataset: bytes, default_target: str | None, refused: type[Exception]) -> None:
    """The dataset must be ARFF with the default target(s) among its attributes."""
    try:
        decoded = arff.loads(dataset.decode("utf-8"))
    except (UnicodeDecodeError, arff.ArffException):
        raise refused(ARFF_INVALID, ARFF_MESSAGE) from None
    names = {name for name, _type in decoded["attributes"]}
    for target in (default_target or "").split(","):
        if target.strip() and target.strip() not in names:
            raise refused(ARFF_INVALID, ARFF_MESSAGE)
