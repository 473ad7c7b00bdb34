"""HTTP endpoints of the accounts feature under /api/v1 (JSON in, JSON or problem+json out).

Views only parse, authenticate and shape answers; the rules live in `services`. A database
that cannot be reached gives 503 `database_unavailable` (errors.py), never a 500.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from flask_jwt_extended import current_user, get_jwt, jwt_required

from ..contract import Reply, operation, problem
from ..contract.operations import RETRY_AFTER
from ..jsonio import json_response, parse_body
from . import services
from .charset import require_storable
from .schemas import (
    Accepted,
    AccountDeletion,
    ApiKey,
    Confirmed,
    Done,
    EmailChangeUndo,
    EmailRequest,
    FeedbackRequest,
    LoginRequest,
    PasswordChange,
    PasswordReset,
    ProfileUpdate,
    SignupRequest,
    TokenPair,
    TokenRequest,
    UserProfile,
    WebsiteApiKey,
)

blueprint = Blueprint("accounts", __name__, url_prefix="/api/v1", template_folder="templates")
# The two paths the website's frontend calls for the API key, outside /api/v1.
website_blueprint = Blueprint("accounts_website", __name__)
log = logging.getLogger(__name__)

TAGS = ["accounts"]

# Every accounts endpoint may find the database gone; mail-sending ones are throttled per address.
NO_DATABASE = problem(503, "The database is unavailable.", "database_unavailable", headers=(RETRY_AFTER,))
THROTTLED = problem(429, "Too many attempts from this address or for this account.", "too_many_attempts",
                    headers=(RETRY_AFTER,))
WRONG_PASSWORD = problem(401, "The password is wrong.", "invalid_credentials")
BAD_LINK = problem(400, "The emailed token is unknown, used or expired.", "token_invalid", "token_used",
                   "token_expired")
REAUTHENTICATE = problem(403, "Needs the current password or a login within REAUTH_SECONDS.",
                         "reauthentication_required")
EMAIL_TAKEN = problem(409, "The address now belongs to another account.", "email_taken")
UNSUPPORTED_CHARACTERS = problem(400, "A field has characters OpenML's latin1 tables cannot hold.",
                                 "unsupported_characters")
ACCEPTED = Reply(202, "Accepted; the same answer whether or not the address has an account.", Accepted)
CHECK_EMAIL = "If the address can receive mail, a message is on its way; check your inbox."


def _accepted(detail: str = CHECK_EMAIL) -> Response:
    return json_response({"status": "accepted", "detail": detail}, status=202)


def _client_address() -> str:
    # The socket peer, or the forwarded client when the peer is in TRUSTED_PROXIES (security.py).
    return request.remote_addr or "unknown"


def _profile_response(profile: dict) -> Response:
    return json_response(UserProfile(**profile).model_dump(mode="json"))


@blueprint.post("/auth/signup")
@operation("Create an account (a confirmation link is emailed)", tags=TAGS, body=SignupRequest,
           replies=[ACCEPTED, UNSUPPORTED_CHARACTERS, THROTTLED, NO_DATABASE])
def signup() -> Response:
    body = parse_body(SignupRequest)
    require_storable({"first_name": body.first_name, "last_name": body.last_name})
    services.count_email_request(_client_address())
    services.count_mail(body.email)
    services.signup(body.email, body.password, body.first_name, body.last_name)
    return _accepted()


@blueprint.post("/auth/confirm")
@operation("Confirm an account or a new email address with an emailed token", tags=TAGS,
           body=TokenRequest, replies=[Reply(200, "Confirmed.", Confirmed), BAD_LINK, EMAIL_TAKEN, NO_DATABASE])
def confirm() -> Response:
    body = parse_body(TokenRequest)
    purpose = services.confirm(body.token)
    return json_response({"status": "confirmed", "confirmed": "account" if purpose == "confirm" else "email"})


@blueprint.post("/auth/confirm/resend")
@operation("Email a new confirmation link", tags=TAGS, body=EmailRequest,
           replies=[ACCEPTED, THROTTLED, NO_DATABASE])
def resend_confirmation() -> Response:
    body = parse_body(EmailRequest)
    services.count_email_request(_client_address())
    services.count_mail(body.email)
    services.resend_confirmation(body.email)
    return _accepted()


@blueprint.post("/auth/login")
@operation("Log in with email or username and password", tags=TAGS, body=LoginRequest, replies=[
    Reply(200, "An access and a refresh token.", TokenPair),
    problem(401, "Unknown account or wrong password (the same answer for both).", "invalid_credentials"),
    problem(403, "The account is not confirmed yet.", "account_not_confirmed"),
    THROTTLED, NO_DATABASE])
def login() -> Response:
    body = parse_body(LoginRequest)
    identifier = body.email if body.email is not None else body.username
    return json_response(services.login(identifier, body.password, _client_address()))


@blueprint.post("/auth/refresh")
@operation("Trade a refresh token for a new pair (the old one is used up)", tags=TAGS, security="refresh",
           replies=[Reply(200, "A new access and refresh token.", TokenPair),
                    problem(401, "The refresh token was already used: every token of the account is revoked.",
                            "refresh_token_reused"), NO_DATABASE])
@jwt_required(refresh=True)
def refresh() -> Response:
    return json_response(services.refresh(current_user, get_jwt()))


@blueprint.post("/auth/logout")
@operation("Revoke this access token and its refresh token", tags=TAGS, security="access",
           replies=[Reply(200, "Logged out.", Done), NO_DATABASE])
@jwt_required()
def logout() -> Response:
    services.logout(current_user, get_jwt())
    return json_response({"status": "logged_out"})


@blueprint.post("/auth/logout-all")
@operation("Revoke every token of the account", tags=TAGS, security="access",
           replies=[Reply(200, "Logged out everywhere.", Done), NO_DATABASE])
@jwt_required()
def logout_all() -> Response:
    services.logout_everywhere(current_user)
    return json_response({"status": "logged_out_everywhere"})


@blueprint.post("/auth/password/forgot")
@operation("Email a password reset link", tags=TAGS, body=EmailRequest,
           replies=[ACCEPTED, THROTTLED, NO_DATABASE])
def forgot_password() -> Response:
    body = parse_body(EmailRequest)
    services.count_email_request(_client_address())
    services.count_mail(body.email)
    services.forgot_password(body.email)
    return _accepted()


@blueprint.post("/auth/password/reset")
@operation("Set a new password with an emailed reset token", tags=TAGS, body=PasswordReset,
           replies=[Reply(200, "Password set; every token, pending email change and link revoked.", Done),
                    BAD_LINK, NO_DATABASE])
def reset_password() -> Response:
    body = parse_body(PasswordReset)
    services.reset_password(body.token, body.new_password, body.rotate_api_key)
    return json_response({"status": "password_reset"})


@blueprint.post("/auth/email/undo")
@operation("Put back the address an email change replaced (token mailed to that address)", tags=TAGS,
           body=EmailChangeUndo, replies=[
               Reply(200, "Address restored, password set, every token and link revoked.", Done), BAD_LINK,
               EMAIL_TAKEN, NO_DATABASE])
def undo_email_change() -> Response:
    body = parse_body(EmailChangeUndo)
    services.undo_email_change(body.token, body.new_password, body.rotate_api_key)
    return json_response({"status": "email_restored"})


@blueprint.get("/users/me")
@operation("The profile of the logged-in user", tags=TAGS, security="access",
           replies=[Reply(200, "The profile.", UserProfile), NO_DATABASE])
@jwt_required()
def get_profile() -> Response:
    return _profile_response(services.profile(current_user))


@blueprint.patch("/users/me")
@operation("Change names, bio, company, country, username or email (a new email needs current_password "
           "or a recent login, and waits for its link)", tags=TAGS, security="access", body=ProfileUpdate,
           replies=[Reply(200, "The updated profile; the same for a free and a taken new address.", UserProfile),
                    UNSUPPORTED_CHARACTERS, WRONG_PASSWORD, REAUTHENTICATE,
                    problem(409, "Another account has this username.", "username_taken"), THROTTLED, NO_DATABASE])
@jwt_required()
def update_profile() -> Response:
    body = parse_body(ProfileUpdate)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    require_storable({name: value for name, value in changes.items() if name != "current_password"})
    return _profile_response(services.update_profile(current_user, changes, get_jwt(), _client_address()))


@blueprint.delete("/users/me")
@operation("Delete the account (password required)", tags=TAGS, security="access", body=AccountDeletion,
           replies=[Reply(204, "Deleted; its tokens stop working."), WRONG_PASSWORD, THROTTLED, NO_DATABASE])
@jwt_required()
def delete_account() -> Response:
    body = parse_body(AccountDeletion)
    services.delete_account(current_user, body.password, _client_address())
    return Response(status=204)


@blueprint.put("/users/me/password")
@operation("Change the password; other sessions are logged out", tags=TAGS, security="access",
           body=PasswordChange, replies=[Reply(200, "A new token pair for this session.", TokenPair),
                                         WRONG_PASSWORD, THROTTLED, NO_DATABASE])
@jwt_required()
def change_password() -> Response:
    body = parse_body(PasswordChange)
    return json_response(services.change_password(current_user, body.current_password, body.new_password,
                                                  _client_address(), body.rotate_api_key))


@blueprint.get("/users/me/api-key")
@operation("The OpenML API key of the account (needs a login within REAUTH_SECONDS)", tags=TAGS,
           security="access", replies=[Reply(200, "The key.", ApiKey), REAUTHENTICATE, NO_DATABASE])
@jwt_required()
def get_api_key() -> Response:
    return json_response({"api_key": services.api_key(current_user, get_jwt())})


@blueprint.post("/users/me/api-key")
@operation("Replace the API key with a new one (needs a login within REAUTH_SECONDS)", tags=TAGS,
           security="access", replies=[Reply(200, "The new key.", ApiKey), REAUTHENTICATE,
                                       problem(409, "No unique key could be generated (practically never).",
                                               "api_key_collision"), NO_DATABASE])
@jwt_required()
def regenerate_api_key() -> Response:
    return json_response({"api_key": services.regenerate_api_key(current_user, get_jwt())})


@website_blueprint.get("/api-key")
@operation("The OpenML API key, in the shape the website reads (alias of GET /api/v1/users/me/api-key)",
           tags=TAGS, security="access",
           replies=[Reply(200, "The key.", WebsiteApiKey), REAUTHENTICATE, NO_DATABASE])
@jwt_required()
def website_api_key() -> Response:
    return json_response({"apikey": services.api_key(current_user, get_jwt())})


@website_blueprint.post("/api-key/regenerate")
@operation("Replace the API key (alias of POST /api/v1/users/me/api-key)", tags=TAGS, security="access",
           replies=[Reply(200, "The new key.", ApiKey), REAUTHENTICATE,
                    problem(409, "No unique key could be generated (practically never).", "api_key_collision"),
                    NO_DATABASE])
@jwt_required()
def website_regenerate_api_key() -> Response:
    return json_response({"api_key": services.regenerate_api_key(current_user, get_jwt())})


@blueprint.post("/feedback")
@operation("Send feedback to the OpenML team", tags=TAGS, body=FeedbackRequest,
           replies=[ACCEPTED, THROTTLED, NO_DATABASE])
def feedback() -> Response:
    body = parse_body(FeedbackRequest)
    services.send_feedback(body.email, body.message, _client_address())
    return _accepted("Thank you; your message was passed on.")


def init_app(app: Flask) -> None:
    """Mount the blueprint and wire JWT revocation and error shapes."""
    from ..extensions import jwt
    from . import models  # noqa: F401  (the tables must be in the metadata Alembic compares)
    from .tokens import register_token_callbacks

    register_token_callbacks(jwt, app)
    app.register_blueprint(blueprint)
    app.register_blueprint(website_blueprint)
