"""HTTP endpoints of the accounts feature under /api/v1 (JSON in, JSON or problem+json out).

Views only parse, authenticate and shape answers; the rules live in `services`. A database
that cannot be reached gives 503 `database_unavailable`, never a 500.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from flask_jwt_extended import current_user, get_jwt, jwt_required
from sqlalchemy import exc

from ..errors import problem_response
from ..extensions import db
from ..jsonio import json_response, parse_body
from . import services
from .schemas import (
    AccountDeletion,
    EmailRequest,
    FeedbackRequest,
    LoginRequest,
    PasswordChange,
    PasswordReset,
    ProfileUpdate,
    SignupRequest,
    TokenRequest,
    UserProfile,
)

blueprint = Blueprint("accounts", __name__, url_prefix="/api/v1", template_folder="templates")
log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5
CHECK_EMAIL = "If the address can receive mail, a message is on its way; check your inbox."


def _accepted(detail: str = CHECK_EMAIL) -> Response:
    return json_response({"status": "accepted", "detail": detail}, status=202)


def _client_address() -> str:
    # remote_addr is the socket peer unless PROXY_FIX_HOPS trusts a proxy's X-Forwarded-For.
    return request.remote_addr or "unknown"


def _profile_response(profile: dict) -> Response:
    return json_response(UserProfile(**profile).model_dump(mode="json"))


@blueprint.errorhandler(exc.OperationalError)
@blueprint.errorhandler(exc.InterfaceError)
@blueprint.errorhandler(exc.TimeoutError)
def database_unavailable(error: Exception) -> Response:
    """A lost or unreachable database is a temporary 503, not a bug."""
    log.error("database unavailable", extra={"error_type": type(error).__name__})
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded with the request
        pass
    return problem_response(503, "database_unavailable", "The database is unavailable; try again shortly.",
                            {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


@blueprint.post("/auth/signup")
def signup() -> Response:
    body = parse_body(SignupRequest)
    services.count_email_request(_client_address())
    services.signup(body.email, body.password, body.first_name, body.last_name)
    return _accepted()


@blueprint.post("/auth/confirm")
def confirm() -> Response:
    body = parse_body(TokenRequest)
    purpose = services.confirm(body.token)
    return json_response({"status": "confirmed", "confirmed": "account" if purpose == "confirm" else "email"})


@blueprint.post("/auth/confirm/resend")
def resend_confirmation() -> Response:
    body = parse_body(EmailRequest)
    services.count_email_request(_client_address())
    services.resend_confirmation(body.email)
    return _accepted()


@blueprint.post("/auth/login")
def login() -> Response:
    body = parse_body(LoginRequest)
    identifier = body.email if body.email is not None else body.username
    return json_response(services.login(identifier, body.password, _client_address()))


@blueprint.post("/auth/refresh")
@jwt_required(refresh=True)
def refresh() -> Response:
    return json_response(services.refresh(current_user, get_jwt()))


@blueprint.post("/auth/logout")
@jwt_required()
def logout() -> Response:
    services.logout(current_user, get_jwt())
    return json_response({"status": "logged_out"})


@blueprint.post("/auth/logout-all")
@jwt_required()
def logout_all() -> Response:
    services.logout_everywhere(current_user)
    return json_response({"status": "logged_out_everywhere"})


@blueprint.post("/auth/password/forgot")
def forgot_password() -> Response:
    body = parse_body(EmailRequest)
    services.count_email_request(_client_address())
    services.forgot_password(body.email)
    return _accepted()


@blueprint.post("/auth/password/reset")
def reset_password() -> Response:
    body = parse_body(PasswordReset)
    services.reset_password(body.token, body.new_password)
    return json_response({"status": "password_reset"})


@blueprint.get("/users/me")
@jwt_required()
def get_profile() -> Response:
    return _profile_response(services.profile(current_user))


@blueprint.patch("/users/me")
@jwt_required()
def update_profile() -> Response:
    body = parse_body(ProfileUpdate)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return _profile_response(services.update_profile(current_user, changes))


@blueprint.delete("/users/me")
@jwt_required()
def delete_account() -> Response:
    body = parse_body(AccountDeletion)
    services.delete_account(current_user, body.password, _client_address())
    return Response(status=204)


@blueprint.put("/users/me/password")
@jwt_required()
def change_password() -> Response:
    body = parse_body(PasswordChange)
    return json_response(services.change_password(current_user, body.current_password, body.new_password,
                                                  _client_address()))


@blueprint.get("/users/me/api-key")
@jwt_required()
def get_api_key() -> Response:
    return json_response({"api_key": services.api_key(current_user)})


@blueprint.post("/users/me/api-key")
@jwt_required()
def regenerate_api_key() -> Response:
    return json_response({"api_key": services.regenerate_api_key(current_user)})


@blueprint.post("/feedback")
def feedback() -> Response:
    body = parse_body(FeedbackRequest)
    services.send_feedback(body.email, body.message, _client_address())
    return _accepted("Thank you; your message was passed on.")


def init_app(app: Flask) -> None:
    """Mount the blueprint, wire JWT revocation and error shapes, and trust a proxy if told to."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from ..extensions import jwt
    from . import models  # noqa: F401  (the tables must be in the metadata Alembic compares)
    from .tokens import register_token_callbacks

    register_token_callbacks(jwt, app)
    app.register_blueprint(blueprint)
    hops = app.config.get("PROXY_FIX_HOPS", 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
