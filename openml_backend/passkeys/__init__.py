"""Passkeys (WebAuthn): register a passkey while logged in, log in with it without an email
address (discoverable credentials), list, rename and remove one's passkeys.

The WebAuthn checks themselves (attestation, assertion signatures, origin, RP ID, flags) are
py_webauthn's; this package keeps the challenges and credentials in the database and turns a
verified assertion into the same token pair as a password login."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask

log = logging.getLogger(__name__)


def rp_id_fits_origin(rp_id: str, origin: str) -> bool:
    """True when `rp_id` is the host of `origin` or a parent domain of it, as browsers require."""
    host = (urlsplit(origin).hostname or "").lower()
    rp_id = rp_id.lower()
    return host == rp_id or host.endswith("." + rp_id)


def init_app(app: Flask) -> None:
    """Mount the passkey endpoints; warn when RP_ID cannot serve RP_ORIGIN (every ceremony
    would fail in the browser)."""
    from .views import init_app as init_views

    if not rp_id_fits_origin(app.config["RP_ID"], app.config["RP_ORIGIN"]):
        log.warning("RP_ID is neither the host of RP_ORIGIN nor a parent domain of it: passkeys will not work",
                    extra={"rp_id": app.config["RP_ID"], "rp_origin": app.config["RP_ORIGIN"]})
    init_views(app)
