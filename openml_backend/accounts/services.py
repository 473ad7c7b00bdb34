"""The accounts' business rules, free of request objects: views pass plain values in.

Every state change commits in one transaction before any email is queued, so a failed send
never loses an account, and the answers to signup, resend and forgot never depend on whether
the address has an account. Resend and forgot do even their lookup after the answer (in the
per-process email pool), so their response time does not depend on it either.

Sensitive actions (a new email address, the API key) need the current password or a login
within REAUTH_SECONDS; a password change, a reset and logout-all cancel every outstanding
emailed link except the undo links of earlier email changes, which go to the old address
and are how an owner takes a hijacked account back.

Accounts are rows of OpenML's `users` table (see models.py): the API key is `session_hash`,
the one OpenML's REST API finds its callers by, and a confirmed account is a member of
OpenML's "members" group, which OpenML requires for uploads.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, exc, func, select, update

from .. import metrics
from ..avatars.models import UserAvatar
from ..digests import sha256_hex
from ..errors import BadRequest, Conflict, Forbidden, Unauthorized
from ..extensions import db
from ..passkeys.models import UserPasskey
from . import emails, state, throttle
from .identifiers import normalise, numbered, same, username_base
from .models import MEMBERS_GROUP, EmailToken, RevokedToken, User, UserGroup, utcnow
from .passwords import UNUSABLE_PASSWORD, hash_password, needs_rehash, verify_password
from .tokens import is_recent_login, issue_token_pair, revoke_all, revoke_session, rotate_refresh_token

log = logging.getLogger(__name__)

CONFIRM, EMAIL_CHANGE, RESET, EMAIL_UNDO = "confirm", "email_change", "reset", "email_undo"
# Links a password change, a reset or logout-all cancel: all but the undo links, which were
# sent to an address that owned the account before and must survive a hijacker's reset.
CANCELLED_ON_CREDENTIAL_CHANGE = (CONFIRM, EMAIL_CHANGE, RESET)
API_KEY_ATTEMPTS = 3
SIGNUP_ATTEMPTS = 3
# How many numbered variants of a username signup tries before giving up on the name.
USERNAME_VARIANTS = 1000
MAIL_WINDOW_SECONDS = 3600


def new_api_key() -> str:
    """32 lowercase hex characters from the OS CSPRNG: the format of OpenML's API keys, which
    its newer REST API checks (`^[0-9a-fA-F]{32}$`)."""
    return secrets.token_hex(16)


def _epoch_now() -> int:
    return int(time.time())


def _set_api_key(user: User) -> None:
    user.api_key, user.api_key_date = new_api_key(), utcnow()


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
    """The account whose address is `email`, whatever the case; a looser collation match is
    none. OpenML's table may hold one address twice (its unique key is username + email):
    then the active account, else the oldest, is the one."""
    wanted = normalise(email)
    candidates = db.session.execute(
        select(User).where(func.lower(User.email) == wanted).order_by(User.id)
    ).scalars().all()
    matching = [user for user in candidates if same(user.email, wanted)]
    return next((user for user in matching if user.active), matching[0] if matching else None)


def _user_by_username(username: str) -> User | None:
    """The account named `username`, whatever the case (names differ by more than case)."""
    candidates = db.session.execute(
        select(User).where(func.lower(User.username) == username.lower()).order_by(User.id)
    ).scalars().all()
    matching = [user for user in candidates if user.username.lower() == username.lower()]
    return next((user for user in matching if user.active), matching[0] if matching else None)


def _free_username(email: str) -> str:
    """The first of the username made from `email`'s local part and its numbered variants
    (base, base2, base3, ...) that no account has, whatever the case."""
    base = username_base(email)
    taken = {name.lower() for name in db.session.execute(
        select(User.username).where(func.lower(User.username).like(f"{base[:20].lower()}%"))
    ).scalars()}
    for number in range(1, USERNAME_VARIANTS):
        candidate = base if number == 1 else numbered(base, number)
        if candidate.lower() not in taken:
            return candidate
    return numbered(base[:20], secrets.randbelow(10**9))


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
    for _ in range(SIGNUP_ATTEMPTS):
        # OpenML's unique key is (username, email), and concurrent signups of one address pick
        # different usernames: without this, both would commit an account.
        throttle.hold("signup_lock", email)
        existing = _user_by_email(email)
        if existing is not None:
            _answer_existing_signup(existing, password_hash, first_name, last_name)
            return
        user = _new_user(email, password_hash, first_name, last_name)
        try:
            db.session.flush()
            raw = _new_email_token(user, CONFIRM, _confirm_lifetime())
            db.session.commit()
        except exc.IntegrityError:
            # A concurrent signup of the same address picked the same username (it is made
            # from the address) and committed first; or another address took the name. Look
            # again: one account per address, one email.
            db.session.rollback()
            continue
        _send_confirmation(user, raw)
        return
    log.warning("signup gave up after %d username collisions", SIGNUP_ATTEMPTS)


def _new_user(email: str, password_hash: str, first_name: str, last_name: str) -> User:
    """A new, unconfirmed row of OpenML's `users` with every NOT NULL column filled as OpenML's
    other systems fill them (the caller flushes)."""
    user = User(email=email, username=_free_username(email), password_hash=password_hash,
                first_name=first_name.strip(), last_name=last_name.strip(), active=False,
                created_on=_epoch_now(), ip_address="", company="", country="", bio="")
    _set_api_key(user)
    db.session.add(user)
    return user


def _answer_existing_signup(user: User, password_hash: str, first_name: str, last_name: str) -> None:
    if user.active:
        emails.send_email(user.email, "Sign-up attempt with your OpenML address", "signup_exists")
        return
    # Unconfirmed: the newest signup wins and older links die. Otherwise someone who signed up
    # first with another person's address would know the password of the account that person
    # activates by clicking the link they receive.
    user.password_hash, user.first_name, user.last_name = password_hash, first_name.strip(), last_name.strip()
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
    user = _account_of(token)
    old_email, undo = user.email, None
    if token.purpose == CONFIRM:
        _activate(user)
    else:
        if _user_by_email(token.new_email) not in (None, user):
            db.session.rollback()
            raise Conflict("This address now belongs to another account.", code="email_taken")
        # Links mailed to the old address (a reset above all) must not outlive it.
        _kill_unused_tokens(user, CANCELLED_ON_CREDENTIAL_CHANGE)
        undo = _new_email_token(user, EMAIL_UNDO, _undo_lifetime(), new_email=old_email)
        user.email = token.new_email
    try:
        db.session.commit()
    except exc.IntegrityError:  # the address and the username are another row's pair
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
    user = _account_of(token)
    if _user_by_email(token.new_email) not in (None, user):
        db.session.rollback()
        raise Conflict("The old address now belongs to another account.", code="email_taken")
    _set_password(user, new_password)
    _kill_unused_tokens(user, (EMAIL_UNDO,))
    user.email = token.new_email
    if rotate_api_key:
        _set_api_key(user)
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
    user = _user_by_email(identifier) if "@" in identifier else _user_by_username(identifier)
    _count_login_for(user, identifier)
    if not verify_password(user.password_hash if user else None, password):
        metrics.login_failed("invalid_credentials")
        raise Unauthorized("The email, username or password is wrong.", code="invalid_credentials")
    if not user.active:
        metrics.login_failed("not_confirmed")
        raise Forbidden("Confirm your email address first; the link was emailed to you.", code="account_not_confirmed")
    throttle.forget("login_account", normalise(identifier))
    if needs_rehash(user.password_hash):  # older argon2 parameters, argon2i, or PHP's bcrypt
        user.password_hash = hash_password(password)
    return start_session(user)


def count_login_from(client_address: str) -> None:
    """Count a login attempt of `client_address` in the per-address login limit (429 past
    it); for logins that name no account up front (passkeys)."""
    throttle.count_attempt("login_address", client_address, _config("LOGIN_MAX_PER_ADDRESS"),
                           _config("LOGIN_WINDOW_SECONDS"))


def count_login_of(user: User) -> None:
    """Count a login attempt on `user` in the per-account login limit (429 past it)."""
    _count_login_for(user, "")


def start_session(user: User) -> dict[str, Any]:
    """After a verified login of an active `user` (password or passkey): clear its per-account
    login counter, record the login, commit, and return a new token pair."""
    throttle.forget("login_user", f"id:{user.id}")
    user.last_login = _epoch_now()
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
    """The account as the API shows it (never the hash, the API key or the generation).
    Columns OpenML's other systems left NULL read as empty text."""
    pending = db.session.execute(
        select(EmailToken.new_email).where(
            EmailToken.user_id == user.id, EmailToken.purpose == EMAIL_CHANGE,
            EmailToken.used_at.is_(None), EmailToken.expires_at > utcnow(),
        ).order_by(EmailToken.id.desc()).limit(1)
    ).scalar_one_or_none()
    return {"id": user.id, "email": user.email, "username": user.username, "first_name": user.first_name or "",
            "last_name": user.last_name or "", "bio": user.bio or "", "company": user.company or "",
            "country": user.country or "", "image": user.image,
            "created_at": datetime.fromtimestamp(user.created_on or 0, UTC),
            "confirmed_at": state.confirmed_at(user.id), "email_change_pending": pending}


def update_profile(user: User, changes: dict[str, Any], access_payload: dict[str, Any],
                   client_address: str) -> dict[str, Any]:
    """Change names, bio, company, country and username at once; a new email needs the
    current password (or a recent login), is throttled per account and per address, and waits
    for its confirmation link. A username another account has (whatever the case) is 409.

    A taken address gets the same answer and the same pending state as a free one; its owner
    is told instead, and the stored link for it is never mailed, so it can never confirm."""
    current_password = changes.pop("current_password", None)
    new_email = changes.pop("email", None)
    changing_email = new_email is not None and normalise(new_email) != user.email
    if changing_email:
        new_email = normalise(new_email)
        require_recent_authentication(user, current_password, access_payload, client_address)
        count_mail(new_email, user)
    new_username = changes.pop("username", None)
    if new_username is not None and _user_by_username(new_username) not in (None, user):
        raise Conflict("This username belongs to another account.", code="username_taken")
    if new_username is not None:
        user.username = new_username
    for field, value in changes.items():
        setattr(user, field, value.strip() if field != "bio" else value)
    raw, taken = None, False
    if changing_email:
        taken = _user_by_email(new_email) is not None
        _kill_unused_tokens(user, (EMAIL_CHANGE,))  # only the latest requested address can win
        raw = _new_email_token(user, EMAIL_CHANGE, _confirm_lifetime(), new_email=new_email)
    try:
        db.session.commit()
    except exc.IntegrityError:  # another account took the username meanwhile
        db.session.rollback()
        raise Conflict("This username belongs to another account.", code="username_taken") from None
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
        _set_api_key(user)
    db.session.commit()
    return issue_token_pair(user)


def api_key(user: User, access_payload: dict[str, Any]) -> str:
    """The user's current API key (`users.session_hash`); needs a login within REAUTH_SECONDS.
    An account OpenML's other systems made without a key gets one now."""
    require_recent_authentication(user, None, access_payload, "")
    if user.api_key is None:
        return _store_new_api_key(user)
    return user.api_key


def regenerate_api_key(user: User, access_payload: dict[str, Any]) -> str:
    """Replace the API key with a new random one (needs a login within REAUTH_SECONDS); the
    old one stops existing."""
    require_recent_authentication(user, None, access_payload, "")
    return _store_new_api_key(user)


def _store_new_api_key(user: User) -> str:
    for _ in range(API_KEY_ATTEMPTS):
        _set_api_key(user)
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
    user = _account_of(token)
    if token.new_email is not None and not same(user.email, token.new_email):
        db.session.rollback()
        raise BadRequest("This link is not valid.", code="token_invalid")
    _set_password(user, new_password)
    if rotate_api_key:
        _set_api_key(user)
    _activate(user)
    db.session.commit()


def _account_of(token: EmailToken) -> User:
    user = db.session.get(User, token.user_id)
    if user is None:  # the row was removed by OpenML's own tools
        db.session.rollback()
        raise BadRequest("This link is not valid.", code="token_invalid")
    return user


def _activate(user: User) -> None:
    """Confirm `user` (`active` = 1) and make it a member of OpenML's "members" group, which
    OpenML's REST API requires for uploads (the caller commits). Idempotent."""
    if not user.active:
        user.active = True
        state.mark_confirmed(user.id)
    member = db.session.execute(select(UserGroup.id).where(
        UserGroup.user_id == user.id, UserGroup.group_id == MEMBERS_GROUP)).first()
    if member is None:
        db.session.add(UserGroup(user_id=user.id, group_id=MEMBERS_GROUP))


def delete_account(user: User, password: str, client_address: str) -> None:
    """Erase the person and keep the row, because OpenML's datasets, runs and flows point to
    their uploader's id: the address and the username become tombstones, the profile is
    emptied (its picture deleted too), the password unusable, the API key, the passkeys, the
    linked identities and the group memberships gone. Every token and emailed link dies at once."""
    _check_password(user, password, client_address)
    user_id, email = user.id, user.email
    user.email, user.username = f"deleted-{user_id}@deleted.invalid", f"deleted-{user_id}"
    user.password_hash, user.api_key, user.api_key_date, user.active = UNUSABLE_PASSWORD, None, None, False
    user.first_name = user.last_name = user.image = user.phone = None
    user.company = user.country = user.bio = user.ip_address = ""
    user.external_source = user.external_id = None
    # The PHP site's activation, reset and remember-me selectors would outlive the person.
    user.activation_selector = user.activation_code = None
    user.forgotten_password_selector = user.forgotten_password_code = user.forgotten_password_time = None
    user.remember_selector = user.remember_code = None
    db.session.execute(delete(UserGroup).where(UserGroup.user_id == user_id))
    db.session.execute(delete(EmailToken).where(EmailToken.user_id == user_id))
    db.session.execute(delete(RevokedToken).where(RevokedToken.user_id == user_id))
    db.session.execute(delete(UserAvatar).where(UserAvatar.user_id == user_id))
    _unlink_every_identity(user_id)
    db.session.execute(delete(UserPasskey).where(UserPasskey.user_id == user_id))
    revoke_all(user)
    db.session.commit()
    throttle.forget("login_account", normalise(email))
    throttle.forget("login_user", f"id:{user_id}")


def _unlink_every_identity(user_id: int) -> None:
    # The provider identities name the person too (and would log into the tombstone).
    from ..oauth.models import OAuthIdentity

    db.session.execute(delete(OAuthIdentity).where(OAuthIdentity.user_id == user_id))


def send_feedback(email: str, message: str, client_address: str) -> None:
    """Forward website feedback to FEEDBACK_EMAIL (replies go to `email`); throttled per address."""
    throttle.count_attempt("feedback", client_address, _config("FEEDBACK_MAX_PER_ADDRESS"), 3600)
    emails.send_email(_config("FEEDBACK_EMAIL"), "OpenML website feedback", "feedback", reply_to=email,
                      sender_email=email, message=message)


# For other features that sign people in (oauth): the same rules as signup and confirmation.


def user_by_email(email: str) -> User | None:
    """The account of `email` as signup and login find it (case-insensitive; see _user_by_email)."""
    return _user_by_email(email)


def hold_address(email: str) -> None:
    """Take signup's per-address lock for this transaction, so concurrent account creations
    for one address make one account."""
    throttle.hold("signup_lock", normalise(email))


def new_confirmed_account(email: str, password_hash: str, first_name: str, last_name: str) -> User:
    """A new account, confirmed (active, in OpenML's members group) with an API key; flushed,
    not committed. Raises IntegrityError when its username was taken meanwhile."""
    user = _new_user(normalise(email), password_hash, first_name, last_name)
    db.session.flush()
    _activate(user)
    return user


def confirm_account(user: User) -> None:
    """Confirm `user` as its emailed link would (the caller commits)."""
    _activate(user)


def touch_login(user: User) -> None:
    """Record a login now in OpenML's `last_login` (the caller commits)."""
    user.last_login = _epoch_now()
