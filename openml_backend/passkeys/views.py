"""HTTP endpoints of the passkeys feature under /api/v1 (JSON in, JSON or problem+json out).

Views parse, authenticate and shape answers; the rules live in `services`. Registration and
management need an access token; login needs nothing but the passkey.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request
from flask_jwt_extended import current_user, get_jwt, jwt_required

from ..accounts.charset import require_storable
from ..accounts.schemas import TokenPair
from ..contract import Parameter, Reply, operation, problem
from ..contract.operations import RETRY_AFTER
from ..jsonio import json_response, parse_body
from . import services
from .schemas import (
    CeremonyOptions,
    Passkey,
    PasskeyList,
    PasskeyLogin,
    PasskeyRegistration,
    PasskeyRename,
    credential_json,
)

blueprint = Blueprint("passkeys", __name__, url_prefix="/api/v1")

TAGS = ["passkeys"]
NO_DATABASE = problem(503, "The database is unavailable.", "database_unavailable", headers=(RETRY_AFTER,))
THROTTLED = problem(429, "Too many login attempts from this address or for this account.", "too_many_attempts",
                    headers=(RETRY_AFTER,))
REAUTHENTICATE = problem(403, "Needs a login within REAUTH_SECONDS.", "reauthentication_required")
BAD_CHALLENGE = ("challenge_invalid", "challenge_expired")
NOT_MINE = problem(404, "The user has no passkey with this id (`not_found`: the id is not a number).",
                   "passkey_not_found", "not_found")
UNSUPPORTED_CHARACTERS = problem(400, "The name has characters OpenML's latin1 text cannot hold.",
                                 "unsupported_characters")
PASSKEY_ID = Parameter("passkey_id", "path", "The passkey's id (from the list).",
                       {"type": "integer", "minimum": 1, "maximum": services.MAX_PASSKEY_ID}, required=True)


def _client_address() -> str:
    # The socket peer, or the forwarded client when the peer is in TRUSTED_PROXIES (security.py).
    return request.remote_addr or "unknown"


@blueprint.post("/auth/passkeys/register/options")
@operation("Options to create a passkey for the logged-in user (needs a login within REAUTH_SECONDS)",
           tags=TAGS, security="access",
           replies=[Reply(200, "Pass `publicKey` to navigator.credentials.create().", CeremonyOptions),
                    REAUTHENTICATE, NO_DATABASE])
@jwt_required()
def registration_options() -> Response:
    return json_response(services.registration_options(current_user, get_jwt()))


@blueprint.post("/auth/passkeys/register/verify")
@operation("Store the passkey the browser created from the options' challenge", tags=TAGS, security="access",
           body=PasskeyRegistration, replies=[
               Reply(201, "The new passkey.", Passkey),
               problem(400, "The challenge is unknown, used or expired, or the passkey does not verify "
                            "(wrong origin or RP ID, ...).", *BAD_CHALLENGE, "passkey_invalid"),
               UNSUPPORTED_CHARACTERS, REAUTHENTICATE,
               problem(409, "This passkey is already registered.", "passkey_exists"), NO_DATABASE])
@jwt_required()
def register() -> Response:
    body = parse_body(PasskeyRegistration)
    if body.name is not None:
        require_storable({"name": body.name})
    passkey = services.register(current_user, get_jwt(), credential_json(body.credential), body.name)
    return json_response(Passkey(**services.describe(passkey)).model_dump(mode="json"), status=201)


@blueprint.post("/auth/passkeys/login/options")
@operation("Options to log in with a passkey (no account named: the browser offers its passkeys)", tags=TAGS,
           replies=[Reply(200, "Pass `publicKey` to navigator.credentials.get().", CeremonyOptions), NO_DATABASE])
def login_options() -> Response:
    return json_response(services.login_options())


@blueprint.post("/auth/passkeys/login/verify")
@operation("Log in with the passkey assertion the browser made from the options' challenge", tags=TAGS,
           body=PasskeyLogin, replies=[
               Reply(200, "An access and a refresh token, as a password login gives.", TokenPair),
               problem(400, "The challenge is unknown, used or expired.", *BAD_CHALLENGE),
               problem(401, "Unknown passkey, or the assertion does not verify.", "passkey_invalid"),
               problem(403, "The account is not confirmed, or the passkey's signature counter went back "
                            "(a copied authenticator).", "account_not_confirmed", "passkey_cloned"),
               THROTTLED, NO_DATABASE])
def login() -> Response:
    body = parse_body(PasskeyLogin)
    return json_response(services.login(credential_json(body.credential), _client_address()))


@blueprint.get("/users/me/passkeys")
@operation("The logged-in user's passkeys", tags=TAGS, security="access",
           replies=[Reply(200, "The passkeys, oldest first.", PasskeyList), NO_DATABASE])
@jwt_required()
def list_passkeys() -> Response:
    passkeys = [Passkey(**services.describe(passkey)) for passkey in services.passkeys_of(current_user)]
    return json_response(PasskeyList(passkeys=passkeys).model_dump(mode="json"))


@blueprint.patch("/users/me/passkeys/<int:passkey_id>")
@operation("Rename one of the logged-in user's passkeys", tags=TAGS, security="access", body=PasskeyRename,
           parameters=[PASSKEY_ID],
           replies=[Reply(200, "The renamed passkey.", Passkey), UNSUPPORTED_CHARACTERS, NOT_MINE, NO_DATABASE])
@jwt_required()
def rename_passkey(passkey_id: int) -> Response:
    body = parse_body(PasskeyRename)
    require_storable({"name": body.name})
    passkey = services.rename(current_user, passkey_id, body.name)
    return json_response(Passkey(**services.describe(passkey)).model_dump(mode="json"))


@blueprint.delete("/users/me/passkeys/<int:passkey_id>")
@operation("Remove one of the logged-in user's passkeys (it can no longer log in)", tags=TAGS,
           security="access", parameters=[PASSKEY_ID],
           replies=[Reply(204, "Removed."), NOT_MINE, NO_DATABASE])
@jwt_required()
def remove_passkey(passkey_id: int) -> Response:
    services.remove(current_user, passkey_id)
    return Response(status=204)


def init_app(app: Flask) -> None:
    """Mount the blueprint (the tables join the metadata Alembic compares)."""
    from . import models  # noqa: F401

    app.register_blueprint(blueprint)
