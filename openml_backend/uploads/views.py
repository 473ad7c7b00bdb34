"""POST /api/v1/datasets: upload a new dataset to OpenML as the logged-in user.

The body is streamed to a directory of its own under UPLOAD_TMP_DIR, at most UPLOAD_MAX_MB
for the file (413 from the declared Content-Length before a byte is read, or while counting
for a body that declares none or lies), checked with bounded memory, then published by the
`openml` client in a child process with the user's own API key, within OPENML_TIMEOUT. The
directory is removed however the request ends.

Not behind the database gate (DATABASE_BLUEPRINTS): an upload holds its request for the
body's arrival and OpenML's answer, far longer than a slot should be kept from logins; its
own database use (the token's user, the throttle) is two short queries.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask_jwt_extended import current_user, jwt_required
from werkzeug.formparser import FormDataParser

from ..accounts.throttle import count_attempt
from ..contract import Reply, operation, problem
from ..contract.operations import RETRY_AFTER, Header
from ..contributions.openml_calls import run_as_user
from ..errors import ApiError, BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType
from ..jsonio import json_response
from ..openml_client.settings import OpenMLSettings
from . import checks, formats
from .metadata import parse_metadata
from .problems import FileLimitExceeded, InvalidFile, InvalidMetadata, UnsupportedFormat, UploadProblem, UploadTooLarge
from .receive import LimitedFile, UploadDirectory, check_declared_length
from .schemas import DatasetUploadForm, UploadedDataset

blueprint = Blueprint("uploads", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

MIB = 1024 * 1024
MULTIPART = "multipart/form-data"
METADATA_MAX_BYTES = 256 * 1024
FORM_OVERHEAD_BYTES = METADATA_MAX_BYTES + 64 * 1024  # the metadata part, boundaries, part headers
MAX_FORM_PARTS = 8
THROTTLE_SCOPE = "upload"
# OpenML's data-upload refusals (pre.php) that the checks here should have caught: the
# message says what OpenML found.
OPENML_DATA_REFUSALS = {130, 131, 141, 142, 143}
OPENML_NAME_TAKEN = 139

_STATUS = {UploadTooLarge: PayloadTooLarge, UnsupportedFormat: UnsupportedMediaType}


def _problem_for(error: UploadProblem) -> ApiError:
    error_class = _STATUS.get(type(error), BadRequest)
    code = "payload_too_large" if isinstance(error, UploadTooLarge) else error.code
    return error_class(error.message, code=code, **error.details())


def _limits() -> tuple[int, int]:
    file_limit = int(current_app.config["UPLOAD_MAX_MB"] * MIB)
    return file_limit, file_limit + FORM_OVERHEAD_BYTES


def _receive_form(directory: UploadDirectory, file_limit: int, body_limit: int) -> tuple[Path, str | None]:
    """Parse the multipart body, file parts straight to `directory`; return the path of the
    `file` part and the text of the `metadata` part."""
    parts: list[LimitedFile] = []

    def to_disk(*_args: Any, **_kwargs: Any) -> LimitedFile:
        part = LimitedFile(directory.path / f"part-{len(parts)}", file_limit)
        parts.append(part)
        return part

    parser = FormDataParser(to_disk, max_form_memory_size=METADATA_MAX_BYTES, max_content_length=body_limit,
                            max_form_parts=MAX_FORM_PARTS)
    try:
        _stream, form, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                            request.mimetype_params)
    finally:
        for part in parts:
            part.close()
    upload = files.get("file")
    if upload is None:
        raise InvalidFile("The form field 'file' (the data file) is required.")
    metadata = form.get("metadata")
    if metadata is None and "metadata" in files:  # sent as a file part: read it, bounded
        with open(files["metadata"].stream.path, "rb") as part:
            raw = part.read(METADATA_MAX_BYTES + 1)
        if len(raw) > METADATA_MAX_BYTES:
            raise InvalidMetadata(f"The metadata is larger than {METADATA_MAX_BYTES} bytes.")
        metadata = raw.decode("utf-8", errors="replace")
    return upload.stream.path, metadata


def _openml_settings() -> OpenMLSettings:
    config = current_app.config
    return OpenMLSettings(server_url=config["OPENML_SERVER_URL"], cache_dir=config["OPENML_CACHE_DIR"],
                          timeout=config["OPENML_TIMEOUT"])


def _publish(path: Path, file_format: str, metadata: dict[str, Any]) -> int:
    arguments = {"path": str(path), "file_format": file_format, "metadata": metadata}
    try:
        result = run_as_user(current_user.api_key or "", "upload_dataset", arguments, _openml_settings())
    except ApiError as error:
        openml_code = error.extra.get("openml_code")
        if openml_code in OPENML_DATA_REFUSALS:
            raise BadRequest(f"OpenML refused the dataset: {error.extra.get('openml_message')}",
                             code="openml_refused", **error.extra) from None
        if openml_code == OPENML_NAME_TAKEN:
            raise Conflict("A dataset of this name and version exists.", code="dataset_exists",
                           **error.extra) from None
        raise
    if "invalid" in result:
        raise BadRequest(result["invalid"], code="invalid_file")
    return int(result["id"])


TOO_LARGE = problem(413, "The file is over UPLOAD_MAX_MB (refused from Content-Length before reading, or "
                         "while streaming).", "payload_too_large")
BAD_UPLOAD = problem(400, "The form, the metadata or the file is invalid; `line` or `column` say where.",
                     "invalid_file", "file_limit_exceeded", "invalid_metadata", "openml_refused")
LOCATION = Header("Location", "The new dataset's page on the website.")


@blueprint.post("/datasets")
@operation("Upload a new dataset (CSV, ARFF or Parquet) to OpenML as the logged-in user", tags=["datasets"],
           security="access", body=DatasetUploadForm, body_media_type=MULTIPART, replies=[
               Reply(201, "Published on OpenML.", UploadedDataset, headers=(LOCATION,)),
               BAD_UPLOAD, TOO_LARGE,
               problem(401, "OpenML refused the account's API key; log in again.", "openml_key_invalid"),
               problem(403, "OpenML refused the write for this account.", "openml_read_only_account",
                       "openml_forbidden"),
               problem(409, "OpenML has a dataset of this name and version.", "dataset_exists"),
               problem(415, "The body is not multipart/form-data, or the file is not CSV, ARFF or Parquet.",
                       "unsupported_media_type", "unsupported_format"),
               problem(429, "Too many uploads from this account this hour.", "too_many_attempts",
                       headers=(RETRY_AFTER,)),
               problem(502, "OpenML answered with an error or something unusable.", "openml_bad_gateway",
                       "openml_error"),
               problem(503, "OpenML did not answer within OPENML_TIMEOUT, or the database is unavailable.",
                       "openml_unavailable", "database_unavailable", headers=(RETRY_AFTER,)),
           ])
@jwt_required()
def upload_dataset() -> Response:
    """`file` is the data, `metadata` a JSON object describing it; the attribute names it gives
    (default_target_attribute, row_id_attribute, ignore_attribute) must be columns of the file."""
    file_limit, body_limit = _limits()
    request.max_content_length = body_limit  # this route's own limit, instead of MAX_CONTENT_LENGTH
    try:
        check_declared_length(request.content_length, body_limit)
        if request.mimetype != MULTIPART:
            raise UnsupportedMediaType("The body must be multipart/form-data with parts 'file' and 'metadata'.")
        count_attempt(THROTTLE_SCOPE, str(current_user.id), current_app.config["UPLOAD_MAX_PER_HOUR"], 3600)
        with UploadDirectory(current_app.config["UPLOAD_TMP_DIR"]) as directory:
            path, metadata_text = _receive_form(directory, file_limit, body_limit)
            metadata = parse_metadata(metadata_text)
            file_format = formats.sniff(path)
            inspection = checks.inspect(path, file_format)
            checks.require_columns(metadata.column_fields(), inspection.columns)
            dataset_id = _publish(path, file_format, metadata.model_dump())
    except UploadProblem as error:
        raise _problem_for(error) from None
    url = f"{current_app.config['EMAIL_SERVER']}/d/{dataset_id}"
    log.info("dataset uploaded", extra={"dataset_id": dataset_id, "format": file_format, "rows": inspection.rows})
    response = json_response({"id": dataset_id, "url": url}, status=201)
    response.headers["Location"] = url
    return response


def init_app(app: Flask) -> None:
    """Mount the upload endpoint."""
    app.register_blueprint(blueprint)
