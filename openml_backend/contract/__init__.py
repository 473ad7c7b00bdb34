"""The API contract: OpenAPI 3.1 generated from the views' declarations and pydantic models.

Each view declares its request body, parameters and every response it can give with
`@operation(...)`; `document.build_document(app)` walks `app.url_map` and turns those
declarations into the document served at /api/v1/openapi.json (and rendered as HTML at
/api/v1/docs). Requests are still parsed by the views (`jsonio.parse_body`), so validation
errors keep the project's one problem+json shape.
"""

from __future__ import annotations

from .operations import (
    Header,
    Parameter,
    Reply,
    operation,
    problem,
)

__all__ = ["Header", "Parameter", "Reply", "operation", "problem", "init_app"]


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    """Mount /api/v1/openapi.json and /api/v1/docs."""
    from .views import blueprint

    app.register_blueprint(blueprint)
