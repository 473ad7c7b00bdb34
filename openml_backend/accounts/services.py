"""The accounts' business rules, free of request objects: views pass plain values in.

Every state change commits in one transaction before any email is queued, so a failed send
never loses an account, and the answers to signup, resend and forgot never depend on whether
the address has an account.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, exc, select, update

from .. import metrics
from ..digests import sha256_hex
from ..errors import BadRequest, Conflict, Forbidden, Unauthorized
from ..extensions import db
from . import emails, throttle
from .models import EmailToken, RevokedToken, User, utcnow
from .passwords import hash_password, needs_rehash, verify_password
from .tokens import issue_token_pair, revoke_all, revoke_session, rotate_refresh_token

log = logging.getLogger(__name__)

CONFIRM, EMAIL_CHANGE, RESET = "confirm", "email_change", "reset"
API_KEY_ATTEMPTS = 3


def new_api_key() -> str:
    """32 hex characters from the OS CSPRNG (the format of OpenML's API keys)."""
    return secrets.token_hex(16)


def _config(name: str) -> Any:
    return current_app.config[name]


def _link(path: str, raw_token: str) -> str:
    return f"{_config('EMAIL_SERVER')}{path}?token={raw_token}"


def _new_email_token(user: User, purpose: str, lifetime: timedelta, new_email: str | None = None) -> str:
    """Store the digest of a new random token for `user` (the caller commits); return the token."""
    raw = secrets.token_urlsafe(32)
    db.session.add(EmailToken(token_hash=sha256_hex(raw), user_id=user.id, purpose=purpose,
                              new_email=new_email, expires_at=utcnow() + lifetime))
    return raw


def _confirm_lifetime() -> timedelta:
    return timedelta(hours=_config("CONFIRM_TOKEN_HOURS"))


def _reset_lifetime() -> timedelta:
    return timedelta(minutes=_config("RESET_TOKEN_MINUTES"))


def _user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def count_email_request(client_address: str) -> None:
    """Throttle the endpoints that send email to a given address, per client address."""
    throttle.count_attempt("email", client_address, _config("EMAIL_MAX_PER_ADDRESS"), 3600)


def _count_login(identifier: str, client_address: str) -> None:
    window = _config("LOGIN_WINDOW_SECONDS")
    throttle.count_attempt("login_address", client_address, _config("LOGIN_MAX_PER_ADDRESS"), window)
    throttle.count_attempt("login_account", identifier.lower(), _config("LOGIN_MAX_PER_ACCOUNT"), window)


def _send_confirmation(user: User, raw_token: str) -> None:
    emails.send_email(user.email, "Confirm your OpenML account", "confirm", first_name=user.first_name,
                      link=_link("/auth/confirm", raw_token), hours=_config("CONFIRM_TOKEN_HOURS"))


def signup(email: str, password: str, first_name: str, last_name: str) -> None:
    """Create an inactive account and email a confirmation link, or, when the address already
    has an account, email its owner instead. The caller cannot tell which happened."""
    password_hash = hash_password(password)  # always, so both paths cost the same
    existing = _user_by_email(email)
    if existing is not None:
        _answer_existing_signup(existing, password_hash, first_name, last_name)
        return
    user = User(email=email, password_hash=password_hash, first_name=first_name.strip(),
                last_name=last_name.strip(), api_key=new_api_key(), active=False)
    db.session.add(user)
    try:
        db.session.flush()
    except exc.IntegrityError:
        # A concurrent signup with the same address committed first: one account, one email.
        db.session.rollback()
        return
    raw = _new_email_token(user, CONFIRM, _confirm_lifetime())
    try:
        db.session.commit()
    except exc.IntegrityError:
        db.session.rollback()
        return
    _send_confirmation(user, raw)


def _answer_existing_signup(user: User, password_hash: str, first_name: str, last_name: str) -> None:
    if user.active:
        emails.send_email(user.email, "Sign-up attempt with your OpenML address", "signup_exists")
        return
    # Unconfirmed: the newest signup wins and older links die. Otherwise someone who signed up
    # first with another person's address would know the password of the account that person
    # activates by clicking the link they receive.
    user.password_hash, user.first_name, user.last_name = password_hash, first_name.strip(), last_name.strip()
    user.updated_at = utcnow()
    _kill_unused_tokens(user, CONFIRM)
    raw = _new_email_token(user, CONFIRM, _confirm_lifetime())
    db.session.commit()
    _send_confirmation(user, raw)


def resend_confirmation(email: str) -> None:
    """Email a new confirmation link when `email` belongs to an unconfirmed account."""
    user = _user_by_email(email)
    if user is None or user.active:
        return
    raw = _new_email_token(user, CONFIRM, _confirm_lifetime())
    db.session.commit()
    _send_confirmation(user, raw)


def _claim_email_token(raw: str, purposes: tuple[str, ...]) -> EmailToken:
    """Return the unexpired, unused token `raw` of one of `purposes`, marked used; else 400."""
    token = db.session.execute(
        select(EmailToken).where(EmailToken.token_hash == sha256_hex(raw))
    ).scalar_one_or_none()
    if token is None or token.purpose not in purposes:
        raise BadRequest("This link is not valid.", code="token_invalid")
    if token.used_at is not None:
        raise BadRequest("This link was already used.", code="token_used")
    if token.expires_at <= utcnow():
        raise BadRequest("This link has expired; ask for a new one.", code="token_expired")
    # Conditional update: of two requests racing with one token, only one sees rowcount 1.
    claimed = db.session.execute(
        update(EmailToken).where(EmailToken.id == token.id, EmailToken.used_at.is_(None)).values(used_at=utcnow())
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise BadRequest("This link was already used.", code="token_used")
    return token


def confirm(raw_token: str) -> str:
    """Apply a confirmation link (new account or new email address); return what it confirmed."""
    token = _claim_email_token(raw_token, (CONFIRM, EMAIL_CHANGE))
    user = db.session.get(User, token.user_id)
    if token.purpose == CONFIRM:
        if not user.active:
            user.active, user.confirmed_at = True, utcnow()
    else:
        user.email = token.new_email
    user.updated_at = utcnow()
    try:
        db.session.commit()
    except exc.IntegrityError:
        db.session.rollback()
        raise Conflict("This address now belongs to another account.", code="email_taken") from None
    return token.purpose


def login(identifier: str, password: str, client_address: str) -> dict[str, Any]:
    """Return a token pair for valid credentials of a confirmed account.

    Throttled per account and per client address before any hashing; an unknown account and
    a wrong password give the same 401 after the same amount of hashing.
    """
    _count_login(identifier, client_address)
    column = User.email if "@" in identifier else User.username
    user = db.session.execute(select(User).where(column == identifier)).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password):
        metrics.login_failed("invalid_credentials")
        raise Unauthorized("The email, username or password is wrong.", code="invalid_credentials")
    if not user.active:
        metrics.login_failed("not_confirmed")
        raise Forbidden("Confirm your email address first; the link was emailed to you.", code="account_not_confirmed")
    throttle.forget("login_account", identifier.lower())
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return issue_token_pair(user)


def refresh(user: User, refresh_payload: dict[str, Any]) -> dict[str, Any]:
    """Use up the refresh token `refresh_payload` and return a new pair."""
    return rotate_refresh_token(user, refresh_payload)


def logout(user: User, access_payload: dict[str, Any]) -> None:
    """Revoke this access token and its refresh token."""
    revoke_session(user, access_payload)
    try:
        db.session.commit()
    except exc.IntegrityError:  # the same logout, racing in another process, came first
        db.session.rollback()


def logout_everywhere(user: User) -> None:
    """Revoke every token of `user`."""
    revoke_all(user)
    db.session.commit()


def profile(user: User) -> dict[str, Any]:
    """The account as the API shows it (never the hash, the API key or the generation)."""
    pending = db.session.execute(
        select(EmailToken.new_email).where(
            EmailToken.user_id == user.id, EmailToken.purpose == EMAIL_CHANGE,
            EmailToken.used_at.is_(None), EmailToken.expires_at > utcnow(),
        ).order_by(EmailToken.id.desc()).limit(1)
    ).scalar_one_or_none()
    return {"id": user.id, "email": user.email, "username": user.username, "first_name": user.first_name,
            "last_name": user.last_name, "bio": user.bio, "created_at": user.created_at,
            "confirmed_at": user.confirmed_at, "email_change_pending": pending}


def update_profile(user: User, changes: dict[str, Any]) -> dict[str, Any]:
    """Change names and bio at once; a new email waits for its confirmation link."""
    new_email = changes.pop("email", None)
    for field, value in changes.items():
        setattr(user, field, value.strip() if field != "bio" else value)
    user.updated_at = utcnow()
    raw = None
    if new_email is not None and new_email != user.email:
        if _user_by_email(new_email) is None:
            _kill_unused_tokens(user, EMAIL_CHANGE)  # only the latest requested address can win
            raw = _new_email_token(user, EMAIL_CHANGE, _confirm_lifetime(), new_email=new_email)
    db.session.commit()
    if raw is not None:
        emails.send_email(new_email, "Confirm your new OpenML address", "email_change", first_name=user.first_name,
                          new_email=new_email, link=_link("/auth/confirm", raw), hours=_config("CONFIRM_TOKEN_HOURS"))
    elif new_email is not None and new_email != user.email:
        # Taken by another account: answer the same, tell that address's owner.
        emails.send_email(new_email, "Sign-up attempt with your OpenML address", "signup_exists")
    return profile(user)


def _check_password(user: User, password: str, client_address: str) -> None:
    _count_login(user.email, client_address)
    if not verify_password(user.password_hash, password):
        raise Unauthorized("The password is wrong.", code="invalid_credentials")


def _set_password(user: User, new_password: str) -> None:
    """New hash, every token revoked, every outstanding reset link dead (the caller commits)."""
    user.password_hash = hash_password(new_password)
    user.updated_at = utcnow()
    revoke_all(user)
    _kill_unused_tokens(user, RESET)


def _kill_unused_tokens(user: User, purpose: str) -> None:
    """Mark every unused `purpose` link of `user` used (the caller commits)."""
    db.session.execute(update(EmailToken).where(
        EmailToken.user_id == user.id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None)
    ).values(used_at=utcnow()))


def change_password(user: User, current_password: str, new_password: str, client_address: str) -> dict[str, Any]:
    """Change the password, revoke every other session, and return a new pair for this one."""
    _check_password(user, current_password, client_address)
    _set_password(user, new_password)
    db.session.commit()
    return issue_token_pair(user)


def api_key(user: User) -> str:
    """The user's current API key."""
    return user.api_key


def regenerate_api_key(user: User) -> str:
    """Replace the API key with a new random one; the old one stops existing."""
    for _ in range(API_KEY_ATTEMPTS):
        user.api_key = new_api_key()
        try:
            db.session.commit()
            return user.api_key
        except exc.IntegrityError:  # 2**-128 per try; retry rather than fail
            db.session.rollback()
    raise Conflict("Could not generate a unique API key; try again.", code="api_key_collision")


def forgot_password(email: str) -> None:
    """Email a reset link when `email` has an account; otherwise do nothing, visibly the same."""
    user = _user_by_email(email)
    if user is None:
        return
    raw = _new_email_token(user, RESET, _reset_lifetime())
    db.session.commit()
    emails.send_email(user.email, "Reset your OpenML password", "reset", first_name=user.first_name,
                      link=_link("/auth/reset-password", raw), minutes=_config("RESET_TOKEN_MINUTES"))


def reset_password(raw_token: str, new_password: str) -> None:
    """Set a new password from a reset link; revokes every token. The link proves the address,
    so an unconfirmed account becomes confirmed."""
    token = _claim_email_token(raw_token, (RESET,))
    user = db.session.get(User, token.user_id)
    _set_password(user, new_password)
    if not user.active:
        user.active, user.confirmed_at = True, utcnow()
    db.session.commit()


def delete_account(user: User, password: str, client_address: str) -> None:
    """Remove the account and everything stored about it; its tokens stop working at once."""
    _check_password(user, password, client_address)
    user_id, email = user.id, user.email
    db.session.execute(delete(EmailToken).where(EmailToken.user_id == user_id))
    db.session.execute(delete(RevokedToken).where(RevokedToken.user_id == user_id))
    db.session.delete(user)
    db.session.commit()
    throttle.forget("login_account", email)


def send_feedback(email: str, message: str, client_address: str) -> None:
    """Forward website feedback to FEEDBACK_EMAIL (replies go to `email`); throttled per address."""
    throttle.count_attempt("feedback", client_address, _config("FEEDBACK_MAX_PER_ADDRESS"), 3600)
    emails.send_email(_config("FEEDBACK_EMAIL"), "OpenML website feedback", "feedback", reply_to=email,
                      sender_email=email, message=message)
