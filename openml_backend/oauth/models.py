"""Tables of the OAuth feature: the provider identities linked to accounts, the logins under
way at a provider, and the one-time codes that hand a finished login to the website.

Like the accounts' own tables they refer to `users.id` without foreign keys (OpenML's tools
manage `users`), store naive UTC times, and keep only digests of the values a browser holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts.models import EMAIL_MAX_LENGTH
from ..clock import utcnow
from ..extensions import db

PROVIDER_MAX_LENGTH = 20
RETURN_TO_MAX_LENGTH = 2000


class OAuthIdentity(db.Model):
    """An account's identity at a provider ("github" or "google"): the provider's user id,
    and the verified address it had when linked. One per provider and account."""

    __tablename__ = "oauth_identities"
    __table_args__ = (
        UniqueConstraint("external_source", "external_id", name="uq_oauth_identities_source_id"),
        UniqueConstraint("user_id", "external_source", name="uq_oauth_identities_user_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    external_source: Mapped[str] = mapped_column(String(PROVIDER_MAX_LENGTH), nullable=False)
    external_id: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False, default=utcnow)


class OAuthState(db.Model):
    """A login started at /start and not yet finished: the digest of its `state`, the digest
    of the browser cookie it is bound to, and what the callback needs (PKCE verifier, nonce,
    where to send the browser back). Stored here, so any worker or replica can finish it."""

    __tablename__ = "oauth_states"
    __table_args__ = (Index("ix_oauth_states_expires_at", "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    provider: Mapped[str] = mapped_column(String(PROVIDER_MAX_LENGTH), nullable=False)
    code_verifier: Mapped[str] = mapped_column(String(128), nullable=False)
    nonce: Mapped[str] = mapped_column(String(64), nullable=False)
    return_to: Mapped[str] = mapped_column(String(RETURN_TO_MAX_LENGTH), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class OAuthLoginCode(db.Model):
    """The one-time code a finished login puts in the website's URL (its digest): exchanged
    once, within OAUTH_CODE_SECONDS, for the account's token pair."""

    __tablename__ = "oauth_login_codes"
    __table_args__ = (Index("ix_oauth_login_codes_expires_at", "expires_at"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
