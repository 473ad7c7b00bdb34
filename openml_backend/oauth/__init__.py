"""Login with GitHub and Google (OAuth 2.0 authorization code with PKCE, OpenID Connect for
Google), run by the server: linked provider identities, and a one-time code that hands a
finished login to the website."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the endpoints."""
    from .views import init_app as init_views

    init_views(app)
