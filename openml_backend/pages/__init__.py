"""Pages for people: GET /datasets/<id>, a dataset's statistics as server-rendered HTML.

`views` serves the page and its error pages, `layout` decides what it shows (no Flask), `svg`
draws its charts (no Flask). The statistics come from `openml_backend.datasets`.
"""

from __future__ import annotations

from flask import Flask

from ..errors import register_error_page


def init_app(app: Flask) -> None:
    """Mount /datasets/<id> and render the errors of /datasets/... as pages."""
    from .views import blueprint, error_page

    app.register_blueprint(blueprint)
    register_error_page(app, "/datasets/", error_page)
