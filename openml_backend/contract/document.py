"""Build the OpenAPI 3.1 document of an app from the `@operation` declarations of its views.

Schemas come from the pydantic models (`model_json_schema`, JSON Schema 2020-12, which
OpenAPI 3.1 uses as is); nested models land in `components/schemas` once each.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel

from .. import __version__
from .models import Problem
from .operations import Operation, Reply, operation_of

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}  # Flask adds these to every rule
_PATH_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

DESCRIPTION = """The Flask backend of openml.org: dataset statistics and user accounts.

Every 4xx and 5xx answer is `application/problem+json` (RFC 9457) with a stable `code`;
each response below lists the codes it can carry. Authenticated operations take
`Authorization: Bearer <access token>` from `POST /api/v1/auth/login` (the refresh
operation takes the refresh token instead)."""


def flask_path(rule: str) -> str:
    """`/a/<int:x>/b` -> `/a/{x}/b`."""
    return _PATH_ARGUMENT.sub(r"{\1}", rule)


class _Schemas:
    """Collects model schemas into components/schemas, one entry per model name."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self._add(name, definition)
        name = schema.get("title", model.__name__)
        self._add(name, schema)
        return {"$ref": REF_TEMPLATE.format(model=name)}

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        _drop_null_defaults(schema)
        known = self.components.setdefault(name, schema)
        if known != schema:  # two different models with one name would silently shadow each other
            raise ValueError(f"two different schemas are both named {name!r}")


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []))


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    """Remove `default: null` from properties that refuse null.

    Optional request fields such as ProfileUpdate's are "absent means unchanged, null is
    refused"; pydantic still writes their Python default, which would be an invalid example.
    """
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _allows_null(prop):
            del prop["default"]


def _reply_object(reply: Reply, schemas: _Schemas) -> dict[str, Any]:
    result: dict[str, Any] = {"description": reply.description}
    model = reply.model or (Problem if reply.media_type.endswith("problem+json") else None)
    if model is not None:
        schema = schemas.ref(model, "serialization")
        if reply.codes:
            schema = {"allOf": [schema, {"properties": {"code": {"enum": list(reply.codes)},
                                                          "status": {"const": reply.status}}}]}
        result["content"] = {reply.media_type: {"schema": schema}}
    if reply.headers:
        result["headers"] = {
            header.name: {"description": header.description, "schema": header.schema} for header in reply.headers
        }
    return result


def _operation_object(op: Operation, endpoint: str, operation_id: str, path_arguments: list[str],
                      schemas: _Schemas) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": operation_id,
        "summary": op.summary,
        "tags": list(op.tags),
    }
    if op.description:
        result["description"] = op.description
    parameters = []
    declared = {p.name for p in op.parameters if p.location == "path"}
    missing = set(path_arguments) - declared
    if missing:
        raise ValueError(f"{endpoint}: path arguments {sorted(missing)} are not declared")
    for parameter in op.parameters:
        entry: dict[str, Any] = {
            "name": parameter.name, "in": parameter.location, "description": parameter.description,
            "required": parameter.required or parameter.location == "path", "schema": parameter.schema,
        }
        if parameter.example is not None:
            entry["example"] = parameter.example
        parameters.append(entry)
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {op.body_media_type: {"schema": schemas.ref(op.body, "validation")}},
        }
    if op.security is not None:
        result["security"] = [{"bearerAccess" if op.security == "access" else "bearerRefresh": []}]
    result["responses"] = {str(reply.status): _reply_object(reply, schemas) for reply in op.replies}
    return result


def undocumented_routes(app: Flask, prefix: str = "/api/") -> list[str]:
    """`METHOD /path` of every route under `prefix` whose view has no `@operation`."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix) and operation_of(app.view_functions[rule.endpoint]) is None:
            missing.extend(f"{method} {rule.rule}" for method in sorted(rule.methods - IMPLICIT_METHODS))
    return missing


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented route of `app`."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None:
            continue
        path = flask_path(rule.rule)
        methods = sorted(rule.methods - IMPLICIT_METHODS)
        for method in methods:
            operation_id = rule.endpoint.replace(".", "_") + (f"_{method.lower()}" if len(methods) > 1 else "")
            paths.setdefault(path, {})[method.lower()] = _operation_object(
                op, rule.endpoint, operation_id, sorted(rule.arguments), schemas)
        tags.extend(tag for tag in op.tags if tag not in tags)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "openml-backend", "version": __version__, "description": DESCRIPTION,
                 "license": {"name": "BSD-3-Clause", "identifier": "BSD-3-Clause"}},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearerAccess": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                 "description": "The access token of a login (15 minutes by default)."},
                "bearerRefresh": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                  "description": "The refresh token of a login; used once, then rotated."},
            },
        },
    }
