"""Contributions: website users edit and tag datasets and create tasks and studies on OpenML
with their own OpenML API key (``users.session_hash``); see docs/contributions.md.

``openml_calls.run_as_user`` runs one ``openml`` client write with one user's key in a child
process of its own (``child``), bounded by OPENML_TIMEOUT, and maps OpenML's answers to the
API's errors; ``descriptions`` reads a dataset's description for the editor; ``views`` are the
endpoints, ``schemas`` their bodies.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the endpoints (views)."""
    from .views import init_app as init_views

    init_views(app)
