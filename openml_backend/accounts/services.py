"""The accounts' business rules, free of request objects: views pass plain values in.

Every state change commits in one transaction before any email is queued, so a failed send
never loses an account, and the answers to signup, resend and forgot never depend on whether
the address has an account. Resend and forgot do even their lookup after the answer (in the
per-process email pool), so their response time does not depend on it either.

Sensitive actions (a new email address, the API key) need the current password or a login
within REAUTH_SECONDS; a password change, a reset and logout-all cancel every outstanding
emailed link except the undo links of earlier email changes, which go to the old address
and are how an owner takes a hijacked account back.
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
from .identifiers import normalise, same
from .models import EmailToken, RevokedToken, User, utcnow
from .passwords import hash_password, needs_rehash, verify_password
from .tokens import is_recent_login, issue_token_pair, revoke_all, revoke_session, rotate_refresh_token

log = logging.getLogger(__name__)

CONFIRM, EMAIL_CHANGE, RESET, EMAIL_UNDO = "confirm", "email_change", "reset", "email_undo"
# Links a password change, a reset or logout-all cancel: all but the undo links, which were
# sent to an address that owned the account before and must survive a hijacker's reset.
CANCELLED_ON_CREDENTIAL_CHANGE = (CONFIRM, EMAIL_CHANGE, RESET)
API_KEY_ATTEMPTS = 3
MAIL_WINDOW_SECONDS = 3600


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


def _undo_lifetime() -> timedelta:
    return timedelta(days=_config("EMAIL_CHANGE_UNDO_DAYS"))


def _user_by_email(email: str) -> User | None:
    """The account whose address is exactly `email` (normalised); a looser collation match is none."""
    wanted = normalise(email)
    user = db.session.execute(select(User).where(User.email == wanted)).scalar_one_or_none()
    return user if user is not None and same(user.email, wanted) else None


def count_email_request(client_address: str) -> None:
    """Throttle the endpoints that send email to a given address, per client address."""
    throttle.count_attempt("email", client_address, _config("EMAIL_MAX_PER_ADDRESS"), MAIL_WINDOW_SECONDS)


def count_mail(recipient: str, user: User | None = None) -> None:
    """Count one mail to `recipient` (and, for an action of a logged-in `user`, one mail caused
    by that account); 429 beyond EMAIL_MAX_PER_RECIPIENT or EMAIL_MAX_PER_ACCOUNT an hour.

    Anonymous endpoints count the recipient only: the answer must not depend on whether the
    address has an account."""
    if user is not None:
        throttle.count_attempt("mail_account", str(user.id), _config("EMAIL_MAX_PER_ACCOUNT"), MAIL_WINDOW_SECONDS)
    throttle.count_attempt("mail_recipient", normalise(recipient), _config("EMAIL_MAX_PER_RECIPIENT"),
                           MAIL_WINDOW_SECONDS)


def _count_login(identifier: str, client_address: str) -> None:
    """Count an attempt per client address and per normalised identifier (NFKC, case-folded,
    trimmed), so variants of one identifier share a counter."""
    window = _config("LOGIN_WINDOW_SECONDS")
    throttle.count_attempt("login_address", client_address, _config("LOGIN_MAX_PER_ADDRESS"), window)
    throttle.count_attempt("login_account", normalise(identifier), _config("LOGIN_MAX_PER_ACCOUNT"), window)


def _count_login_for(user: User | None, identifier: str) -> None:
    """Count an attempt per resolved account, whatever identifier named it. An unknown
    identifier counts a key of its own, so both cases cost the same database work."""
    key = f"id:{user.id}" if user is not None else f"unknown:{normalise(identifier)}"
    throttle.count_attempt("login_user", key, _config("LOGIN_MAX_PER_ACCOUNT"), _config("LOGIN_WINDOW_SECONDS"))


def _send_confirmation(user: User, raw_token: str) -> None:
    # No profile text: the address has not confirmed anything yet (names are the signer's).
    emails.send_email(user.email, "Confirm your OpenML account", "confirm",
                      link=_link("/auth/confirm", raw_token), hours=_config("CONFIRM_TOKEN_HOURS"))


def signup(email: str, password: str, first_name: str, last_name: str) -> None:
    """Create an inactive account and email a confirmation link, or, when the address already
    has an account, email its owner instead. The caller cannot tell which happened."""
    email = normalise(email)
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
    _kill_unused_tokens(user, (CONFIRM,))
    raw = _new_email_token(user, CONFIRM, _confirm_lifetime())
    db.session.commit()
    _send_confirmation(user, raw)


def resend_confirmation(email: str) -> None:
    """Email a new confirmation link when `email` belongs to an unconfirmed account. The work
    runs after the answer, so its time does not tell whether the address is known."""
    emails.run_after_response(_resend_confirmation_now, normalise(email))


def _resend_confirmation_now(email: str) -> None:
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
    old_email, undo = user.email, None
    if token.purpose == CONFIRM:
        if not user.active:
            user.active, user.confirmed_at = True, utcnow()
    else:
        # Links mailed to the old address (a reset above all) must not outlive it. (Before the
        # address changes: that statement would flush a taken address outside the try below.)
        _kill_unused_tokens(user, CANCELLED_ON_CREDENTIAL_CHANGE)
        undo = _new_email_token(user, EMAIL_UNDO, _undo_lifetime(), new_email=old_email)
        user.email = token.new_email
    user.updated_at = utcnow()
    try:
        db.session.commit()
    except exc.IntegrityError:
        db.session.rollback()
        raise Conflict("This address now belongs to another account.", code="email_taken") from None
    if undo is not None:
        emails.send_email(old_email, "The email address of your OpenML account changed", "email_changed",
                          new_email=token.new_email, link=_link("/auth/undo-email-change", undo),
                          days=_config("EMAIL_CHANGE_UNDO_DAYS"))
    return token.purpose


def undo_email_change(raw_token: str, new_password: str, rotate_api_key: bool = True) -> None:
    """Put back the address an email change replaced, from the undo link mailed to it: sets a
    new password (whoever changed the address may know the old one), revokes every token,
    cancels every other link, undo links included, and replaces the API key unless told not to."""
    token = _claim_email_token(raw_token, (EMAIL_UNDO,))
    user = db.session.get(User, token.user_id)
    if _user_by_email(token.new_email) not in (None, user):
        db.session.rollback()
        raise Conflict("The old address now belongs to another account.", code="email_taken")
    _set_password(user, new_password)
    _kill_unused_tokens(user, (EMAIL_UNDO,))
    user.email = token.new_email
    if rotate_api_key:
        user.api_key = new_api_key()
    try:
        db.session.commit()
    except exc.IntegrityError:
        db.session.rollback()
        raise Conflict("The old address now belongs to another account.", code="email_taken") from None


def login(identifier: str, password: str, client_address: str) -> dict[str, Any]:
    """Return a token pair for valid credentials of a confirmed account.

    Throttled per account and per client address before any hashing; an unknown account and
    a wrong password give the same 401 after the same amount of hashing.
    """
    _count_login(identifier, client_address)
    if "@" in identifier:
        user = _user_by_email(identifier)
    else:
        user = db.session.execute(select(User).where(User.username == identifier)).scalar_one_or_none()
        user = user if user is not None and same(user.username, identifier) else None
    _count_login_for(user, identifier)
    if not verify_password(user.password_hash if user else None, password):
        metrics.login_failed("invalid_credentials")
        raise Unauthorized("The email, username or password is wrong.", code="invalid_credentials")
    if not user.active:
        metrics.login_failed("not_confirmed")
        raise Forbidden("Confirm your email address first; the link was emailed to you.", code="account_not_confirmed")
    throttle.forget("login_account", normalise(identifier))
    throttle.forget("login_user", f"id:{user.id}")
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
    """Revoke every token of `user` and cancel its pending email change and emailed links."""
    revoke_all(user)
    _kill_unused_tokens(user, CANCELLED_ON_CREDENTIAL_CHANGE)
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


def update_profile(user: User, changes: dict[str, Any], access_payload: dict[str, Any],
                   client_address: str) -> dict[str, Any]:
    """Change names and bio at once; a new email needs the current password (or a recent
    login), is throttled per account and per address, and waits for its confirmation link.

    A taken address gets the same answer and the same pending state as a free one; its owner
    is told instead, and the stored link for it is never mailed, so it can never confirm."""
    current_password = changes.pop("current_password", None)
    new_email = changes.pop("email", None)
    changing_email = new_email is not None and normalise(new_email) != user.email
    if changing_email:
        new_email = normalise(new_email)
        require_recent_authentication(user, current_password, access_payload, client_address)
        count_mail(new_email, user)
    for field, value in changes.items():
        setattr(user, field, value.strip() if field != "bio" else value)
    user.updated_at = utcnow()
    raw, taken = None, False
    if changing_email:
        taken = _user_by_email(new_email) is not None
        _kill_unused_tokens(user, (EMAIL_CHANGE,))  # only the latest requested address can win
        raw = _new_email_token(user, EMAIL_CHANGE, _confirm_lifetime(), new_email=new_email)
    db.session.commit()
    if changing_email and not taken:
        emails.send_email(new_email, "Confirm your new OpenML address", "email_change", new_email=new_email,
                          link=_link("/auth/confirm", raw), hours=_config("CONFIRM_TOKEN_HOURS"))
    elif changing_email:
        emails.send_email(new_email, "Sign-up attempt with your OpenML address", "signup_exists")
    return profile(user)


def require_recent_authentication(user: User, current_password: str | None, access_payload: dict[str, Any],
                                  client_address: str) -> None:
    """Pass when `current_password` is right (counted like a login) or, without one, when the
    token's login is at most REAUTH_SECONDS old; else 401 (wrong password) or 403."""
    if current_password is not None:
        _check_password(user, current_password, client_address)
        return
    if not is_recent_login(access_payload):
        raise Forbidden("Confirm this with your current password (current_password) or log in again.",
                        code="reauthentication_required")


def _check_password(user: User, password: str, client_address: str) -> None:
    _count_login(user.email, client_address)
    _count_login_for(user, user.email)
    if not verify_password(user.password_hash, password):
        raise Unauthorized("The password is wrong.", code="invalid_credentials")


def _set_password(user: User, new_password: str) -> None:
    """New hash, every token revoked, every pending email change and emailed link but the
    undo links cancelled (the caller commits)."""
    user.password_hash = hash_password(new_password)
    user.updated_at = utcnow()
    revoke_all(user)
    _kill_unused_tokens(user, CANCELLED_ON_CREDENTIAL_CHANGE)


def _kill_unused_tokens(user: User, purposes: tuple[str, ...]) -> None:
    """Mark every unused link of `user` with one of `purposes` used (the caller commits)."""
    db.session.execute(update(EmailToken).where(
        EmailToken.user_id == user.id, EmailToken.purpose.in_(purposes), EmailToken.used_at.is_(None)
    ).values(used_at=utcnow()))


def change_password(user: User, current_password: str, new_password: str, client_address: str,
                    rotate_api_key: bool = False) -> dict[str, Any]:
    """Change the password, revoke every other session (and the API key when asked), and
    return a new pair for this one."""
    _check_password(user, current_password, client_address)
    _set_password(user, new_password)
    if rotate_api_key:
        user.api_key = new_api_key()
    db.session.commit()
    return issue_token_pair(user)


def api_key(user: User, access_payload: dict[str, Any]) -> str:
    """The user's current API key; needs a login within REAUTH_SECONDS."""
    require_recent_authentication(user, None, access_payload, "")
    return user.api_key


def regenerate_api_key(user: User, access_payload: dict[str, Any]) -> str:
    """Replace the API key with a new random one (needs a login within REAUTH_SECONDS); the
    old one stops existing."""
    require_recent_authentication(user, None, access_payload, "")
    for _ in range(API_KEY_ATTEMPTS):
        user.api_key = new_api_key()
        try:
            db.session.commit()
            return user.api_key
        except exc.IntegrityError:  # 2**-128 per try; retry rather than fail
            db.session.rollback()
    raise Conflict("Could not generate a unique API key; try again.", code="api_key_collision")


def forgot_password(email: str) -> None:
    """Email a reset link when `email` has an account; otherwise do nothing. The work runs
    after the answer, so neither the answer nor its time tells which happened."""
    emails.run_after_response(_forgot_password_now, normalise(email))


def _forgot_password_now(email: str) -> None:
    user = _user_by_email(email)
    if user is None:
        return
    # The link remembers the address it went to: it dies if the account's address changes.
    raw = _new_email_token(user, RESET, _reset_lifetime(), new_email=user.email)
    db.session.commit()
    emails.send_email(user.email, "Reset your OpenML password", "reset",
                      link=_link("/auth/reset-password", raw), minutes=_config("RESET_TOKEN_MINUTES"))


def reset_password(raw_token: str, new_password: str, rotate_api_key: bool = True) -> None:
    """Set a new password from a reset link; revokes every token, cancels every pending email
    change and link, and replaces the API key unless told not to. The link proves the
    address, so an unconfirmed account becomes confirmed."""
    token = _claim_email_token(raw_token, (RESET,))
    user = db.session.get(User, token.user_id)
    if token.new_email is not None and token.new_email != user.email:
        db.session.rollback()
        raise BadRequest("This link is not valid.", code="token_invalid")
    _set_password(user, new_password)
    if rotate_api_key:
        user.api_key = new_api_key()
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
    throttle.forget("login_account", normalise(email))
    throttle.forget("login_user", f"id:{user_id}")


def send_feedback(email: str, message: str, client_address: str) -> None:
    """Forward website feedback to FEEDBACK_EMAIL (replies go to `email`); throttled per address."""
    throttle.count_attempt("feedback", client_address, _config("FEEDBACK_MAX_PER_ADDRESS"), 3600)
    emails.send_email(_config("FEEDBACK_EMAIL"), "OpenML website feedback", "feedback", reply_to=email,
                      sender_email=email, message=message)
