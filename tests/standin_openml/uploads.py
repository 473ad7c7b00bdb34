"""``POST /api/v1/xml/data``: a dataset upload, validated as OpenML validates it.

The ``openml`` client (``OpenMLDataset.publish``) posts ``multipart/form-data`` with a form
field ``api_key`` and two file parts: ``description`` (the ``oml:data_set_description`` XML)
and ``dataset`` (the ARFF text). OpenML answers ``<oml:upload_data_set><oml:id>N</oml:id>``,
or HTTP 412 with an ``oml:error`` code from its data-upload list:

* 137 no API key; 138 a key in ``StandinUploads.refused_keys``;
* 135 no description; 131 a description that is not well-formed or lacks ``oml:name``
  (or has a different root element);
* 141 no dataset file; 142 an ARFF that does not parse, or a
  ``default_target_attribute`` that is not one of its attributes.

Each accepted upload is recorded as an ``UploadRecord`` (the key, the description's fields,
and the sha256 and size of the dataset file exactly as received).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

import arff

from .datasets import FAULT_KINDS, Fault, error_xml

OML_NAMESPACE = "http://openml.org/openml"
FIRST_UPLOAD_ID = 50_001  # above every id the catalogue serves


@dataclass(frozen=True)
class UploadRecord:
    """One accepted ``POST data``."""

    dataset_id: int
    api_key: str
    description: dict[str, str]  # oml:name -> "name", ... (first value of each element)
    file_sha256: str
    file_size: int
    dataset: bytes


@dataclass(frozen=True)
class Refusal(Exception):
    """OpenML's answer to a refused upload: HTTP 412 with this code and message."""

    code: int
    message: str

    def body(self) -> bytes:
        return error_xml(self.code, self.message).encode("utf-8")


class StandinUploads:
    """The uploads the stand-in received and the fault it injects into them."""

    def __init__(self) -> None:
        self.records: list[UploadRecord] = []
        self.refused_keys: set[str] = set()
        self.fault: Fault | None = None
        self._ids = itertools.count(FIRST_UPLOAD_ID)
        self._lock = threading.Lock()

    def set_fault(self, kind: str, *, seconds: float = 600.0, code: int = 134,
                  message: str = "Failed to insert record in database") -> None:
        """Fault every upload from now on (``datasets.Fault`` kinds) until ``clear``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        self.fault = Fault(kind, seconds=seconds, code=code, message=message)

    def clear(self) -> None:
        """Forget the records, refused keys and fault."""
        with self._lock:
            self.records.clear()
        self.refused_keys.clear()
        self.fault = None

    def accept(self, content_type: str, body: bytes) -> str:
        """Validate one upload request; record it and return the answer XML, or raise Refusal."""
        fields = parse_multipart(content_type, body)
        api_key = fields.get("api_key", b"").decode("utf-8", "replace")
        if not api_key:
            raise Refusal(137, "Please provide API key")
        if api_key in self.refused_keys:
            raise Refusal(138, "Authentication failed")
        if "description" not in fields:
            raise Refusal(135, "Please provide description xml")
        description = parse_description(fields["description"])
        if "dataset" not in fields:
            raise Refusal(141, "Neither dataset file or dataset url are provided")
        dataset = fields["dataset"]
        check_arff(dataset, description.get("default_target_attribute"))
        with self._lock:
            dataset_id = next(self._ids)
            self.records.append(UploadRecord(dataset_id, api_key, description, hashlib.sha256(dataset).hexdigest(),
                                             len(dataset), dataset))
        return (f'<oml:upload_data_set xmlns:oml="{OML_NAMESPACE}">\n'
                f"  <oml:id>{dataset_id}</oml:id>\n</oml:upload_data_set>\n")


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The parts of a ``multipart/form-data`` body by field name (the last of a repeated name)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise Refusal(130, "Problem with file uploading")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise Refusal(130, "Problem with file uploading")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = part.get_payload(decode=True) or b""
    return fields


def parse_description(xml: bytes) -> dict[str, str]:
    """The description's child elements by local name; Refusal 131 unless it is a well-formed
    ``oml:data_set_description`` with a non-empty ``oml:name``."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        raise Refusal(131, "Problem validating uploaded description file") from None
    if root.tag != f"{{{OML_NAMESPACE}}}data_set_description":
        raise Refusal(131, "Problem validating uploaded description file")
    fields: dict[str, str] = {}
    for child in root:
        name = child.tag.rsplit("}", 1)[-1]
        fields.setdefault(name, child.text or "")
    if not fields.get("name", "").strip():
        raise Refusal(131, "Problem validating uploaded description file")
    return fields


def check_arff(dataset: bytes, default_target: str | None) -> None:
    """Refusal 142 unless `dataset` is ARFF with the default target(s) among its attributes."""
    try:
        decoded = arff.loads(dataset.decode("utf-8"))
    except (UnicodeDecodeError, arff.ArffException):
        raise Refusal(142, "Error in processing arff file. Can be a syntax error, or the specified "
                           "target feature does not exists") from None
    names = {name for name, _type in decoded["attributes"]}
    for target in (default_target or "").split(","):
        if target.strip() and target.strip() not in names:
            raise Refusal(142, "Error in processing arff file. Can be a syntax error, or the specified "
                               "target feature does not exists")
