"""The rules of logging in with a provider, free of request objects.

A login is three requests: /start stores a state row (digests of `state` and of a browser
cookie, the PKCE verifier, the nonce, where to return) and sends the browser to the
provider; /callback claims that row once, asks the provider who logged in (providers.py),
finds or creates the account and hands the website a one-time code in `return_to`; the
website trades that code once, within OAUTH_CODE_SECONDS, for the usual token pair. Tokens
never travel in a URL, and the state rows live in the database so any worker or replica can
finish a login another one started.

Linking: an identity already linked logs into its account. Otherwise the address decides:
an account with that address is linked, and a new account is created (confirmed, with an
API key and an unusable password the reset flow can replace), but only when the provider
says it verified the address; an unverified address is refused with the same 403 whether
or not an account has it.
"""

from __future__ import annotations

import hmac
import re
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import delete, exc, select, update

from ..accounts import services as accounts
from ..accounts import throttle
from ..accounts.charset import fits
from ..accounts.identifiers import normalise
from ..accounts.models import EMAIL_MAX_LENGTH, User
from ..accounts.schemas import EMAIL_PATTERN
from ..accounts.passwords import ARGON2_PREFIX, BCRYPT_PREFIXES, UNUSABLE_PASSWORD
from ..accounts.tokens import issue_token_pair, revoke_all
from ..clock import utcnow
from ..database import outside_database
from ..digests import sha256_hex
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..extensions import db
from . import providers
from .models import RETURN_TO_MAX_LENGTH, OAuthIdentity, OAuthLoginCode, OAuthState

log = logging.getLogger(__name__)

# Account creation retries when a concurrent signup took the username made from the address.
CREATE_ATTEMPTS = 3
NAME_MAX_LENGTH = 50  # OpenML's users.first_name and last_name


def _config(name: str) -> Any:
    return current_app.config[name]


def _random() -> str:
    return secrets.token_urlsafe(32)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_return_to(return_to: str) -> str:
    """`return_to` when it is an http(s) URL on one of OAUTH_RETURN_ORIGINS (exactly); else 400."""
    allowed = {origin.rstrip("/") for origin in _config("OAUTH_RETURN_ORIGINS")}
    try:
        parts = urlsplit(return_to)
        valid = (parts.scheme in ("http", "https") and len(return_to) <= RETURN_TO_MAX_LENGTH
                 and return_to.isprintable() and " " not in return_to and _origin(return_to) in allowed)
    except ValueError:
        valid = False
    if not valid:
        raise BadRequest("return_to must be an address on the website.", code="oauth_return_to_invalid")
    return return_to


def start(provider_name: str, return_to: str, browser: str | None) -> tuple[str, str]:
    """Store a new login under way and return the provider's URL to send the browser to, and
    the browser value to keep in its cookie (`browser` again when it already had a usable one)."""
    chosen = providers.provider(provider_name)
    check_return_to(return_to)
    if browser is None or not _well_formed(browser):
        browser = _random()
    state, verifier, nonce = _random(), secrets.token_urlsafe(48), _random()
    now = utcnow()
    db.session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
    db.session.execute(delete(OAuthLoginCode).where(OAuthLoginCode.expires_at < now))
    db.session.add(OAuthState(state_hash=sha256_hex(state), browser_hash=sha256_hex(browser), provider=chosen.name,
                              code_verifier=verifier, nonce=nonce, return_to=return_to,
                              expires_at=now + timedelta(minutes=_config("OAUTH_STATE_MINUTES"))))
    db.session.commit()
    return providers.authorization_url(chosen, state, verifier, nonce), browser


def _well_formed(value: str) -> bool:
    return len(value) == 43 and all(c.isalnum() or c in "-_" for c in value)


def _claim_state(provider_name: str, state: str, browser: str | None) -> OAuthState:
    """The login `state` belongs to, marked used: it must exist for this provider, be bound to
    this browser's cookie, unused and unexpired; else 400."""
    row = db.session.get(OAuthState, sha256_hex(state))
    if row is None or row.provider != provider_name:
        raise BadRequest("This login is unknown; start again.", code="oauth_state_invalid")
    if browser is None or not hmac.compare_digest(row.browser_hash, sha256_hex(browser)):
        raise BadRequest("This login was started in another browser; start again.", code="oauth_state_wrong_browser")
    if row.used_at is not None:
        raise BadRequest("This login was already used; start again.", code="oauth_state_used")
    if row.expires_at <= utcnow():
        raise BadRequest("This login took too long; start again.", code="oauth_state_expired")
    claimed = db.session.execute(update(OAuthState).where(
        OAuthState.state_hash == row.state_hash, OAuthState.used_at.is_(None)).values(used_at=utcnow()))
    if claimed.rowcount != 1:
        db.session.rollback()
        raise BadRequest("This login was already used; start again.", code="oauth_state_used")
    db.session.commit()
    return row


def callback(provider_name: str, state: str, code: str | None, error: str | None, browser: str | None) -> str:
    """Finish a login: return the `return_to` address to send the browser to, with a one-time
    `code` for POST /auth/oauth/exchange (or `error=access_denied` when the person declined)."""
    chosen = providers.provider(provider_name)
    row = _claim_state(chosen.name, state, browser)
    return_to, verifier, nonce = row.return_to, row.code_verifier, row.nonce
    if error is not None:
        return _with_query(return_to, error="access_denied")
    if not code:
        raise BadRequest("The provider sent no authorization code.", code="oauth_code_missing")
    with outside_database():  # waiting on the provider, not on the database
        identity = providers.identify(chosen, code, verifier, nonce)
    user = _account_for(identity)
    raw = _random()
    db.session.add(OAuthLoginCode(code_hash=sha256_hex(raw), user_id=user.id,
                                  expires_at=utcnow() + timedelta(seconds=_config("OAUTH_CODE_SECONDS"))))
    accounts.touch_login(user)
    db.session.commit()
    return _with_query(return_to, code=raw)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _account_for(identity: providers.Identity) -> User:
    """The account `identity` logs into: the linked one, else the verified address's (linked
    now), else a new one. The caller commits."""
    email = normalise(identity.email)
    if len(email) > EMAIL_MAX_LENGTH or not fits(email) or not re.fullmatch(EMAIL_PATTERN, email):
        raise BadRequest("The provider's address cannot be stored by OpenML.", code="unsupported_characters")
    for _ in range(CREATE_ATTEMPTS):
        accounts.hold_address(email)
        linked = db.session.execute(select(OAuthIdentity).where(
            OAuthIdentity.external_source == identity.source,
            OAuthIdentity.external_id == identity.external_id)).scalar_one_or_none()
        if linked is not None:
            user = db.session.get(User, linked.user_id)
            if user is not None:
                return _linked_login(user, linked, email)
            db.session.delete(linked)  # the account was removed by OpenML's own tools
        if not identity.email_verified:
            raise Forbidden("The provider has not verified this address; verify it there first.",
                            code="oauth_email_unverified")
        user = accounts.user_by_email(email)
        try:
            if user is None:
                user = accounts.new_confirmed_account(email, UNUSABLE_PASSWORD, _name(identity.first_name),
                                                      _name(identity.last_name))
            else:
                _link_existing(user, identity.source)
            db.session.add(OAuthIdentity(user_id=user.id, external_source=identity.source,
                                         external_id=identity.external_id, email=email))
            db.session.flush()
            return user
        except exc.IntegrityError:
            # A concurrent signup took the username made from the address, or a concurrent
            # login linked this identity first: look again.
            db.session.rollback()
    raise Conflict("The account could not be created; try again.", code="oauth_account_conflict")


def _linked_login(user: User, linked: OAuthIdentity, email: str) -> User:
    if not user.active:
        raise Forbidden("This account is disabled.", code="account_inactive")
    linked.email = email
    return user


def _link_existing(user: User, source: str) -> None:
    """Link `source` to the existing `user` whose address the provider verified."""
    other = db.session.execute(select(OAuthIdentity.id).where(
        OAuthIdentity.user_id == user.id, OAuthIdentity.external_source == source)).first()
    if other is not None:
        raise Conflict("This account is linked to another identity at this provider.",
                       code="oauth_provider_already_linked")
    if not user.active:
        # Unconfirmed: whoever signed up with this address never proved it, and may know the
        # password; the provider just proved the owner. Drop that password and its tokens.
        user.password_hash = UNUSABLE_PASSWORD
        revoke_all(user)
        accounts.confirm_account(user)


def _name(value: str) -> str:
    value = value.strip()[:NAME_MAX_LENGTH]
    return value if fits(value) else ""


def exchange(raw_code: str) -> dict[str, Any]:
    """The token pair of the account a finished login handed `raw_code` to; once, within
    OAUTH_CODE_SECONDS; else 400."""
    row = db.session.get(OAuthLoginCode, sha256_hex(raw_code))
    if row is None:
        raise BadRequest("This login code is unknown.", code="oauth_code_invalid")
    if row.used_at is not None:
        raise BadRequest("This login code was already used.", code="oauth_code_used")
    if row.expires_at <= utcnow():
        raise BadRequest("This login code has expired; log in again.", code="oauth_code_expired")
    claimed = db.session.execute(update(OAuthLoginCode).where(
        OAuthLoginCode.code_hash == row.code_hash, OAuthLoginCode.used_at.is_(None)).values(used_at=utcnow()))
    if claimed.rowcount != 1:
        db.session.rollback()
        raise BadRequest("This login code was already used.", code="oauth_code_used")
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        db.session.commit()
        raise Forbidden("This account is disabled.", code="account_inactive")
    pair = issue_token_pair(user)
    db.session.commit()
    return pair


def identities(user: User) -> list[dict[str, Any]]:
    """The provider identities linked to `user`, oldest first."""
    rows = db.session.execute(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id)
                              .order_by(OAuthIdentity.id)).scalars()
    return [{"provider": row.external_source, "email": row.email, "linked_at": row.created_at} for row in rows]


def has_usable_password(user: User) -> bool:
    """True when some password can log into `user` (a hash of a known scheme)."""
    return (user.password_hash or "").startswith((ARGON2_PREFIX, *BCRYPT_PREFIXES))


def unlink(user: User, source: str) -> None:
    """Remove the identity at `source` from `user` (404 when none); 409 when it is the only
    way left to log in (no usable password, no other identity)."""
    # Two unlinks racing must not both pass the check below and leave no way in.
    throttle.hold("oauth_unlink", str(user.id))
    rows = db.session.execute(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id)).scalars().all()
    target = next((row for row in rows if row.external_source == source), None)
    if target is None:
        raise NotFound("No identity of this provider is linked.", code="oauth_identity_not_found")
    if len(rows) == 1 and not has_usable_password(user):
        raise Conflict("This is the only way to log into the account; set a password first "
                       "(POST /auth/password/forgot).", code="last_login_method")
    db.session.delete(target)
    db.session.commit()
