"""Server-side WebAuthn challenges, shared by every worker and replica through the database.

An options endpoint stores the sha256 of a fresh random challenge with its purpose, its user
(registration) and an expiry of PASSKEY_CHALLENGE_SECONDS. The client sends nothing back but
the credential: the challenge comes back inside the signed clientDataJSON, and `consume`
deletes its row. Of two requests with one challenge exactly one deletes the row (the DELETE's
row count), so a challenge, and with it an assertion, is accepted once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from ..clock import utcnow
from ..digests import sha256_hex
from ..errors import BadRequest
from ..extensions import db
from .models import PasskeyChallenge

REGISTER, LOGIN = "register", "login"
CHALLENGE_BYTES = 32


def lifetime_seconds() -> int:
    """How long a challenge may be used (PASSKEY_CHALLENGE_SECONDS)."""
    return current_app.config["PASSKEY_CHALLENGE_SECONDS"]


def issue(purpose: str, user_id: int | None = None) -> bytes:
    """Store and return a new challenge for `purpose` (and `user_id`); expired ones are pruned.
    Commits."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    now = utcnow()
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now))
    db.session.add(PasskeyChallenge(challenge_hash=sha256_hex(challenge), purpose=purpose, user_id=user_id,
                                    expires_at=now + timedelta(seconds=lifetime_seconds())))
    db.session.commit()
    return challenge


def consume(challenge: bytes, purpose: str, user_id: int | None = None) -> None:
    """Use up `challenge`, issued for `purpose` (and `user_id`); commits. Raise 400
    `challenge_invalid` when it is unknown, already used, or another purpose's or user's,
    and 400 `challenge_expired` when its time is over (it is used up all the same)."""
    digest = sha256_hex(challenge)
    owner = PasskeyChallenge.user_id.is_(None) if user_id is None else PasskeyChallenge.user_id == user_id
    mine = (PasskeyChallenge.challenge_hash == digest) & (PasskeyChallenge.purpose == purpose) & owner
    expires_at = db.session.execute(select(PasskeyChallenge.expires_at).where(mine)).scalar_one_or_none()
    taken = expires_at is not None and db.session.execute(delete(PasskeyChallenge).where(mine)).rowcount == 1
    db.session.commit()
    if not taken:
        raise BadRequest("This passkey challenge is unknown or already used; ask for new options.",
                         code="challenge_invalid")
    if expires_at <= utcnow():
        raise BadRequest("This passkey challenge has expired; ask for new options.", code="challenge_expired")
