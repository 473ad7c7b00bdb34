"""Response headers every answer carries, and the client address behind trusted proxies only.

Headers:
- `X-Content-Type-Options: nosniff` on every response;
- `Strict-Transport-Security` when HSTS_SECONDS > 0 (production's default: one year);
- `Cache-Control: no-store` on every response of the blueprints in NO_STORE_BLUEPRINTS (the
  accounts, OAuth, passkeys, contributions and uploads features: tokens, profiles, API keys,
  passkeys, one's own picture upload; their errors too, which is harmless);
- a Content-Security-Policy that allows nothing but inline styles, and no framing, on the HTML
  documentation page (its only HTML).

Body size: a body sent with `Transfer-Encoding: chunked` has no Content-Length to check
against MAX_CONTENT_LENGTH up front, and werkzeug silently cuts it at the limit (the cut JSON
then reads as malformed, 400). `refuse_oversized_chunked_body` reads at most one byte past the
limit first and answers 413 payload_too_large.

Client address: X-Forwarded-For is a header any client can send. It is read (for
PROXY_FIX_HOPS hops, werkzeug's ProxyFix) only when the socket peer is inside one of the
TRUSTED_PROXIES networks; from any other peer it is dropped before the app sees it, so the
socket address is the client's address for the login and email throttles.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

# Not "avatars": the pictures it serves are public and cacheable (avatars/views.py).
NO_STORE_BLUEPRINTS = frozenset({"accounts", "accounts_website", "avatars_me", "contributions", "oauth", "passkeys",
                                 "uploads"})
# The docs page has an inline <style> block and style attributes, and loads nothing else.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_ENDPOINTS = frozenset({"contract.docs"})
_FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
                      "HTTP_X_FORWARDED_PREFIX", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED")


class TrustedProxyFix:
    """WSGI middleware: honour X-Forwarded-For (`hops` proxies deep) only from a peer in
    `trusted`; from every other peer remove the forwarding headers and keep REMOTE_ADDR."""

    def __init__(self, app: Any, trusted: Iterable[str | IPv4Network | IPv6Network], hops: int) -> None:
        self.trusted = tuple(ip_network(str(network), strict=False) for network in trusted)
        self.hops = hops
        self.app = app
        self._through_proxy = ProxyFix(app, x_for=hops) if hops else app

    def peer_is_trusted(self, remote_addr: str | None) -> bool:
        """True when `remote_addr` (the socket peer) is in one of the trusted networks."""
        try:
            address = ip_address(remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if self.hops and self.peer_is_trusted(environ.get("REMOTE_ADDR")):
            return self._through_proxy(environ, start_response)
        for name in _FORWARDED_HEADERS:
            environ.pop(name, None)
        return self.app(environ, start_response)


def add_security_headers(response: Response, hsts_seconds: int) -> Response:
    """Set the headers every response carries, plus those its endpoint needs."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if hsts_seconds > 0:
        response.headers["Strict-Transport-Security"] = f"max-age={hsts_seconds}"
    if request.blueprint in NO_STORE_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    if request.endpoint in DOCS_ENDPOINTS:
        response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response


def refuse_oversized_chunked_body() -> None:
    """Raise 413 when a chunked body is longer than MAX_CONTENT_LENGTH; otherwise leave the
    body (at most the limit, already read) for the view to read as usual."""
    limit = request.max_content_length
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if limit is None or not chunked or request.content_length is not None:
        return
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    request.environ["wsgi.input"] = io.BytesIO(body)


def init_app(app: Flask) -> None:
    """Add the security headers to every response, refuse oversized chunked bodies, and trust
    X-Forwarded-For only from TRUSTED_PROXIES (for PROXY_FIX_HOPS hops)."""
    hsts_seconds = app.config["HSTS_SECONDS"]
    app.before_request(refuse_oversized_chunked_body)

    @app.after_request
    def security_headers(response: Response) -> Response:
        return add_security_headers(response, hsts_seconds)

    app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, app.config["TRUSTED_PROXIES"], app.config.get("PROXY_FIX_HOPS", 0))
