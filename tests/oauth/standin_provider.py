"""A stand-in OAuth 2.0 / OpenID Connect provider over real HTTP, in a thread of the test process.

It plays GitHub (client id GITHUB_CLIENT) and Google (client id GOOGLE_CLIENT) at once:

* ``GET /authorize`` logs `user` in at once and redirects to ``redirect_uri`` with a new
  ``code`` and the ``state`` it was given; it records the S256 ``code_challenge`` and the
  ``nonce``, and refuses any other challenge method;
* ``POST /token`` (client_secret_post) trades a code once, only with the right client
  secret, redirect_uri and PKCE verifier (else 400 ``invalid_grant``, as real providers do);
  for Google it adds an RS256 ID token signed with the key published at ``GET /jwks``;
* ``GET /user`` and ``GET /user/emails`` answer like GitHub's API for the bearer token.

`id_token_fault` makes the next ID tokens wrong in one way (see FAULTS).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

GITHUB_CLIENT, GOOGLE_CLIENT = "github-client-id", "google-client-id"
CLIENT_SECRETS = {GITHUB_CLIENT: "github-client-secret-for-tests", GOOGLE_CLIENT: "google-client-secret-for-tests"}
KEY_ID = "standin-key-1"
FAULTS = ("wrong_audience", "wrong_issuer", "expired", "bad_signature", "wrong_nonce")


@dataclass(frozen=True)
class ProviderUser:
    """The person who logs in at the provider."""

    id: str
    email: str
    verified: bool = True
    name: str = "Grace Hopper"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user: ProviderUser
    used: bool = False


@dataclass
class _State:
    user: ProviderUser = field(default_factory=lambda: ProviderUser("1001", "grace@example.org"))
    id_token_fault: str | None = None
    grants: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, ProviderUser] = field(default_factory=dict)
    token_requests: int = 0


class StandinProvider:
    """The server; `base_url` is where it listens. Use as a context manager."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID})
        self.state = _State()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandinProvider:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self, user: ProviderUser | None = None) -> None:
        """Forget every grant and fault; `user` logs in from now on."""
        with self.lock:
            self.state = _State(**({"user": user} if user else {}))

    def log_in_as(self, user: ProviderUser) -> None:
        with self.lock:
            self.state.user = user

    def id_token_fault(self, fault: str | None) -> None:
        assert fault is None or fault in FAULTS
        with self.lock:
            self.state.id_token_fault = fault

    # --- the endpoints' work ----------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        client_id = query.get("client_id", "")
        if client_id not in CLIENT_SECRETS or query.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request"}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, {"error": "invalid_request", "error_description": "PKCE S256 required"}
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.state.grants[code] = _Grant(client_id, query["redirect_uri"], query["code_challenge"],
                                             query.get("nonce"), self.state.user)
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return 302, {"Location": location}, None

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.state.token_requests += 1
            grant = self.state.grants.get(form.get("code", ""))
            client_id = form.get("client_id", "")
            if CLIENT_SECRETS.get(client_id) != form.get("client_secret"):
                return 401, {}, {"error": "invalid_client"}
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (grant is None or grant.used or grant.client_id != client_id
                    or grant.redirect_uri != form.get("redirect_uri") or grant.challenge != challenge
                    or form.get("grant_type") != "authorization_code"):
                return 400, {}, {"error": "invalid_grant"}
            grant.used = True
            access_token = secrets.token_urlsafe(24)
            self.state.access_tokens[access_token] = grant.user
            fault = self.state.id_token_fault
        answer = {"access_token": access_token, "token_type": "bearer", "scope": "read"}
        if client_id == GOOGLE_CLIENT:
            answer["id_token"] = self._id_token(grant, fault)
        return 200, {}, answer

    def _id_token(self, grant: _Grant, fault: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.base_url, "aud": GOOGLE_CLIENT, "sub": grant.user.id, "email": grant.user.email,
                  "email_verified": grant.user.verified, "given_name": grant.user.name.split(" ")[0],
                  "family_name": grant.user.name.split(" ")[-1], "iat": now, "exp": now + 3600,
                  "nonce": grant.nonce}
        if fault == "wrong_audience":
            claims["aud"] = "someone-elses-client-id"
        elif fault == "wrong_issuer":
            claims["iss"] = "https://evil.example"
        elif fault == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif fault == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        key = self.other_key if fault == "bad_signature" else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def github_api(self, path: str, authorization: str) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            user = self.state.access_tokens.get(authorization.removeprefix("Bearer ").strip())
        if user is None:
            return 401, {}, {"message": "Bad credentials"}
        if path == "/user":
            return 200, {}, {"id": int(user.id), "login": user.email.split("@")[0], "name": user.name}
        return 200, {}, [{"email": f"other-{user.email}", "primary": False, "verified": True, "visibility": None},
                         {"email": user.email, "primary": True, "verified": user.verified, "visibility": "public"}]


def _handler(provider: StandinProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            if parts.path == "/authorize":
                self._send(*provider.authorize(query))
            elif parts.path == "/jwks":
                self._send(200, {}, provider.jwks())
            elif parts.path in ("/user", "/user/emails"):
                self._send(*provider.github_api(parts.path, self.headers.get("Authorization", "")))
            else:
                self._send(404, {}, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._send(*provider.token(form))
            else:
                self._send(404, {}, {"error": "not_found"})

        def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


__all__ = ["CLIENT_SECRETS", "GITHUB_CLIENT", "GOOGLE_CLIENT", "ProviderUser", "StandinProvider"]
