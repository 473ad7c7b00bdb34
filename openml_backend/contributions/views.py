"""HTTP endpoints of the contributions feature: the editor's view of a dataset, edits, tags,
new tasks and new studies, each written to OpenML with the logged-in user's own API key.

Views parse, authenticate, throttle (CONTRIBUTIONS_MAX_PER_HOUR writes per user and hour) and
shape answers; the OpenML call is ``openml_calls.run_as_user``.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app
from flask_jwt_extended import current_user, jwt_required

from ..accounts import throttle
from ..contract import Header, Parameter, Reply, operation, problem
from ..contract.operations import RETRY_AFTER, WWW_AUTHENTICATE
from ..database import outside_database
from ..errors import BadRequest, Conflict
from ..jsonio import json_response, parse_body
from ..openml_client.settings import OpenMLSettings
from .descriptions import read_description
from .openml_calls import run_as_user
from .schemas import (
    CRITICAL_FIELDS,
    MAX_ID,
    NON_CRITICAL_FIELDS,
    TAG_MAX_LENGTH,
    TAG_PATTERN,
    Created,
    DatasetEdit,
    DatasetMetadata,
    DatasetTags,
    StudyRequest,
    TagRequest,
    TaskRequest,
)

blueprint = Blueprint("contributions", __name__, url_prefix="/api/v1")
TAGS = ["contributions"]
SETTINGS_KEY = "openml_backend.contributions.openml"
THROTTLE_SCOPE = "contributions"
WINDOW_SECONDS = 3600

DATASET_ID = Parameter("dataset_id", "path", "The OpenML dataset id.",
                       {"type": "integer", "minimum": 1, "maximum": MAX_ID}, example=61)
TAG = Parameter("tag", "path", "The tag (OpenML's rule: letters, digits, `_`, `-`, `.`; at most 64).",
                {"type": "string", "pattern": TAG_PATTERN, "minLength": 1, "maxLength": TAG_MAX_LENGTH},
                example="my_tag")

BAD_ID = problem(400, "The dataset id is not a positive 32-bit integer.", "invalid_dataset_id")
KEY_REFUSED = problem(401, "OpenML refused the user's API key (it may have been regenerated): log in again.",
                      "openml_key_invalid")
THROTTLED = problem(429, "More than CONTRIBUTIONS_MAX_PER_HOUR writes by this user this hour.",
                    "too_many_attempts", headers=(RETRY_AFTER,))
UNAVAILABLE = problem(503, "OpenML did not answer within OPENML_TIMEOUT, or the database is unavailable.",
                      "openml_unavailable", "database_unavailable", headers=(RETRY_AFTER,))
BAD_GATEWAY = problem(502, "OpenML answered with an error page, something unreadable, or an error code "
                           "this service does not know (`openml_error`, with `openml_code`).",
                      "openml_bad_gateway", "openml_error")
OPENML_FORBIDDEN = problem(403, "OpenML refused: not the owner (`openml_forbidden`), a read-only account, or "
                                "a dataset not shared with you. `openml_code` and `openml_message` are OpenML's.",
                           "openml_forbidden", "openml_read_only_account", "dataset_forbidden")
OPENML_NOT_FOUND = problem(404, "OpenML has no such dataset (or tag).", "openml_not_found", "dataset_not_found")
OPENML_REFUSED_INPUT = problem(400, "OpenML refused the input (`openml_refused`, with `openml_code` and "
                                    "`openml_message`).", "openml_refused")
LOCATION = Header("Location", "The new object's page on OpenML.")


def openml_settings() -> OpenMLSettings:
    """Where OpenML is and how long a call may take (OPENML_TIMEOUT)."""
    return current_app.extensions[SETTINGS_KEY]


def parse_dataset_id(text: str) -> int:
    """The dataset id in the path, or 400: a positive integer that fits in 32 bits."""
    if not text.isascii() or not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        raise BadRequest("The dataset id must be a positive integer.", code="invalid_dataset_id")
    return int(text)


def _count_write() -> None:
    throttle.count_attempt(THROTTLE_SCOPE, str(current_user.id), current_app.config["CONTRIBUTIONS_MAX_PER_HOUR"],
                           WINDOW_SECONDS)


def _write(operation_name: str, **arguments: Any) -> Any:
    _count_write()
    api_key = current_user.api_key or ""
    # The wait for OpenML is not the database's: waiters for a database slot must not take it
    # for a stalled database (database.py).
    with outside_database():
        return run_as_user(api_key, operation_name, arguments, openml_settings())


def _web_url(kind: str, identifier: int) -> str:
    base = openml_settings().server_url.split("/api/", 1)[0].rstrip("/")
    return f"{base}/{kind}/{identifier}"


def _metadata(dataset_id: int) -> dict[str, Any]:
    user = current_user if _logged_in() else None
    api_key = user.api_key if user is not None else None
    with outside_database():
        fields = read_description(dataset_id, openml_settings(), api_key)
    editable: list[str] = []
    if user is not None:
        editable = list(NON_CRITICAL_FIELDS)
        if fields["uploader"] is not None and fields["uploader"] == user.id:
            editable += CRITICAL_FIELDS
    return DatasetMetadata(**fields, editable_by_you=editable).model_dump(mode="json")


def _logged_in() -> bool:
    from flask_jwt_extended import get_current_user

    try:
        return get_current_user() is not None
    except RuntimeError:
        return False


@blueprint.get("/datasets/<dataset_id>")
@operation("A dataset's metadata for the editor, and which fields you may change", tags=TAGS,
           parameters=[DATASET_ID],
           replies=[Reply(200, "The metadata.", DatasetMetadata), BAD_ID,
                    problem(401, "A bearer token was sent but is malformed, expired, revoked or of the wrong "
                                 "kind (none is needed for a public dataset).",
                            "missing_token", "invalid_token", "token_expired", "token_revoked", "wrong_token_type",
                            headers=(WWW_AUTHENTICATE,)),
                    problem(403, "The dataset is not shared with you.", "dataset_forbidden"),
                    problem(404, "OpenML has no such dataset.", "dataset_not_found"),
                    BAD_GATEWAY, UNAVAILABLE])
@jwt_required(optional=True)
def get_dataset(dataset_id: str) -> Response:
    """No token is needed for a public dataset; with one, `editable_by_you` lists the fields
    PATCH may change (the critical ones only for the uploader; OpenML still refuses them with
    409 once a task uses the dataset), and the user's key lets OpenML show their private datasets."""
    return json_response(_metadata(parse_dataset_id(dataset_id)))


@blueprint.patch("/datasets/<dataset_id>")
@operation("Edit a dataset's metadata on OpenML (openml.datasets.edit_dataset, your API key)", tags=TAGS,
           security="access", body=DatasetEdit, parameters=[DATASET_ID],
           replies=[Reply(200, "Edited; the metadata as OpenML now describes it.", DatasetMetadata), BAD_ID,
                    KEY_REFUSED, OPENML_REFUSED_INPUT,
                    problem(403, "OpenML refused: only the uploader may change default_target_attribute, "
                                 "row_id_attribute and ignore_attribute (`openml_forbidden`).",
                            "openml_forbidden", "openml_read_only_account", "dataset_forbidden"),
                    OPENML_NOT_FOUND,
                    problem(409, "OpenML refused a critical field because tasks use the dataset.",
                            "critical_field_locked"),
                    THROTTLED, BAD_GATEWAY, UNAVAILABLE])
@jwt_required()
def edit_dataset(dataset_id: str) -> Response:
    """Only the fields given change. The data do not, so the dataset's statistics stay valid."""
    identifier = parse_dataset_id(dataset_id)
    body = parse_body(DatasetEdit)
    _write("edit", data_id=identifier, fields=body.changes())
    return json_response(_metadata(identifier))


@blueprint.post("/datasets/<dataset_id>/tags")
@operation("Tag a dataset on OpenML (data/tag, your API key)", tags=TAGS, security="access", body=TagRequest,
           parameters=[DATASET_ID],
           replies=[Reply(201, "Tagged; the dataset's tags now.", DatasetTags, headers=(LOCATION,)), BAD_ID,
                    KEY_REFUSED, OPENML_REFUSED_INPUT, OPENML_FORBIDDEN, OPENML_NOT_FOUND,
                    problem(409, "The dataset already has this tag (OpenML code 473).", "tag_exists"),
                    THROTTLED, BAD_GATEWAY, UNAVAILABLE])
@jwt_required()
def tag_dataset(dataset_id: str) -> Response:
    """Adds the tag with the user's key (OpenML records who tagged it)."""
    identifier = parse_dataset_id(dataset_id)
    body = parse_body(TagRequest)
    tags = _write("tag", data_id=identifier, tag=body.tag)
    response = json_response({"dataset_id": identifier, "tags": tags}, status=201)
    response.headers["Location"] = f"/api/v1/datasets/{identifier}/tags/{body.tag}"
    return response


@blueprint.delete("/datasets/<dataset_id>/tags/<tag>")
@operation("Remove a tag you added to a dataset (data/untag, your API key)", tags=TAGS, security="access",
           parameters=[DATASET_ID, TAG],
           replies=[Reply(200, "Untagged; the dataset's remaining tags.", DatasetTags),
                    problem(400, "The dataset id or the tag is invalid.", "invalid_dataset_id", "invalid_tag",
                            "openml_refused"),
                    KEY_REFUSED,
                    problem(403, "The tag was added by someone else (OpenML code 476).", "openml_forbidden",
                            "openml_read_only_account", "dataset_forbidden"),
                    problem(404, "The dataset does not have this tag, or does not exist.", "openml_not_found",
                            "dataset_not_found"),
                    THROTTLED, BAD_GATEWAY, UNAVAILABLE])
@jwt_required()
def untag_dataset(dataset_id: str, tag: str) -> Response:
    """OpenML lets only the user who added a tag remove it."""
    identifier = parse_dataset_id(dataset_id)
    if len(tag) > TAG_MAX_LENGTH or not re.fullmatch(TAG_PATTERN, tag):
        raise BadRequest("A tag is 1 to 64 letters, digits, '_', '-' or '.'.", code="invalid_tag")
    tags = _write("untag", data_id=identifier, tag=tag)
    return json_response({"dataset_id": identifier, "tags": tags})


EXISTING_TASK = re.compile(r"matched id\(s\):\s*\[?\s*(\d+)")


@blueprint.post("/tasks")
@operation("Create a task on OpenML (openml.tasks.create_task(...).publish(), your API key)", tags=TAGS,
           security="access", body=TaskRequest,
           replies=[Reply(201, "Created.", Created, headers=(LOCATION,)), KEY_REFUSED,
                    problem(400, "OpenML refused an input: an unknown dataset, target or estimation procedure "
                                 "(`openml_refused`, with `openml_code`).", "openml_refused"),
                    OPENML_FORBIDDEN,
                    problem(409, "The same task exists; `existing_id` is its id (OpenML code 614).", "task_exists"),
                    THROTTLED, BAD_GATEWAY, UNAVAILABLE])
@jwt_required()
def create_task() -> Response:
    """The task type is OpenML's id: 1 supervised classification, 2 supervised regression,
    3 learning curve."""
    body = parse_body(TaskRequest)
    try:
        task_id = _write("create_task", task_type=body.task_type, dataset_id=body.dataset_id,
                         estimation_procedure_id=body.estimation_procedure_id, target_name=body.target,
                         evaluation_measure=body.evaluation_measure)
    except Conflict as conflict:
        match = EXISTING_TASK.search(str(conflict.extra.get("openml_message", "")))
        if match:
            conflict.extra["existing_id"] = int(match.group(1))
            conflict.message = f"The same task exists: {match.group(1)}."
        raise
    return _created("t", int(task_id))


@blueprint.post("/studies")
@operation("Create a study of runs or a benchmark suite of tasks on OpenML (your API key)", tags=TAGS,
           security="access", body=StudyRequest,
           replies=[Reply(201, "Created.", Created, headers=(LOCATION,)), KEY_REFUSED,
                    problem(400, "OpenML refused the study: unknown runs or tasks, or an invalid description "
                                 "(`openml_refused`, with `openml_code`).", "openml_refused"),
                    OPENML_FORBIDDEN,
                    problem(409, "The alias belongs to another study.", "study_alias_exists"),
                    THROTTLED, BAD_GATEWAY, UNAVAILABLE])
@jwt_required()
def create_study() -> Response:
    """`run_ids` make a study (openml.study.create_study), `task_ids` a benchmark suite
    (create_benchmark_suite); either is published with the user's key."""
    body = parse_body(StudyRequest)
    study_id = _write("create_study", name=body.name, description=body.description, run_ids=body.run_ids,
                      task_ids=body.task_ids, alias=body.alias)
    return _created("s", int(study_id))


def _created(kind: str, identifier: int) -> Response:
    url = _web_url(kind, identifier)
    response = json_response(Created(id=identifier, url=url).model_dump(mode="json"), status=201)
    response.headers["Location"] = url
    return response


def init_app(app: Flask) -> None:
    """Mount the blueprint with the OpenML settings the calls use."""
    config = app.config
    app.extensions[SETTINGS_KEY] = OpenMLSettings(
        server_url=config["OPENML_SERVER_URL"],
        cache_dir=config["OPENML_CACHE_DIR"],
        timeout=config["OPENML_TIMEOUT"],
        retries=1,  # a write is never repeated (a lost answer could mean it was done)
    )
    app.register_blueprint(blueprint)
