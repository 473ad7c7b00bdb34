"""The writes the ``openml`` client (0.15.1) makes, answered as OpenML's XML API does.

``POST /api/v1/xml/data/edit`` (form ``data_id``, file ``edit_parameters``), ``data/tag`` and
``data/untag`` (form ``data_id``, ``tag``), ``task`` and ``study`` (file ``description``),
all with the form field ``api_key``. Each is checked as OpenML checks it: the key first (102
without one, 103 for a key no user has), then the input; a refusal is HTTP 412 with an
``oml:error`` body. A successful write changes what ``GET data/{id}`` answers (tags, edited
fields), so a test can read its effect back.

``WriteState`` (``StandinOpenML.writes``) holds who is who: ``add_user(api_key, user_id)``,
``set_owner(dataset_id, user_id)``, ``add_task(...)``; every write request is recorded, the
refused ones too, in ``records`` (endpoint, key, form fields, sha256 of each file) for tests to
read. ``set_fault(kind, ...)`` makes the next writes fail (hang, http500, garbage, error412).

Error codes (openml/OpenML pre.php): 102 no key, 103 authentication failed; tags 471 missing
id or tag, 472 entity not found, 473 already tagged, 475 tag not found, 476 tag not owned by
you; tasks 611 no description, 613 invalid description, 614 task already exists (the message
carries the existing id), 618 a required input missing, 622 an input not among the allowed
values (unknown dataset, target or estimation procedure); studies 1031 no description, 1032
invalid description, 1033 a linked entity does not exist, 1038 alias not unique; data edit
1060-1065 (see ``EDIT_*``).
"""

from __future__ import annotations

import hashlib
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .datasets import Catalogue, error_xml, set_element
from .uploads import upload_answer

OML = "{http://openml.org/openml}"
WRITE_PATHS = ("data/edit", "data/tag", "data/untag", "task", "study", "data")  # data: uploads.py
WRITE_FAULT_KINDS = ("hang", "http500", "garbage", "error412")
TAG_PATTERN = re.compile(r"^[a-zA-Z0-9_\-.]{1,64}$")  # OpenML's SystemString64

NO_KEY, AUTH_FAILED = 102, 103
TAG_MISSING, TAG_ENTITY_UNKNOWN, TAG_EXISTS, TAG_NOT_FOUND, TAG_NOT_YOURS = 471, 472, 473, 475, 476
TASK_NO_DESCRIPTION, TASK_INVALID, TASK_EXISTS, TASK_INPUT_MISSING, TASK_INPUT_ILLEGAL = 611, 613, 614, 618, 622
STUDY_NO_DESCRIPTION, STUDY_INVALID, STUDY_UNKNOWN_ENTITY, STUDY_ALIAS_EXISTS = 1031, 1032, 1033, 1038
EDIT_NO_FILE, EDIT_INVALID, EDIT_UNKNOWN_DATASET, EDIT_NO_FIELD, EDIT_NOT_OWNER, EDIT_HAS_TASKS = (
    1060, 1061, 1062, 1063, 1064, 1065)

EDITABLE_FIELDS = ("description", "creator", "contributor", "collection_date", "language", "citation",
                   "original_data_url", "paper_url", "default_target_attribute", "row_id_attribute",
                   "ignore_attribute")
CRITICAL_FIELDS = ("default_target_attribute", "row_id_attribute", "ignore_attribute")
# Estimation procedures OpenML has (ids 1-7 among them: 1 is 10-fold cross-validation).
ESTIMATION_PROCEDURES = frozenset(range(1, 30))
TASK_TYPES_NEEDING_TARGET = frozenset({1, 2, 3})  # classification, regression, learning curve
FIRST_GENERATED_ID = 100_000
FIXTURE_TAGGER = 1  # the user the fixtures' own tags belong to


class Refused(Exception):
    """An OpenML refusal: HTTP 412 with this code and message."""

    def __init__(self, code: int, message: str, additional: str | None = None):
        super().__init__(message)
        self.code, self.message, self.additional = code, message, additional

    def body(self) -> str:
        xml = error_xml(self.code, self.message)
        if self.additional:
            xml = xml.replace("</oml:error>", f"  <oml:additional_information>{escape(self.additional)}"
                                              "</oml:additional_information>\n</oml:error>")
        return xml


@dataclass(frozen=True)
class WriteRecord:
    """One write request as received (refused ones too): ``files`` maps a file field's name to
    the sha256 of its content."""

    endpoint: str
    api_key: str | None
    fields: dict[str, str]
    files: dict[str, str]
    status: int = 0


@dataclass
class WriteFault:
    kind: str
    endpoint: str | None = None  # None: every write endpoint
    seconds: float = 600.0
    code: int = 107
    message: str = "Database connection error. Usually due to high server load."


@dataclass
class WriteState:
    """Who the users are, who owns what, and every write received."""

    users: dict[str, int] = field(default_factory=dict)
    owners: dict[int, int] = field(default_factory=dict)
    tags: dict[int, dict[str, int]] = field(default_factory=dict)  # dataset -> tag -> who tagged it
    tasks: dict[tuple[Any, ...], int] = field(default_factory=dict)  # inputs -> task id
    studies: dict[int, dict[str, Any]] = field(default_factory=dict)
    records: list[WriteRecord] = field(default_factory=list)
    fault: WriteFault | None = None
    runs: set[int] = field(default_factory=lambda: set(range(1, 1000)))
    next_id: int = FIRST_GENERATED_ID
    # (user, name, version_label) -> (id, ARFF bytes) of each accepted upload (uploads.py)
    uploads: dict[tuple[int, str, str | None], tuple[int, bytes]] = field(default_factory=dict)
    originals: dict[int, str] = field(default_factory=dict)  # descriptions before any write
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- what tests set up ---

    def add_user(self, api_key: str, user_id: int) -> None:
        """``api_key`` is a valid key of user ``user_id`` from now on."""
        with self.lock:
            self.users[api_key] = int(user_id)

    def remove_key(self, api_key: str) -> None:
        """``api_key`` is no longer valid (the user regenerated theirs)."""
        with self.lock:
            self.users.pop(api_key, None)

    def set_owner(self, dataset_id: int, user_id: int) -> None:
        """User ``user_id`` uploaded dataset ``dataset_id`` (``<oml:uploader>`` of its description)."""
        with self.lock:
            self.owners[int(dataset_id)] = int(user_id)

    def add_task(self, dataset_id: int, task_type: int = 1, estimation_procedure: int = 1,
                 target: str | None = "class", measure: str | None = None) -> int:
        """A task on the dataset (its critical fields are then locked); returns the task id."""
        with self.lock:
            return self._new_task((int(task_type), int(dataset_id), int(estimation_procedure), target, measure))

    def set_fault(self, kind: str, *, endpoint: str | None = None, seconds: float = 600.0, code: int = 107,
                  message: str = "Database connection error. Usually due to high server load.") -> None:
        """Make write requests (of ``endpoint``, or all) fail: ``hang`` (never answer until the
        server stops or ``seconds``), ``http500`` (an HTML error page), ``garbage`` (200 with a
        body that is not XML) or ``error412`` (an ``oml:error`` with ``code``, ``message``)."""
        if kind not in WRITE_FAULT_KINDS:
            raise ValueError(f"unknown write fault {kind!r}; one of {WRITE_FAULT_KINDS}")
        if endpoint is not None and endpoint not in WRITE_PATHS:
            raise ValueError(f"unknown write endpoint {endpoint!r}; one of {WRITE_PATHS}")
        with self.lock:
            self.fault = WriteFault(kind, endpoint, seconds, code, message)

    def keys_seen(self, endpoint: str | None = None) -> list[str | None]:
        """The API key of each recorded write (of ``endpoint``, or all), in arrival order."""
        with self.lock:
            return [r.api_key for r in self.records if endpoint is None or r.endpoint == endpoint]

    def tags_of(self, dataset_id: int) -> dict[str, int]:
        """The tags written to the dataset through data/tag, each with who tagged it."""
        with self.lock:
            return dict(self.tags.get(int(dataset_id), {}))

    def _new_task(self, inputs: tuple[Any, ...]) -> int:
        self.next_id += 1
        self.tasks[inputs] = self.next_id
        return self.next_id

    def reset(self, catalogue: Catalogue) -> None:
        """Forget users, owners, tasks, studies, records and faults; give the datasets their
        descriptions back."""
        with self.lock:
            for dataset_id, xml in self.originals.items():
                if dataset_id in catalogue.datasets:
                    catalogue.datasets[dataset_id] = replace(catalogue.datasets[dataset_id], description_xml=xml)
            fresh = WriteState()
            for name in ("users", "owners", "tags", "tasks", "studies", "records", "fault", "runs", "next_id",
                         "originals", "uploads"):
                setattr(self, name, getattr(fresh, name))

    def fault_for(self, endpoint: str) -> WriteFault | None:
        with self.lock:
            fault = self.fault
        return fault if fault is not None and fault.endpoint in (None, endpoint) else None

    # --- answering ---

    def answer(self, catalogue: Catalogue, endpoint: str, content_type: str, body: bytes) -> tuple[int, str]:
        """``(status, XML body)`` for one write request; records it."""
        fields, files = parse_form(content_type, body)
        api_key = fields.pop("api_key", None)
        digests = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
        try:
            with self.lock:
                status, xml = 200, self._dispatch(catalogue, endpoint, api_key, fields, files)
        except Refused as refusal:
            status, xml = 412, refusal.body()
        with self.lock:
            self.records.append(WriteRecord(endpoint, api_key, dict(fields), digests, status))
        return status, xml

    def _user(self, api_key: str | None) -> int:
        if not api_key:
            raise Refused(NO_KEY, "No authentication (Please provide API key for all requests other than HTTP GET)")
        if api_key not in self.users:
            raise Refused(AUTH_FAILED, "Authentication failed")
        return self.users[api_key]

    def _dispatch(self, catalogue: Catalogue, endpoint: str, api_key: str | None, fields: dict[str, str],
                  files: dict[str, bytes]) -> str:
        user_id = self._user(api_key)
        if endpoint == "data/tag":
            return self._tag(catalogue, user_id, fields, untag=False)
        if endpoint == "data/untag":
            return self._tag(catalogue, user_id, fields, untag=True)
        if endpoint == "data/edit":
            return self._edit(catalogue, user_id, fields, files)
        if endpoint == "task":
            return self._task(catalogue, files)
        if endpoint == "data":
            return upload_answer(self, Refused, user_id, files)
        return self._study(user_id, files)

    def _dataset_xml(self, catalogue: Catalogue, dataset_id: int) -> str:
        dataset = catalogue.datasets[dataset_id]
        self.originals.setdefault(dataset_id, dataset.description_xml)
        return dataset.description_xml

    def _set_xml(self, catalogue: Catalogue, dataset_id: int, xml: str) -> None:
        catalogue.datasets[dataset_id] = replace(catalogue.datasets[dataset_id], description_xml=xml)

    def _tag(self, catalogue: Catalogue, user_id: int, fields: dict[str, str], untag: bool) -> str:
        tag, raw_id = fields.get("tag", ""), fields.get("data_id", "")
        if not tag or not raw_id.isdigit():
            raise Refused(TAG_MISSING, "Please give entity_id {data_id, flow_id, run_id} and tag.")
        if not TAG_PATTERN.match(tag):
            raise Refused(TAG_MISSING, "Please give entity_id {data_id, flow_id, run_id} and tag.",
                          "tag must match [a-zA-Z0-9_-.] and be at most 64 characters")
        dataset_id = int(raw_id)
        if dataset_id not in catalogue.datasets:
            raise Refused(TAG_ENTITY_UNKNOWN, "Entity not found.")
        xml = self._dataset_xml(catalogue, dataset_id)
        tags = self.tags.setdefault(dataset_id, {})
        existing = {t: FIXTURE_TAGGER for t in re.findall(r"<oml:tag>(.*?)</oml:tag>", xml)} | tags
        if untag:
            if tag not in existing:
                raise Refused(TAG_NOT_FOUND, "Tag not found.")
            if existing[tag] != user_id:
                raise Refused(TAG_NOT_YOURS, "Tag is not owned by you")
            tags.pop(tag, None)
            self._set_xml(catalogue, dataset_id, xml.replace(f"<oml:tag>{escape(tag)}</oml:tag>", "", 1))
        else:
            if tag.casefold() in {t.casefold() for t in existing}:
                raise Refused(TAG_EXISTS, "Entity already tagged by this tag.", f"id={dataset_id}; tag={tag}")
            tags[tag] = user_id
            anchor = "<oml:visibility>"
            element = f"<oml:tag>{escape(tag)}</oml:tag>"
            xml = xml.replace(anchor, element + "  " + anchor, 1) if anchor in xml else set_element(xml, "tag", tag)
            self._set_xml(catalogue, dataset_id, xml)
        remaining = [t for t in existing if t != tag] if untag else [*existing, tag]
        root = "data_untag" if untag else "data_tag"
        tag_xml = "".join(f"<oml:tag>{escape(t)}</oml:tag>" for t in remaining)
        return f'<oml:{root} xmlns:oml="http://openml.org/openml"><oml:id>{dataset_id}</oml:id>{tag_xml}</oml:{root}>'

    def _edit(self, catalogue: Catalogue, user_id: int, fields: dict[str, str], files: dict[str, bytes]) -> str:
        raw_id = fields.get("data_id", "")
        if "edit_parameters" not in files:
            raise Refused(EDIT_NO_FILE, "Please provide the edit parameters file")
        try:
            root = ET.fromstring(files["edit_parameters"])
        except ET.ParseError:
            raise Refused(EDIT_INVALID, "Problem validating uploaded description file") from None
        if root.tag != OML + "data_edit_parameters":
            raise Refused(EDIT_INVALID, "Problem validating uploaded description file")
        changes: dict[str, str] = {}
        for element in root:
            name = element.tag.removeprefix(OML)
            if name not in EDITABLE_FIELDS:
                raise Refused(EDIT_INVALID, "Problem validating uploaded description file", f"unknown field {name}")
            changes[name] = element.text or ""
        if not raw_id.isdigit() or int(raw_id) not in catalogue.datasets:
            raise Refused(EDIT_UNKNOWN_DATASET, "Unknown dataset")
        dataset_id = int(raw_id)
        if not changes:
            raise Refused(EDIT_NO_FIELD, "Please provide atleast one field among " + ", ".join(EDITABLE_FIELDS)
                          + " to edit.")
        critical = [name for name in changes if name in CRITICAL_FIELDS]
        if critical and self.owners.get(dataset_id) != user_id:
            raise Refused(EDIT_NOT_OWNER, "Critical features default_target_attribute, row_id_attribute and "
                          "ignore_attribute can only be edited by the owner. Fork the dataset if changes are required.")
        if critical and any(inputs[1] == dataset_id for inputs in self.tasks):
            raise Refused(EDIT_HAS_TASKS, "Critical features default_target_attribute, row_id_attribute and "
                          "ignore_attribute can only be edited for datasets without any tasks.")
        xml = self._dataset_xml(catalogue, dataset_id)
        for name, value in changes.items():
            xml = set_element(xml, name, escape(value))
        self._set_xml(catalogue, dataset_id, xml)
        return f'<oml:data_edit xmlns:oml="http://openml.org/openml"><oml:id>{dataset_id}</oml:id></oml:data_edit>'

    def _task(self, catalogue: Catalogue, files: dict[str, bytes]) -> str:
        if "description" not in files:
            raise Refused(TASK_NO_DESCRIPTION, "Description file not present")
        try:
            root = ET.fromstring(files["description"])
            task_type = int(root.findtext(OML + "task_type_id") or "")
        except (ET.ParseError, ValueError):
            raise Refused(TASK_INVALID, "Problem validating uploaded description file") from None
        inputs = {element.get("name"): (element.text or "") for element in root.findall(OML + "input")}
        required = ["source_data", "estimation_procedure"]
        if task_type in TASK_TYPES_NEEDING_TARGET:
            required.append("target_feature")
        missing = [name for name in required if not inputs.get(name)]
        if missing:
            raise Refused(TASK_INPUT_MISSING, "Task does not contain all required inputs.", ", ".join(missing))
        dataset_id = int(inputs["source_data"]) if inputs["source_data"].isdigit() else -1
        if task_type not in (1, 2, 3, 4, 5, 6, 7):
            raise Refused(TASK_INPUT_ILLEGAL, "Input value does not match allowed values in foreign column.",
                          "task_type_id")
        if dataset_id not in catalogue.datasets:
            raise Refused(TASK_INPUT_ILLEGAL, "Input value does not match allowed values in foreign column.",
                          "source_data")
        procedure = inputs["estimation_procedure"]
        if not procedure.isdigit() or int(procedure) not in ESTIMATION_PROCEDURES:
            raise Refused(TASK_INPUT_ILLEGAL, "Input value does not match allowed values in foreign column.",
                          "estimation_procedure")
        target = inputs.get("target_feature")
        if target and target not in _feature_names(catalogue, dataset_id):
            raise Refused(TASK_INPUT_ILLEGAL, "Input value does not match allowed values in foreign column.",
                          "target_feature")
        key = (task_type, dataset_id, int(procedure), target or None, inputs.get("evaluation_measures") or None)
        if key in self.tasks:
            raise Refused(TASK_EXISTS, "Task already exists.", f"matched id(s): [{self.tasks[key]}]")
        task_id = self._new_task(key)
        return f'<oml:upload_task xmlns:oml="http://openml.org/openml"><oml:id>{task_id}</oml:id></oml:upload_task>'

    def _study(self, user_id: int, files: dict[str, bytes]) -> str:
        if "description" not in files:
            raise Refused(STUDY_NO_DESCRIPTION, "Description file not present")
        try:
            root = ET.fromstring(files["description"])
        except ET.ParseError:
            raise Refused(STUDY_INVALID, "Problem validating xml") from None
        kind = root.findtext(OML + "main_entity_type")
        name, description = root.findtext(OML + "name"), root.findtext(OML + "description")
        if root.tag != OML + "study" or kind not in ("task", "run") or not name or not description:
            raise Refused(STUDY_INVALID, "Problem validating xml")
        ids = [int(e.text or 0) for e in root.iter(OML + f"{kind}_id")]
        known = {task_id for task_id in self.tasks.values()} if kind == "task" else self.runs
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise Refused(STUDY_UNKNOWN_ENTITY, "Linked entities do not exist.", f"{kind} ids {unknown}")
        alias = root.findtext(OML + "alias")
        if alias and any(study.get("alias") == alias for study in self.studies.values()):
            raise Refused(STUDY_ALIAS_EXISTS, "Study alias is not unique.")
        self.next_id += 1
        self.studies[self.next_id] = {"kind": kind, "name": name, "alias": alias, "ids": ids, "creator": user_id}
        return (f'<oml:study_upload xmlns:oml="http://openml.org/openml"><oml:id>{self.next_id}</oml:id>'
                "</oml:study_upload>")


def _feature_names(catalogue: Catalogue, dataset_id: int) -> set[str]:
    features = catalogue.datasets[dataset_id].features_xml or ""
    return set(re.findall(r"<oml:name>(.*?)</oml:name>", features))


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """The fields and files of a urlencoded or multipart/form-data POST body."""
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        fields: dict[str, str] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[str(name)] = payload
            else:
                fields[str(name)] = payload.decode("utf-8")
        return fields, files
    parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}, {}
