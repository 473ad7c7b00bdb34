"""HTTP endpoints of profile pictures: upload and delete one's own (access token), and serve
anyone's (no token, cacheable).

Two blueprints because their caching differs: `avatars_me` answers with `no-store` like the
rest of the account (security.NO_STORE_BLUEPRINTS), while `avatars` serves pictures with a
strong ETag and `Cache-Control: public, max-age=AVATAR_CACHE_MAX_AGE`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request
from flask_jwt_extended import current_user, jwt_required

from ..contract import Header, Parameter, Reply, operation, problem
from ..contract.operations import MULTIPART_FORM_DATA, RETRY_AFTER
from ..errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from ..jsonio import json_response
from ..request_bodies import set_body_limit
from . import services
from .images import AVATAR_MIMETYPE, ImageRefused
from .schemas import Avatar, AvatarUpload

me_blueprint = Blueprint("avatars_me", __name__, url_prefix="/api/v1")
blueprint = Blueprint("avatars", __name__, url_prefix="/api/v1")

TAGS = ["accounts"]
FIELD = "image"
MIB = 1024 * 1024
# Room for the multipart framing around the file (boundaries, part headers, a file name).
MULTIPART_ALLOWANCE = 64 * 1024
MAX_USER_ID = 16_777_215  # OpenML's users.id is MEDIUMINT UNSIGNED

NO_DATABASE = problem(503, "The database is unavailable.", "database_unavailable", headers=(RETRY_AFTER,))
_ETAG = Header("ETag", "Strong validator: the sha256 (hex, quoted) of the WebP; send it back in If-None-Match.")
_CACHE_CONTROL = Header("Cache-Control", "`public, max-age=AVATAR_CACHE_MAX_AGE`.")


def upload_limit() -> int:
    """The largest accepted picture, in bytes (AVATAR_MAX_MB MiB)."""
    return int(current_app.config["AVATAR_MAX_MB"] * MIB)


def read_upload() -> bytes:
    """The bytes of the `image` field of the multipart body, at most `upload_limit()`.

    A body whose Content-Length exceeds the route's limit is refused (413) by werkzeug before
    any of it is read; a chunked one after at most the limit (security.py). 415 for a body that
    is not multipart/form-data, 400 `missing_image` without a non-empty `image` file field.
    """
    if request.mimetype != MULTIPART_FORM_DATA:
        if not request.mimetype and not request.content_length:
            raise BadRequest("Send the picture as the `image` field of a multipart/form-data body.",
                             code="missing_image")
        raise UnsupportedMediaType("The request body must be multipart/form-data.")
    upload = request.files.get(FIELD)
    if upload is None:
        raise BadRequest("Send the picture as the `image` field of a multipart/form-data body.",
                         code="missing_image")
    limit = upload_limit()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The picture is larger than {current_app.config['AVATAR_MAX_MB']} MiB.")
    if not data:
        raise BadRequest("The `image` field is empty.", code="missing_image")
    return data


@me_blueprint.put("/users/me/avatar")
@operation("Upload the profile picture (JPEG, PNG or WebP; stored as a 256x256 WebP without metadata)",
           tags=TAGS, security="access", body=AvatarUpload, body_media_type=MULTIPART_FORM_DATA, replies=[
               Reply(200, "Stored; the profile's `image` now points to it.", Avatar),
               problem(400, "No `image` file field (`missing_image`); not a JPEG, PNG or WebP by its content "
                            "(`unsupported_image_type`); more than 36 million pixels declared "
                            "(`image_too_many_pixels`); truncated or corrupt (`invalid_image`).",
                       "missing_image", "unsupported_image_type", "image_too_many_pixels", "invalid_image"),
               problem(413, "The picture is larger than AVATAR_MAX_MB MiB.", "payload_too_large"),
               NO_DATABASE])
@jwt_required()
def put_avatar() -> Response:
    """Centre-cropped to a square, turned upright by its EXIF orientation and resized; EXIF
    (GPS included), XMP and ICC profile are dropped. Replaces an earlier picture."""
    data = read_upload()
    try:
        stored = services.store(current_user, data)
    except ImageRefused as refused:
        raise BadRequest(refused.message, code=refused.code) from None
    return json_response({"image": current_user.image, "etag": stored.etag})


@me_blueprint.delete("/users/me/avatar")
@operation("Delete the profile picture (the profile's `image` is cleared)", tags=TAGS, security="access",
           replies=[Reply(204, "Deleted, or there was none."), NO_DATABASE])
@jwt_required()
def delete_avatar() -> Response:
    services.remove(current_user)
    return Response(status=204)


@blueprint.get(f"/users/<int(min=1, max={MAX_USER_ID}):user_id>/avatar")
@operation("The profile picture of a user (no token needed)", tags=TAGS, parameters=[
    Parameter("user_id", "path", "The OpenML user id.", {"type": "integer", "minimum": 1, "maximum": MAX_USER_ID},
              example=1),
    Parameter("If-None-Match", "header", "An ETag from an earlier answer: 304 when it still matches.",
              {"type": "string"}),
], replies=[
    Reply(200, "The 256x256 WebP.", media_type=AVATAR_MIMETYPE, headers=(_ETAG, _CACHE_CONTROL)),
    Reply(304, "If-None-Match matched: the client's copy is current (no body).", headers=(_ETAG, _CACHE_CONTROL)),
    problem(404, "The user has no picture (`avatar_not_found`), or the id is not a user id (`not_found`).",
            "avatar_not_found", "not_found"),
    NO_DATABASE])
def get_avatar(user_id: int) -> Response:
    """Served with `X-Content-Type-Options: nosniff` like every answer."""
    stored = services.find(user_id)
    if stored is None:
        raise NotFound("This user has no profile picture.", code="avatar_not_found")
    if request.if_none_match.contains_weak(stored.etag):
        response = Response(status=304)
    else:
        response = Response(bytes(stored.image), mimetype=AVATAR_MIMETYPE)
    response.set_etag(stored.etag)
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['AVATAR_CACHE_MAX_AGE']}"
    return response


def init_app(app: Flask) -> None:
    """Mount both blueprints and give the upload its own body limit."""
    from . import models  # noqa: F401  (the table must be in the metadata Alembic compares)

    app.register_blueprint(me_blueprint)
    app.register_blueprint(blueprint)
    set_body_limit(app, "avatars_me.put_avatar", int(app.config["AVATAR_MAX_MB"] * MIB) + MULTIPART_ALLOWANCE)

