"""Profile pictures end to end over HTTP, as a confirmed user: upload (JPEG, PNG, WebP) and
what is served (a 256x256 WebP with a strong ETag, 304, caching headers, nosniff), the
profile's `image`, deletion, refused uploads, metadata stripping, two replicas, and account
deletion."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from tests.avatars.conftest import AVATAR_ENV, PUBLIC_URL, SignedIn, encoded, picture
from tests.helpers import PASSWORD, AccountActions, assert_problem, bearer

UPLOAD = "/api/v1/users/me/avatar"
MIB = 1024 * 1024
GPS_IFD = 0x8825


def served_at(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/avatar"


BOUNDARY = "avatar-test-boundary"


def multipart(field: str, filename: str, content_type: str, data: bytes) -> bytes:
    """A multipart/form-data body (boundary BOUNDARY) with one file field.

    Written out here because the test client spools large bodies it encodes itself to
    temporary files it never closes."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n")
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(client: FlaskClient, token: str | None, data: bytes, filename: str = "me.png",
           field: str = "image", content_type: str = "application/octet-stream"):
    headers = bearer(token) if token else {}
    return client.put(UPLOAD, headers=headers, content_type=f"multipart/form-data; boundary={BOUNDARY}",
                      data=multipart(field, filename, content_type, data))


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_an_upload_is_served_as_a_256_pixel_webp_until_deleted(
        client: FlaskClient, accounts: AccountActions, signed_in: SignedIn, image_format: str) -> None:
    stored = upload(client, signed_in.access_token, picture(image_format), filename=f"me.{image_format.lower()}")
    assert stored.status_code == 200, stored.json
    assert stored.headers["Cache-Control"] == "no-store"

    served = client.get(served_at(signed_in.user_id))  # no token
    assert served.status_code == 200
    assert served.mimetype == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "public, max-age=300"
    image = decoded(served.data)
    assert (image.format, image.size) == ("WEBP", (256, 256))
    etag = hashlib.sha256(served.data).hexdigest()
    assert served.headers["ETag"] == f'"{etag}"'  # strong: no W/
    assert stored.json == {"image": f"{PUBLIC_URL}{served_at(signed_in.user_id)}?v={etag[:12]}", "etag": etag}
    assert accounts.me(signed_in.access_token).json["image"] == stored.json["image"]

    again = client.get(served_at(signed_in.user_id), headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == f'"{etag}"'
    assert client.get(served_at(signed_in.user_id), headers={"If-None-Match": '"other"'}).status_code == 200

    deleted = client.delete(UPLOAD, headers=bearer(signed_in.access_token))
    assert deleted.status_code == 204
    assert_problem(client.get(served_at(signed_in.user_id)), 404, "avatar_not_found")
    assert accounts.me(signed_in.access_token).json["image"] is None
    assert client.delete(UPLOAD, headers=bearer(signed_in.access_token)).status_code == 204  # none left: still fine


def test_the_picture_is_the_centre_square(client: FlaskClient, signed_in: SignedIn) -> None:
    # 400x100: red, blue and green stripes of 150, 100 and 150 pixels; the centre square is blue.
    image = Image.new("RGB", (400, 100), (255, 0, 0))
    image.paste((0, 0, 255), (150, 0, 250, 100))
    image.paste((0, 255, 0), (250, 0, 400, 100))
    assert upload(client, signed_in.access_token, encoded(image, "PNG")).status_code == 200
    served = decoded(client.get(served_at(signed_in.user_id)).data).convert("RGB")
    for corner in ((2, 2), (253, 2), (2, 253), (253, 253), (128, 128)):
        red, green, blue = served.getpixel(corner)
        assert blue > 200 and red < 40 and green < 40, (corner, served.getpixel(corner))


def test_a_new_upload_replaces_the_old_one(client: FlaskClient, accounts: AccountActions,
                                           signed_in: SignedIn) -> None:
    first = upload(client, signed_in.access_token, picture("PNG")).json
    second_image = encoded(Image.new("RGB", (300, 300), (0, 90, 200)), "PNG")
    second = upload(client, signed_in.access_token, second_image).json
    assert second["etag"] != first["etag"] and second["image"] != first["image"]
    served = client.get(served_at(signed_in.user_id))
    assert hashlib.sha256(served.data).hexdigest() == second["etag"]
    assert client.get(served_at(signed_in.user_id), headers={"If-None-Match": f'"{first["etag"]}"'}).status_code == 200
    assert accounts.me(signed_in.access_token).json["image"] == second["image"]


def test_a_picture_of_several_megabytes_is_accepted(client: FlaskClient, signed_in: SignedIn) -> None:
    # Noise does not compress: a ~4 MiB PNG, far over MAX_CONTENT_LENGTH (64 KiB), under AVATAR_MAX_MB.
    noise = Image.frombytes("RGB", (1200, 1200), bytes(hashlib.shake_256(b"noise").digest(1200 * 1200 * 3)))
    data = encoded(noise, "PNG", compress_level=1)
    assert 3 * MIB < len(data) < 5 * MIB
    response = upload(client, signed_in.access_token, data)
    assert response.status_code == 200, response.json
    assert decoded(client.get(served_at(signed_in.user_id)).data).size == (256, 256)


def _bomb() -> bytes:
    # 20000 x 20000 one-bit pixels, all zero: a few dozen KB of PNG declaring 400 million pixels.
    return encoded(Image.new("1", (20000, 20000)), "PNG")


def _truncated_jpeg() -> bytes:
    data = picture("JPEG")
    return data[: len(data) // 2]


BAD_IMAGES = {
    "truncated JPEG": (_truncated_jpeg, "me.jpg", "image/jpeg", "invalid_image"),
    "text named .png": (lambda: b"this is not a picture\n" * 20, "me.png", "image/png", "unsupported_image_type"),
    "GIF": (lambda: picture("GIF"), "me.gif", "image/gif", "unsupported_image_type"),
    "BMP": (lambda: picture("BMP"), "me.bmp", "image/bmp", "unsupported_image_type"),
    "GIF named .png": (lambda: picture("GIF"), "me.png", "image/png", "unsupported_image_type"),
    "decompression bomb": (_bomb, "me.png", "image/png", "image_too_many_pixels"),
    # Just over 1x Pillow's limit, where Pillow by itself would only warn.
    "36 million pixels and one more row": (lambda: encoded(Image.new("1", (6000, 6001)), "PNG"), "me.png",
                                            "image/png", "image_too_many_pixels"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_a_bad_image_is_refused_and_nothing_is_stored(client: FlaskClient, accounts: AccountActions,
                                                      signed_in: SignedIn, case: str) -> None:
    make, filename, content_type, code = BAD_IMAGES[case]
    response = upload(client, signed_in.access_token, make(), filename=filename, content_type=content_type)
    assert_problem(response, 400, code)
    assert_problem(client.get(served_at(signed_in.user_id)), 404, "avatar_not_found")
    assert accounts.me(signed_in.access_token).json["image"] is None


def test_an_upload_over_the_limit_is_413(client: FlaskClient, signed_in: SignedIn) -> None:
    just_over = b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * MIB - 7)  # the file alone: 5 MiB + 1 byte
    assert_problem(upload(client, signed_in.access_token, just_over), 413, "payload_too_large")
    far_over = b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * MIB)  # the whole body over the route's limit
    assert_problem(upload(client, signed_in.access_token, far_over), 413, "payload_too_large")
    assert_problem(client.get(served_at(signed_in.user_id)), 404, "avatar_not_found")


class Counted(io.BytesIO):
    """A request body that counts the bytes the app reads from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def test_a_declared_length_over_the_limit_is_413_without_reading_the_body(client: FlaskClient,
                                                                         signed_in: SignedIn) -> None:
    body = multipart("image", "me.png", "image/png", b"\0" * (20 * MIB))
    stream = Counted(body)
    response = client.put(UPLOAD, input_stream=stream, content_length=len(body), headers={
        **bearer(signed_in.access_token), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert_problem(response, 413, "payload_too_large")
    assert stream.taken == 0


def test_a_chunked_upload_over_the_limit_is_413_after_at_most_the_limit(client: FlaskClient,
                                                                       signed_in: SignedIn) -> None:
    body = multipart("image", "me.png", "image/png", b"\0" * (20 * MIB))
    stream = Counted(body)
    response = client.put(UPLOAD, input_stream=stream, headers={
        **bearer(signed_in.access_token), "Transfer-Encoding": "chunked",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert_problem(response, 413, "payload_too_large")
    assert 5 * MIB < stream.taken <= 6 * MIB  # the limit plus one read, never the 20 MiB


def test_a_missing_field_or_body_is_400_and_json_is_415(client: FlaskClient, signed_in: SignedIn) -> None:
    token = signed_in.access_token
    assert_problem(upload(client, token, picture("PNG"), field="picture"), 400, "missing_image")
    assert_problem(upload(client, token, b""), 400, "missing_image")
    assert_problem(client.put(UPLOAD, headers=bearer(token)), 400, "missing_image")
    assert_problem(client.put(UPLOAD, headers=bearer(token), content_type="multipart/form-data",
                              data={"note": "no file"}), 400, "missing_image")
    assert_problem(client.put(UPLOAD, headers=bearer(token), json={"image": "aGVsbG8="}), 415,
                   "unsupported_media_type")


def test_without_a_token_uploads_and_deletes_are_401(client: FlaskClient, signed_in: SignedIn) -> None:
    assert_problem(upload(client, None, picture("PNG")), 401, "missing_token")
    assert_problem(client.delete(UPLOAD), 401, "missing_token")
    assert_problem(upload(client, "not-a-token", picture("PNG")), 401, "invalid_token")
    assert_problem(client.get(served_at(signed_in.user_id)), 404, "avatar_not_found")


def test_unknown_users_and_ids_that_are_not_user_ids_are_404(client: FlaskClient) -> None:
    assert_problem(client.get(served_at(424242)), 404, "avatar_not_found")
    for path in ("/api/v1/users/0/avatar", "/api/v1/users/abc/avatar", "/api/v1/users/16777216/avatar"):
        assert_problem(client.get(path), 404, "not_found")
    assert_problem(client.get(UPLOAD), 405, "method_not_allowed")  # "me" is not a user id


def test_exif_and_its_gps_position_never_leave(client: FlaskClient, signed_in: SignedIn) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 22.0, 7.5), "E", (4.0, 53.0, 2.25)
    data = picture("JPEG", exif=exif)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)[1] == "N"  # the upload does carry it
    assert upload(client, signed_in.access_token, data).status_code == 200
    served = client.get(served_at(signed_in.user_id)).data
    image = decoded(served)
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(GPS_IFD) == {}
    assert b"Exif" not in served and b"EXIF" not in served and b"XMP" not in served and b"ICCP" not in served
    assert b"Camera maker" not in served


def test_the_exif_orientation_is_applied(client: FlaskClient, signed_in: SignedIn) -> None:
    # Stored sideways: red left half, blue right half; orientation 6 means "turn 90 degrees
    # clockwise to show", which puts red on top. Without it the centre square is red | blue.
    image = Image.new("RGB", (400, 200), (255, 0, 0))
    image.paste((0, 0, 255), (200, 0, 400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    assert upload(client, signed_in.access_token, encoded(image, "JPEG", exif=exif, quality=95)).status_code == 200
    served = decoded(client.get(served_at(signed_in.user_id)).data).convert("RGB")
    top, bottom = served.getpixel((128, 20)), served.getpixel((128, 235))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_two_replicas_serve_the_same_picture(make_app: Callable[..., Flask], smtp_settings: dict[str, Any],
                                             mailbox: Any) -> None:
    one = make_app(env=AVATAR_ENV, **smtp_settings)
    other = make_app(env=AVATAR_ENV, **smtp_settings)
    accounts = AccountActions(one.test_client(), mailbox)
    accounts.confirmed_user("grace@example.org")
    token = accounts.login("grace@example.org")["access_token"]
    user_id = accounts.me(token).json["id"]
    stored = upload(one.test_client(), token, picture("WEBP"))
    assert stored.status_code == 200
    from_one = one.test_client().get(served_at(user_id))
    from_other = other.test_client().get(served_at(user_id))
    assert from_other.status_code == 200
    assert from_other.data == from_one.data
    assert from_other.headers["ETag"] == from_one.headers["ETag"] == f'"{stored.json["etag"]}"'
    # and a delete through the other replica is seen by the first
    assert other.test_client().delete(UPLOAD, headers=bearer(token)).status_code == 204
    assert_problem(one.test_client().get(served_at(user_id)), 404, "avatar_not_found")


def test_deleting_the_account_deletes_its_picture(app: Flask, client: FlaskClient, accounts: AccountActions,
                                                  signed_in: SignedIn) -> None:
    from openml_backend.avatars.models import UserAvatar
    from openml_backend.extensions import db

    assert upload(client, signed_in.access_token, picture("PNG")).status_code == 200
    assert accounts.delete_account(signed_in.access_token, PASSWORD).status_code == 204
    assert_problem(client.get(served_at(signed_in.user_id)), 404, "avatar_not_found")
    with app.app_context():
        assert db.session.query(UserAvatar).filter_by(user_id=signed_in.user_id).count() == 0
