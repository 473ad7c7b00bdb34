"""Sending a ready response of the statistics: conditional requests, gzip and caching headers.

The JSON endpoint and the dataset page both answer from bytes rendered once and kept in memory
(`Rendered`); this is how either turns them into a response.
"""

from __future__ import annotations

from flask import Response, current_app, request

from .statistics import Rendered


def accepts_gzip() -> bool:
    """Whether the request's Accept-Encoding allows gzip."""
    return request.accept_encodings.quality("gzip") > 0


def cached_response(rendered: Rendered, mimetype: str) -> Response:
    """`rendered` as a response: 304 when If-None-Match matches its weak ETag, else its body
    (gzip-encoded when accepted), with `Cache-Control: public, max-age=STATS_CACHE_MAX_AGE,
    stale-while-revalidate=...` and `Vary: Accept-Encoding`."""
    max_age = current_app.config["STATS_CACHE_MAX_AGE"]
    if request.if_none_match.contains_weak(rendered.etag):
        response = Response(status=304)
    elif accepts_gzip():
        response = Response(rendered.body_gzip, mimetype=mimetype)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(rendered.body, mimetype=mimetype)
    response.set_etag(rendered.etag, weak=True)
    response.headers["Cache-Control"] = f"public, max-age={max_age}, stale-while-revalidate={max_age}"
    response.vary.add("Accept-Encoding")
    return response
