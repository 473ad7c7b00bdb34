"""User accounts: signup with email confirmation, login with JWT, refresh rotation, logout
everywhere, profile, API key, password reset and feedback."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the endpoints (with JWT revocation and a trusted proxy if configured) and the
    `flask accounts` commands."""
    from .commands import accounts_cli
    from .views import init_app as init_views

    init_views(app)
    app.cli.add_command(accounts_cli)
