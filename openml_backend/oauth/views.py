"""HTTP endpoints of the OAuth feature under /api/v1: the browser's two stops (/start and
/callback, answered with redirects), the website's code exchange, and the logged-in user's
linked identities."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request
from flask_jwt_extended import current_user, jwt_required

from ..accounts.schemas import TokenPair
from ..accounts.views import NO_DATABASE
from ..contract import Header, Parameter, Reply, operation, problem
from ..errors import BadRequest
from ..jsonio import json_response, parse_body
from . import services
from .models import RETURN_TO_MAX_LENGTH
from .providers import PROVIDERS
from .schemas import LinkedIdentities, LinkedIdentity, OAuthExchange

blueprint = Blueprint("oauth", __name__, url_prefix="/api/v1")
TAGS = ["accounts"]
# Binds a login to the browser that started it; only the OAuth paths ever receive it.
BROWSER_COOKIE = "openml_oauth_browser"
COOKIE_PATH = "/api/v1/auth/oauth"

PROVIDER = Parameter("provider", "path", "The login provider (404 when not configured).",
                     {"type": "string", "enum": list(PROVIDERS)}, example="github")
LOCATION = Header("Location", "Where the browser goes next.")
UNKNOWN_PROVIDER = problem(404, "The provider is unknown or not configured.", "not_found")
PROVIDER_ERROR = problem(502, "The provider could not be reached or answered something unusable.",
                         "oauth_provider_error")


def _query(name: str, required: bool = True) -> str | None:
    value = request.args.get(name)
    if value is None and required:
        raise BadRequest(f"The query parameter {name} is required.", code="invalid_parameter", parameter=name)
    return value


def _redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location})


@blueprint.get("/auth/oauth/<provider>/start")
@operation("Start logging in with a provider (the browser is sent there)", tags=TAGS, parameters=[
    PROVIDER,
    Parameter("return_to", "query", "Where the browser returns with `code` (an address on the website).",
              {"type": "string", "maxLength": RETURN_TO_MAX_LENGTH}, required=True,
              example="http://localhost:3000/auth/callback")],
    replies=[Reply(302, "To the provider's login page; sets the cookie that binds the login to this browser.",
                   headers=(LOCATION,)),
             problem(400, "return_to is missing or not on the website.", "oauth_return_to_invalid",
                     "invalid_parameter"),
             UNKNOWN_PROVIDER, NO_DATABASE])
def start(provider: str) -> Response:
    return_to = _query("return_to")
    location, browser = services.start(provider, return_to, request.cookies.get(BROWSER_COOKIE))
    response = _redirect(location)
    response.set_cookie(BROWSER_COOKIE, browser, max_age=current_app.config["OAUTH_STATE_MINUTES"] * 60,
                        path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=current_app.config["ENVIRONMENT"] == "production")
    return response


@blueprint.get("/auth/oauth/<provider>/callback")
@operation("Where the provider sends the browser back (the browser goes on to return_to)", tags=TAGS, parameters=[
    PROVIDER,
    Parameter("state", "query", "The state /start sent to the provider.", {"type": "string"}, required=True),
    Parameter("code", "query", "The provider's authorization code.", {"type": "string"}),
    Parameter("error", "query", "The provider's error (the person declined).", {"type": "string"})],
    replies=[Reply(302, "To return_to with a one-time `code` for POST /auth/oauth/exchange (or "
                        "`error=access_denied`).", headers=(LOCATION,)),
             problem(400, "The state is unknown, used, expired or from another browser; the provider refused "
                          "the code; or the address cannot be stored.",
                     "invalid_parameter", "oauth_state_invalid", "oauth_state_used", "oauth_state_expired",
                     "oauth_state_wrong_browser", "oauth_code_missing", "oauth_code_rejected",
                     "unsupported_characters"),
             problem(401, "The provider's ID token did not verify.", "oauth_id_token_invalid"),
             problem(403, "The provider has not verified the address, or the account is disabled.",
                     "oauth_email_unverified", "account_inactive"),
             problem(409, "The account is linked to another identity at this provider.",
                     "oauth_provider_already_linked", "oauth_account_conflict"),
             UNKNOWN_PROVIDER, PROVIDER_ERROR, NO_DATABASE])
def callback(provider: str) -> Response:
    location = services.callback(provider, _query("state"), _query("code", required=False),
                                 _query("error", required=False), request.cookies.get(BROWSER_COOKIE))
    # The cookie stays until it expires: other logins of this browser may still be under way.
    return _redirect(location)


@blueprint.post("/auth/oauth/exchange")
@operation("Trade the one-time code of a provider login for a token pair", tags=TAGS, body=OAuthExchange,
           replies=[Reply(200, "An access and a refresh token, as password login answers.", TokenPair),
                    problem(400, "The code is unknown, used or expired.", "oauth_code_invalid", "oauth_code_used",
                            "oauth_code_expired"),
                    problem(403, "The account is disabled.", "account_inactive"), NO_DATABASE])
def exchange() -> Response:
    body = parse_body(OAuthExchange)
    return json_response(services.exchange(body.code))


@blueprint.get("/users/me/identities")
@operation("The provider identities linked to the account", tags=TAGS, security="access",
           replies=[Reply(200, "The identities.", LinkedIdentities), NO_DATABASE])
@jwt_required()
def list_identities() -> Response:
    identities = [LinkedIdentity(**row).model_dump(mode="json") for row in services.identities(current_user)]
    return json_response({"identities": identities})


@blueprint.delete("/users/me/identities/<source>")
@operation("Unlink a provider identity (never the last way to log in)", tags=TAGS, security="access",
           parameters=[Parameter("source", "path", "The provider.", {"type": "string", "enum": list(PROVIDERS)},
                                 example="github")],
           replies=[Reply(204, "Unlinked."),
                    problem(404, "No identity of this provider is linked.", "oauth_identity_not_found"),
                    problem(409, "It is the only way to log in: no usable password and no other identity.",
                            "last_login_method"), NO_DATABASE])
@jwt_required()
def unlink_identity(source: str) -> Response:
    services.unlink(current_user, source)
    return Response(status=204)


def init_app(app: Flask) -> None:
    """Mount the blueprint."""
    from . import models  # noqa: F401  (the tables must be in the metadata Alembic compares)

    app.register_blueprint(blueprint)
