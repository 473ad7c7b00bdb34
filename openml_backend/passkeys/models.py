"""Tables of the passkeys feature: the credentials (`user_passkeys`) and the outstanding
challenges (`passkey_challenges`), keyed by `users.id` without foreign keys, like the
accounts feature's own tables (OpenML's tools manage `users` rows on their own).

Times are naive UTC (`utcnow()`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db

# A credential id is at most 1023 bytes (WebAuthn L3), 1364 characters of base64url. ASCII on
# MariaDB so the unique index (4 bytes a character in utf8mb4) stays within InnoDB's 3072 bytes.
CREDENTIAL_ID_LENGTH = 1364
NAME_LENGTH = 100
TRANSPORTS_LENGTH = 255


def credential_id_type() -> String:
    """The column type of a base64url credential id (shared with the migration's idea of it)."""
    return String(CREDENTIAL_ID_LENGTH).with_variant(
        mysql.VARCHAR(CREDENTIAL_ID_LENGTH, charset="ascii", collation="ascii_bin"), "mysql", "mariadb")


class UserPasskey(db.Model):
    """One registered passkey: its credential id (base64url), COSE public key and the
    authenticator's last signature counter. `transports` is the browser's hint list joined
    with commas."""

    __tablename__ = "user_passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    credential_id: Mapped[str] = mapped_column(credential_id_type(), nullable=False, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    transports: Mapped[str] = mapped_column(String(TRANSPORTS_LENGTH), nullable=False, default="")
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class PasskeyChallenge(db.Model):
    """A challenge handed out by an options endpoint and not yet used: only its sha256 is
    kept. `purpose` is register (for `user_id`) or login (no user yet)."""

    __tablename__ = "passkey_challenges"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, index=True)


__all__ = ["PasskeyChallenge", "UserPasskey"]
