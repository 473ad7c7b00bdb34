"""GET /api/v1/openapi.json (the contract) and GET /api/v1/docs (the same, as plain HTML).

The docs page is rendered on the server from the document: no JavaScript and no third-party
CDN, so it works offline and inside the cluster (a Swagger UI or Redoc bundle would have to
be vendored or pulled from a CDN, which the team has not decided to do).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template

from pydantic import BaseModel, ConfigDict

from ..jsonio import json_response
from .document import build_document
from .operations import Reply, operation

blueprint = Blueprint("contract", __name__, url_prefix="/api/v1", template_folder="templates")

_DOCUMENT_KEY = "openml_backend.openapi_document"


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (only its top level is described here)."""

    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


def current_document() -> dict[str, Any]:
    """The app's OpenAPI document, built on first use (routes do not change after start-up)."""
    document = current_app.extensions.get(_DOCUMENT_KEY)
    if document is None:
        document = build_document(current_app)
        current_app.extensions[_DOCUMENT_KEY] = document
    return document


@blueprint.get("/openapi.json")
@operation("The OpenAPI 3.1 document of this API", tags=["contract"],
           replies=[Reply(200, "This document.", OpenApiDocument)])
def openapi_json() -> Response:
    """The contract of every endpoint, generated from the code."""
    return json_response(current_document())


@blueprint.get("/docs")
@operation("This API's documentation as HTML", tags=["contract"],
           replies=[Reply(200, "A readable page, without scripts.", media_type="text/html")])
def docs() -> Response:
    """The contract rendered as one HTML page (no JavaScript, nothing loaded from elsewhere)."""
    document = current_document()
    html = render_template("contract/docs.html", document=document, pretty=_pretty)
    return Response(html, mimetype="text/html")


def _pretty(value: Any) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()

