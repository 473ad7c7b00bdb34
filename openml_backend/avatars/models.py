"""The table of profile pictures: one ready WebP per account, in the database so that every
replica serves the same bytes (no shared disk needed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db

# MariaDB's plain BLOB stops at 64 KiB; a 256x256 WebP may be larger (MEDIUMBLOB: 16 MiB).
AvatarBytes = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


class UserAvatar(db.Model):
    """The profile picture of `users.id` = `user_id` (no foreign key, like the service's other
    account tables): the WebP bytes, their sha256 (the ETag) and when they were stored."""

    __tablename__ = "user_avatars"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    image: Mapped[bytes] = mapped_column(AvatarBytes, nullable=False)
    etag: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, default=utcnow)
