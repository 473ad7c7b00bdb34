"""Declarations a view carries for the contract: `@operation(...)`, its parameters and replies.

The decorator only records; it never changes what the view does. Put it directly under the
blueprint's route decorator so it marks the function Flask calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from ..errors import PROBLEM_JSON
from ..jsonio import JSON_MIMETYPE

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "__api_operation__"


@dataclass(frozen=True)
class Header:
    """A response header: its name, meaning and JSON schema."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Parameter:
    """A path, query or header parameter of a request."""

    name: str
    location: str  # "path", "query" or "header"
    description: str
    schema: dict[str, Any]
    required: bool = False
    example: Any = None


@dataclass(frozen=True)
class Reply:
    """One documented status of an operation: a body model (or none) and its headers.

    `codes` lists the problem `code` values this status may carry; the document constrains
    the body's `code` to them, so an undocumented error code breaks the contract.
    """

    status: int
    description: str
    model: type[BaseModel] | None = None
    media_type: str = JSON_MIMETYPE
    headers: tuple[Header, ...] = ()
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    """Everything the document says about one method of one route."""

    summary: str
    description: str
    tags: tuple[str, ...]
    replies: tuple[Reply, ...]
    body: type[BaseModel] | None = None
    parameters: tuple[Parameter, ...] = ()
    security: str | None = None  # "access" or "refresh": which bearer token it needs
    body_media_type: str = JSON_MIMETYPE  # or "multipart/form-data" (the model lists the parts)


RETRY_AFTER = Header("Retry-After", "Seconds to wait before trying again.", {"type": "string", "pattern": "^[0-9]+$"})
WWW_AUTHENTICATE = Header("WWW-Authenticate", "Always `Bearer`.")


def problem(status: int, description: str, *codes: str, headers: Iterable[Header] = ()) -> Reply:
    """A problem+json reply of `status` whose `code` is one of `codes`."""
    return Reply(status, description, media_type=PROBLEM_JSON, codes=codes, headers=tuple(headers))


def _body_problems() -> tuple[Reply, ...]:
    return (
        problem(400, "The body is missing, not JSON, not an object, or some fields are invalid "
                     "(`invalid_fields` lists them in `fields`).",
                "invalid_fields", "malformed_json", "missing_body"),
        problem(413, "The body is larger than MAX_CONTENT_LENGTH.", "payload_too_large"),
        problem(415, "The body is not application/json.", "unsupported_media_type"),
    )


def _token_problems() -> tuple[Reply, ...]:
    return (problem(401, "The bearer token is missing, malformed, expired, revoked or of the wrong kind.",
                    "missing_token", "invalid_token", "token_expired", "token_revoked", "wrong_token_type",
                    headers=(WWW_AUTHENTICATE,)),)


INTERNAL_ERROR = problem(500, "A bug: the server could not complete the request.", "internal_error")


def _merge(replies: Iterable[Reply]) -> tuple[Reply, ...]:
    """One reply per status: codes and headers of repeated statuses are joined."""
    merged: dict[int, Reply] = {}
    for reply in replies:
        known = merged.get(reply.status)
        if known is None:
            merged[reply.status] = reply
            continue
        codes = known.codes + tuple(c for c in reply.codes if c not in known.codes)
        headers = known.headers + tuple(h for h in reply.headers if h not in known.headers)
        merged[reply.status] = Reply(known.status, known.description, known.model, known.media_type, headers, codes)
    return tuple(merged[status] for status in sorted(merged))


def operation(
    summary: str,
    *,
    tags: Iterable[str],
    replies: Iterable[Reply],
    body: type[BaseModel] | None = None,
    parameters: Iterable[Parameter] = (),
    security: str | None = None,
    description: str | None = None,
    body_media_type: str = JSON_MIMETYPE,
) -> Callable[[View], View]:
    """Record the contract of the decorated view.

    A JSON `body` adds the 400/413/415 body problems (a body of another `body_media_type`, such
    as multipart/form-data, lists its own); `security` ("access" or "refresh") adds
    the 401 token problems; every operation may answer 500 `internal_error`. The view's
    docstring is the description unless one is given.
    """
    if security not in (None, "access", "refresh"):
        raise ValueError("security must be None, 'access' or 'refresh'")
    extra: list[Reply] = []
    if body is not None and body_media_type == JSON_MIMETYPE:
        extra.extend(_body_problems())
    if security is not None:
        extra.extend(_token_problems())
    extra.append(INTERNAL_ERROR)

    def mark(view: View) -> View:
        setattr(view, ATTRIBUTE, Operation(
            summary=summary,
            description=description if description is not None else (view.__doc__ or "").strip(),
            tags=tuple(tags),
            replies=_merge([*replies, *extra]),
            body=body,
            parameters=tuple(parameters),
            security=security,
            body_media_type=body_media_type,
        ))
        return view

    return mark


def operation_of(view: Callable[..., Any]) -> Operation | None:
    """The contract recorded on `view`, if any."""
    return getattr(view, ATTRIBUTE, None)
