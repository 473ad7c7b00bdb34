"""The passkey rules, free of request objects: views pass plain values in.

- Registration needs a login within REAUTH_SECONDS (a stolen access token alone must not
  plant a lasting credential) and binds the passkey to the account with the user handle
  `str(users.id)` (OpenML's user ids are public, so the handle reveals nothing).
- Login is discoverable: the options name no credential; the assertion's credential id finds
  the passkey, and its user handle, when sent, must be that passkey's account. It is counted
  in the login limits and metrics as a password login is, and an inactive account
  (unconfirmed or deleted) is refused as a password login is.
- The signature counter must grow whenever the authenticator keeps one: a counter that does
  not is a cloned authenticator (403 `passkey_cloned`), and the update is conditional on the
  counter read, so two concurrent assertions cannot both pass with one count.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import exc, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import metrics
from ..accounts import services as accounts
from ..accounts.models import User
from ..clock import utcnow
from ..errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from ..extensions import db
from . import challenges
from .models import NAME_LENGTH, TRANSPORTS_LENGTH, UserPasskey

log = logging.getLogger(__name__)

DEFAULT_NAME = "Passkey"
MAX_PASSKEY_ID = 2**31 - 1  # user_passkeys.id is a signed 32-bit INTEGER


def _config(name: str) -> Any:
    return current_app.config[name]


def _user_verification() -> UserVerificationRequirement:
    if _config("PASSKEY_REQUIRE_USER_VERIFICATION"):
        return UserVerificationRequirement.REQUIRED
    return UserVerificationRequirement.PREFERRED


def user_handle(user_id: int) -> bytes:
    """The WebAuthn user handle of account `user_id`."""
    return str(user_id).encode("ascii")


def _challenge_of(client_data_json: str) -> bytes:
    """The challenge the browser signed, read from the credential's clientDataJSON."""
    try:
        return parse_client_data_json(base64url_to_bytes(client_data_json)).challenge
    except Exception:  # any malformed encoding or JSON: py_webauthn raises several kinds
        raise BadRequest("clientDataJSON is not a WebAuthn client data document.",
                         code="challenge_invalid") from None


# -- registration -----------------------------------------------------------------------------

def registration_options(user: User, access_payload: dict[str, Any]) -> dict[str, Any]:
    """Options for navigator.credentials.create(): a discoverable credential for `user`,
    excluding the passkeys it has. Needs a login within REAUTH_SECONDS."""
    accounts.require_recent_authentication(user, None, access_payload, "")
    existing = db.session.execute(select(UserPasskey.credential_id).where(UserPasskey.user_id == user.id)).scalars()
    display_name = " ".join(part for part in (user.first_name, user.last_name) if part) or user.username
    options = generate_registration_options(
        rp_id=_config("RP_ID"), rp_name=_config("RP_NAME"), user_name=user.username, user_id=user_handle(user.id),
        user_display_name=display_name, challenge=challenges.issue(challenges.REGISTER, user.id),
        timeout=challenges.lifetime_seconds() * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED,
                                                               user_verification=_user_verification()),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential_id))
                             for credential_id in existing],
    )
    return {"publicKey": options_to_json_dict(options)}


def register(user: User, access_payload: dict[str, Any], credential: dict[str, Any], name: str | None) -> UserPasskey:
    """Verify the browser's attestation `credential` against the challenge it signed (which
    must be `user`'s, unused and unexpired) and store the passkey. 400 `passkey_invalid` when
    py_webauthn refuses it, 409 `passkey_exists` for a credential already registered."""
    accounts.require_recent_authentication(user, None, access_payload, "")
    challenge = _challenge_of(credential["response"]["clientDataJSON"])
    challenges.consume(challenge, challenges.REGISTER, user.id)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=_config("RP_ID"),
            expected_origin=_config("RP_ORIGIN"),
            require_user_verification=_config("PASSKEY_REQUIRE_USER_VERIFICATION"))
    except WebAuthnException as error:
        log.info("passkey registration refused", extra={"user_id": user.id, "reason": type(error).__name__})
        raise BadRequest("The passkey could not be verified.", code="passkey_invalid") from None
    transports = ",".join(credential["response"].get("transports") or [])[:TRANSPORTS_LENGTH]
    passkey = UserPasskey(user_id=user.id, credential_id=bytes_to_base64url(verified.credential_id),
                          public_key=verified.credential_public_key, sign_count=verified.sign_count,
                          transports=transports, name=(name or DEFAULT_NAME).strip()[:NAME_LENGTH],
                          created_at=utcnow())
    db.session.add(passkey)
    try:
        db.session.commit()
    except exc.IntegrityError:
        db.session.rollback()
        raise Conflict("This passkey is already registered.", code="passkey_exists") from None
    return passkey


# -- login ------------------------------------------------------------------------------------

def login_options() -> dict[str, Any]:
    """Options for navigator.credentials.get() with no credential named: the browser offers
    the passkeys it holds for RP_ID."""
    options = generate_authentication_options(
        rp_id=_config("RP_ID"), challenge=challenges.issue(challenges.LOGIN),
        timeout=challenges.lifetime_seconds() * 1000, user_verification=_user_verification())
    return {"publicKey": options_to_json_dict(options)}


def _refuse(reason: str = "invalid_credentials") -> Unauthorized:
    metrics.login_failed(reason)
    return Unauthorized("The passkey was not accepted.", code="passkey_invalid")


def login(credential: dict[str, Any], client_address: str) -> dict[str, Any]:
    """Return a token pair for a valid assertion `credential` of an active account's passkey.

    Counted per client address before any work and per account once the passkey is found;
    the challenge is used up before the signature is checked, so a refused assertion cannot
    be tried again."""
    accounts.count_login_from(client_address)
    challenge = _challenge_of(credential["response"]["clientDataJSON"])
    challenges.consume(challenge, challenges.LOGIN)
    passkey = db.session.execute(
        select(UserPasskey).where(UserPasskey.credential_id == credential["rawId"])).scalar_one_or_none()
    user = db.session.get(User, passkey.user_id) if passkey is not None else None
    if user is None:
        raise _refuse()
    accounts.count_login_of(user)
    handle = credential["response"].get("userHandle")
    if handle is not None and handle != bytes_to_base64url(user_handle(user.id)):
        raise _refuse()
    try:
        # The counter is checked below, after the signature proves it is the authenticator's.
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=_config("RP_ID"),
            expected_origin=_config("RP_ORIGIN"), credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=_config("PASSKEY_REQUIRE_USER_VERIFICATION"))
    except WebAuthnException as error:
        log.info("passkey login refused", extra={"user_id": user.id, "reason": type(error).__name__})
        raise _refuse() from None
    _advance_sign_count(passkey, verified.new_sign_count)
    if not user.active:
        metrics.login_failed("not_confirmed")
        raise Forbidden("Confirm your email address first; the link was emailed to you.", code="account_not_confirmed")
    return accounts.start_session(user)


def _advance_sign_count(passkey: UserPasskey, new_count: int) -> None:
    """Record the use of `passkey` with the authenticator's counter `new_count` (commits).

    An authenticator that keeps no counter always sends 0; otherwise the count must exceed
    the stored one, compared and set in one conditional UPDATE."""
    stored = passkey.sign_count
    counted = stored > 0 or new_count > 0
    changed = 0
    if not counted or new_count > stored:
        changed = db.session.execute(
            update(UserPasskey).where(UserPasskey.id == passkey.id, UserPasskey.sign_count == stored)
            .values(sign_count=new_count, last_used_at=utcnow())).rowcount
    db.session.commit()
    if changed != 1:
        log.warning("passkey signature counter did not grow: possibly a cloned authenticator",
                    extra={"user_id": passkey.user_id, "passkey_id": passkey.id})
        metrics.login_failed("invalid_credentials")
        raise Forbidden("This passkey's signature counter went back; it may have been copied.",
                        code="passkey_cloned")


# -- management -------------------------------------------------------------------------------

def describe(passkey: UserPasskey) -> dict[str, Any]:
    """A passkey as the API shows it (never the key or the counter)."""
    return {"id": passkey.id, "name": passkey.name, "created_at": passkey.created_at,
            "last_used_at": passkey.last_used_at,
            "transports": [t for t in passkey.transports.split(",") if t]}


def passkeys_of(user: User) -> list[UserPasskey]:
    """`user`'s passkeys, oldest first."""
    return list(db.session.execute(
        select(UserPasskey).where(UserPasskey.user_id == user.id).order_by(UserPasskey.id)).scalars())


def _own(user: User, passkey_id: int) -> UserPasskey:
    # An id past the column's range names no passkey (and SQLite cannot even bind it).
    passkey = db.session.get(UserPasskey, passkey_id) if passkey_id <= MAX_PASSKEY_ID else None
    if passkey is None or passkey.user_id != user.id:  # another's passkey is not there for you
        raise NotFound("No passkey of yours has this id.", code="passkey_not_found")
    return passkey


def rename(user: User, passkey_id: int, name: str) -> UserPasskey:
    """Give `user`'s passkey `passkey_id` a new name; 404 when it is not theirs."""
    passkey = _own(user, passkey_id)
    passkey.name = name.strip()[:NAME_LENGTH]
    db.session.commit()
    return passkey


def remove(user: User, passkey_id: int) -> None:
    """Delete `user`'s passkey `passkey_id`: it cannot log in any more. 404 when it is not theirs."""
    db.session.delete(_own(user, passkey_id))
    db.session.commit()
