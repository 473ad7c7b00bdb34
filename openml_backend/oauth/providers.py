"""The two login providers and the protocol work with them, done by Authlib: the
authorization URL (with the PKCE S256 challenge), the code-for-token exchange, and what the
provider says about the person (GitHub's API; Google's ID token, verified against its JWKS).

Every request to a provider has OAUTH_TIMEOUT; a provider that cannot be reached or answers
nonsense is 502, a refused authorization code 400, an ID token that fails verification 401.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ..errors import BadGateway, BadRequest, NotFound, Unauthorized

log = logging.getLogger(__name__)

GITHUB, GOOGLE = "github", "google"
PROVIDERS = (GITHUB, GOOGLE)
# The algorithm Google signs ID tokens with; nothing else is accepted (no `none`, no HMAC).
ID_TOKEN_ALGORITHMS = ["RS256"]
# Clock difference tolerated between Google and this service when checking exp and iat.
ID_TOKEN_LEEWAY_SECONDS = 60
_SCOPES = {GITHUB: "read:user user:email", GOOGLE: "openid email profile"}


@dataclass(frozen=True)
class Provider:
    """A configured provider: its client credentials and endpoints."""

    name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str

    @property
    def openid(self) -> bool:
        """True for OpenID Connect (an ID token carries the identity)."""
        return self.name == GOOGLE


@dataclass(frozen=True)
class Identity:
    """Who the provider says logged in: its stable user id, the address and whether the
    provider verified it, and names for a new account."""

    source: str
    external_id: str
    email: str
    email_verified: bool
    first_name: str = ""
    last_name: str = ""


def _config(name: str) -> Any:
    return current_app.config[name]


def provider(name: str) -> Provider:
    """The provider `name` when it is known and has a client id; else 404."""
    prefix = name.upper()
    if name not in PROVIDERS or not _config(f"{prefix}_CLIENT_ID"):
        raise NotFound("This login provider is not available.", code="not_found")
    return Provider(name=name, client_id=_config(f"{prefix}_CLIENT_ID"),
                    client_secret=_config(f"{prefix}_CLIENT_SECRET") or "",
                    authorize_url=_config(f"{prefix}_AUTHORIZE_URL"), token_url=_config(f"{prefix}_TOKEN_URL"))


def redirect_uri(name: str) -> str:
    """The callback address registered at the provider (under URL_API)."""
    return f"{_config('URL_API')}/api/v1/auth/oauth/{name}/callback"


def _session(chosen: Provider, token: dict[str, Any] | None = None) -> OAuth2Session:
    return OAuth2Session(chosen.client_id, chosen.client_secret, scope=_SCOPES[chosen.name],
                         redirect_uri=redirect_uri(chosen.name), code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_post", token=token)


def authorization_url(chosen: Provider, state: str, code_verifier: str, nonce: str) -> str:
    """Where to send the browser: the provider's login page for this `state`, with the S256
    challenge of `code_verifier` (and `nonce` for OpenID Connect)."""
    extra = {"nonce": nonce} if chosen.openid else {}
    with _session(chosen) as session:
        url, _ = session.create_authorization_url(chosen.authorize_url, state=state, code_verifier=code_verifier,
                                                  **extra)
    return url


def identify(chosen: Provider, code: str, code_verifier: str, nonce: str) -> Identity:
    """Trade the authorization `code` (with the PKCE verifier) for tokens and return who
    logged in, as the provider vouches for it."""
    timeout = _config("OAUTH_TIMEOUT")
    with _session(chosen) as session:
        try:
            token = session.fetch_token(chosen.token_url, code=code, code_verifier=code_verifier,
                                        grant_type="authorization_code", timeout=timeout)
        except OAuthError as error:
            log.info("provider refused the authorization code", extra={"provider": chosen.name,
                                                                        "error": error.error})
            raise BadRequest("The provider refused the login; start again.", code="oauth_code_rejected") from None
        except (requests.RequestException, ValueError) as error:
            raise _unreachable(chosen, error) from None
        if chosen.openid:
            return _google_identity(chosen, token, nonce, timeout)
        return _github_identity(session, timeout)


def _unreachable(chosen: Provider, error: Exception) -> BadGateway:
    log.warning("login provider unusable", extra={"provider": chosen.name, "error_type": type(error).__name__})
    return BadGateway("The login provider could not be reached or answered something unusable.",
                      code="oauth_provider_error")


def _google_identity(chosen: Provider, token: dict[str, Any], nonce: str, timeout: float) -> Identity:
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise _unreachable(chosen, ValueError("no id_token"))
    try:
        response = requests.get(_config("GOOGLE_JWKS_URL"), timeout=timeout)
        response.raise_for_status()
        keys = KeySet.import_key_set(response.json())
    except (requests.RequestException, ValueError, JoseError) as error:
        raise _unreachable(chosen, error) from None
    try:
        decoded = jwt.decode(raw, keys, registry=JWSRegistry(algorithms=ID_TOKEN_ALGORITHMS))
        claims = CodeIDToken(
            decoded.claims, decoded.header,
            {"iss": {"essential": True, "value": _config("GOOGLE_ISSUER")},
             "aud": {"essential": True, "value": chosen.client_id},
             "sub": {"essential": True}, "nonce": {"essential": True, "value": nonce}},
            {"nonce": nonce, "client_id": chosen.client_id, "access_token": token.get("access_token")},
        )
        claims.validate(leeway=ID_TOKEN_LEEWAY_SECONDS)
    except (JoseError, ValueError) as error:
        log.warning("ID token refused", extra={"provider": chosen.name, "error_type": type(error).__name__})
        raise Unauthorized("The provider's ID token did not verify.", code="oauth_id_token_invalid") from None
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise Unauthorized("The provider's ID token has no email address.", code="oauth_id_token_invalid")
    return Identity(source=GOOGLE, external_id=str(claims["sub"]), email=email,
                    email_verified=claims.get("email_verified") is True,
                    first_name=_text(claims.get("given_name")), last_name=_text(claims.get("family_name")))


def _github_identity(session: OAuth2Session, timeout: float) -> Identity:
    api = _config("GITHUB_API_URL")
    headers = {"Accept": "application/vnd.github+json"}
    try:
        user = session.get(f"{api}/user", headers=headers, timeout=timeout)
        emails = session.get(f"{api}/user/emails", headers=headers, timeout=timeout)
        user.raise_for_status()
        emails.raise_for_status()
        user_id, addresses = user.json()["id"], emails.json()
        primary = next(entry for entry in addresses if entry.get("primary"))
        email = primary["email"]
    except (requests.RequestException, ValueError, KeyError, TypeError, StopIteration, AttributeError) as error:
        raise _unreachable(provider(GITHUB), error) from None
    if not isinstance(email, str) or not email or isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise _unreachable(provider(GITHUB), ValueError("unusable user"))
    first, _, last = _text(user.json().get("name")).partition(" ")
    return Identity(source=GITHUB, external_id=str(user_id), email=email,
                    email_verified=primary.get("verified") is True, first_name=first, last_name=last)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
