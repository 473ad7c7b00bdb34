"""JWTs with flask-jwt-extended: issue pairs, check revocation in the database, rotate refresh
tokens, and render every token error as problem+json.

Revocation has two layers, both in the database so they hold across workers and replicas:
- one token: its `jti` in `revoked_tokens` (logout, or a refresh token already used);
- every token of a user at once: each token carries the user's `token_generation` (in
  `account_states`, see state.py) as claim `gen`; bumping that counter (logout-all, password change, reset, reuse of a rotated refresh
  token) is one row update. A counter, not a "not before" timestamp, because `iat` has
  one-second resolution and replicas' clocks differ: a counter has no boundary cases.
An access token also carries `rjti`, the id of the refresh token issued with it, so logout
can revoke both. Both tokens carry `auth_time`, when the password was last verified for this
session (a refresh keeps it), which `is_recent_login` compares with REAUTH_SECONDS.

Only tokens with an `exp` and a `type` of access or refresh are accepted, even when signed
with the right key: a token without an expiry would never die.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, get_jti
from flask_jwt_extended.exceptions import WrongTokenError
from sqlalchemy import delete, exc

from ..errors import Unauthorized, problem_response
from ..extensions import db
from . import state
from .models import RevokedToken, User, utcnow

log = logging.getLogger(__name__)


TOKEN_TYPES = ("access", "refresh")


def issue_token_pair(user: User, auth_time: int | None = None) -> dict[str, Any]:
    """Return an access and a refresh token for `user`, in the login response's shape.

    `auth_time` (epoch seconds) is when the password was verified; None means now."""
    claims = {"gen": state.token_generation(user.id), "auth_time": int(time.time()) if auth_time is None else int(auth_time)}
    refresh_token = create_refresh_token(identity=str(user.id), additional_claims=claims)
    access_token = create_access_token(
        identity=str(user.id), additional_claims={**claims, "rjti": get_jti(refresh_token)}
    )
    expires: timedelta = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


def _expiry(payload: dict[str, Any]) -> datetime:
    if "exp" not in payload:  # flask-jwt-extended always sets it; be safe if a lifetime is disabled
        return utcnow() + timedelta(days=366)
    return datetime.fromtimestamp(payload["exp"], UTC).replace(tzinfo=None)


def revoke_all(user: User) -> None:
    """Make every token issued to `user` so far invalid (the caller commits).

    The increment happens in SQL, so two revocations racing in two processes both count.
    """
    state.bump_generation(user.id)


def revoke_session(user: User, access_payload: dict[str, Any]) -> None:
    """Revoke the access token `access_payload` and the refresh token issued with it, and
    prune revocations that have expired anyway (the caller commits)."""
    db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    refresh_expires = utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    for jti, expires_at in ((access_payload["jti"], _expiry(access_payload)),
                            (access_payload.get("rjti"), refresh_expires)):
        if jti and db.session.get(RevokedToken, jti) is None:
            db.session.add(RevokedToken(jti=jti, user_id=user.id, reason="logout", expires_at=expires_at))


def rotate_refresh_token(user: User, refresh_payload: dict[str, Any]) -> dict[str, Any]:
    """Mark the refresh token `refresh_payload` used and return a new pair.

    Recording the jti is an INSERT on its primary key, so of two requests racing with one
    refresh token exactly one wins; the loser is treated as reuse (every token revoked).
    """
    db.session.add(RevokedToken(jti=refresh_payload["jti"], user_id=user.id, reason="rotated",
                                expires_at=_expiry(refresh_payload)))
    try:
        db.session.commit()
    except exc.IntegrityError:
        db.session.rollback()
        _revoke_family(user.id)
        raise Unauthorized("This refresh token was already used.", code="refresh_token_reused") from None
    return issue_token_pair(user, auth_time=_auth_time(refresh_payload))


def _auth_time(payload: dict[str, Any]) -> int:
    # Tokens issued before the claim existed count as a login long ago (never recent).
    value = payload.get("auth_time")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def is_recent_login(payload: dict[str, Any]) -> bool:
    """True when the password behind the token `payload` was verified at most REAUTH_SECONDS ago."""
    age = time.time() - _auth_time(payload)
    return 0 <= age <= current_app.config["REAUTH_SECONDS"]


def _well_formed(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    return isinstance(payload.get("exp"), int | float) and payload.get("type") in TOKEN_TYPES


def _verification_key(header: dict[str, Any], unverified_payload: dict[str, Any]) -> str:
    """The key a token is verified with; a random one (so verification fails, 401
    invalid_token) for a token without `exp` or a known `type`. Checked here, on the claims
    as sent, because flask-jwt-extended later fills a missing `type` in as "access"."""
    if _well_formed(header, unverified_payload):
        return current_app.config["JWT_SECRET_KEY"]
    return secrets.token_hex(32)


def _revoke_family(user_id: int) -> None:
    user = db.session.get(User, user_id)
    if user is not None:
        revoke_all(user)
        db.session.commit()
    log.warning("refresh token reused; every token of the user revoked", extra={"user_id": user_id})


def _token_is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    try:
        user = db.session.get(User, int(payload["sub"]))
    except (KeyError, TypeError, ValueError):
        return True
    if user is None or payload.get("gen") != state.token_generation(user.id):
        return True
    revoked = db.session.get(RevokedToken, payload.get("jti", ""))
    if revoked is None:
        return False
    if payload.get("type") == "refresh" and revoked.reason == "rotated":
        _revoke_family(user.id)
    return True


def _lookup_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    return db.session.get(User, int(payload["sub"]))


def _problem(code: str, message: str) -> Response:
    return problem_response(401, code, message, {"WWW-Authenticate": "Bearer"})


def register_token_callbacks(jwt: JWTManager, app: Flask) -> None:
    """Wire revocation and user lookup into `jwt`, and make its errors problem+json 401s."""
    jwt.token_in_blocklist_loader(_token_is_revoked)
    jwt.user_lookup_loader(_lookup_user)
    jwt.decode_key_loader(_verification_key)
    jwt.token_verification_loader(_well_formed)
    jwt.unauthorized_loader(lambda _reason: _problem(
        "missing_token", "An access token is required in the Authorization header (Bearer <token>)."))
    jwt.invalid_token_loader(lambda _reason: _problem(
        "invalid_token", "The token is malformed or its signature is invalid."))
    jwt.expired_token_loader(lambda _h, _p: _problem("token_expired", "The token has expired."))
    jwt.revoked_token_loader(lambda _h, _p: _problem("token_revoked", "The token has been revoked."))
    jwt.needs_fresh_token_loader(lambda _h, _p: _problem("fresh_token_required", "A fresh token is required."))
    jwt.user_lookup_error_loader(lambda _h, _p: _problem("token_revoked", "The token's account no longer exists."))
    jwt.token_verification_failed_loader(lambda _h, _p: _problem("invalid_token", "The token failed verification."))
    # flask-jwt-extended reports a refresh token used as an access token (and the reverse) as
    # a generic invalid token; a specific code tells the client what went wrong.
    app.register_error_handler(WrongTokenError, lambda _error: _problem(
        "wrong_token_type", "This endpoint needs the other kind of token (access or refresh)."))
