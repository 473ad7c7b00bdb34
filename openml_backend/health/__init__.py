"""Liveness and readiness endpoints for the Kubernetes probes."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount GET /health and GET /health/ready."""
    from .views import blueprint

    app.register_blueprint(blueprint)
