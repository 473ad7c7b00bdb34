"""Profile pictures: upload (JPEG, PNG or WebP, re-encoded as a 256x256 WebP without
metadata), delete, and serve from the database to anyone."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the endpoints."""
    from .views import init_app as init_views

    init_views(app)
