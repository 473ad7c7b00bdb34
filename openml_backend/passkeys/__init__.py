"""Passkeys (WebAuthn): register a passkey while logged in, log in with it without an email
address (discoverable credentials), list, rename and remove one's passkeys.

The WebAuthn checks themselves (attestation, assertion signatures, origin, RP ID, flags) are
py_webauthn's; this package keeps the challenges and credentials in the database and turns a
verified assertion into the same token pair as a password login."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the passkey endpoints."""
    from .views import init_app as init_views

    init_views(app)
