"""Storing, finding and removing profile pictures (no request objects: views pass values in).

The picture's URL goes into OpenML's `users.image`, which the website and OpenML's other
systems read. It carries `?v=` and the start of the ETag, so a new picture has a new URL and
no cache (browser or CDN) keeps showing the old one; the route ignores the query.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, exc

from ..accounts.models import User
from ..clock import utcnow
from ..database import outside_database
from ..digests import sha256_hex
from ..extensions import db
from .images import make_avatar
from .models import UserAvatar

IMAGE_COLUMN_LENGTH = 128  # OpenML's users.image is varchar(128)
VERSION_LENGTH = 12


def avatar_path(user_id: int) -> str:
    """The path the picture of `user_id` is served at."""
    return f"/api/v1/users/{user_id}/avatar"


def avatar_url(user_id: int, etag: str) -> str:
    """The picture's URL for `users.image`: URL_API + the path + `?v=<ETag start>`, or without
    URL_API when that would not fit OpenML's 128 characters."""
    relative = f"{avatar_path(user_id)}?v={etag[:VERSION_LENGTH]}"
    absolute = current_app.config["URL_API"] + relative
    return absolute if len(absolute) <= IMAGE_COLUMN_LENGTH else relative


def store(user: User, upload: bytes) -> UserAvatar:
    """Make the avatar of `upload` (images.make_avatar: raises ImageRefused), store it as the
    picture of `user` in place of any earlier one, and point `users.image` at it."""
    with outside_database():  # decoding is CPU work, not a stalled database (database.py)
        webp = make_avatar(upload)
    etag = sha256_hex(webp)
    for attempt in range(2):
        row = db.session.get(UserAvatar, user.id)
        if row is None:
            row = UserAvatar(user_id=user.id)
            db.session.add(row)
        row.image, row.etag, row.updated_at = webp, etag, utcnow()
        user.image = avatar_url(user.id, etag)
        try:
            db.session.commit()
            return row
        except exc.IntegrityError:  # a first upload of the same account, in another process, came first
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def remove(user: User) -> None:
    """Delete the picture of `user`, if any, and clear `users.image`."""
    db.session.execute(delete(UserAvatar).where(UserAvatar.user_id == user.id))
    user.image = None
    db.session.commit()


def find(user_id: int) -> UserAvatar | None:
    """The stored picture of `user_id`, if there is one."""
    return db.session.get(UserAvatar, user_id)
