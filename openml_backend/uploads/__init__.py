"""Dataset uploads, POST /api/v1/datasets (`views`).

Without Flask: receive a file with a byte limit (`receive`), tell its format by content
(`formats`), check it with bounded memory (`checks`), the metadata (`metadata`), and what the
OpenML write child runs to publish it (`publish`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the upload endpoint."""
    from .views import init_app as init_views

    init_views(app)
