"""GET /datasets/<id>: the dataset page, rendered on the server from the cached statistics.

The statistics, the validators and the caching headers are the JSON endpoint's
(`DatasetStatistics.entry`, `responses.cached_response`); a rendered page is kept with the
JSON answers in the in-process LRU of ready responses, keyed by the stored entry's etag, the
query and the page's own revision. Errors under /datasets/ are pages too (`error_page`).
"""

from __future__ import annotations

import gzip
import hashlib
from http import HTTPStatus
from pathlib import Path

import orjson
from flask import Blueprint, Response, current_app, render_template

from ..datasets.cache import GZIP_LEVEL, CachedStats
from ..datasets.responses import cached_response
from ..datasets.statistics import Rendered
from ..datasets.views import dataset_statistics, parse_dataset_id, single_param
from ..errors import BadRequest
from ..stats import expand_entry
from . import layout, svg
from .layout import PageQuery

blueprint = Blueprint("pages", __name__, url_prefix="/datasets", template_folder="templates",
                      static_folder="static")

# Nothing but this origin's stylesheet and icon; no script at all, no frame, forms to here only.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
HTML = "text/html"
_HERE = Path(__file__).resolve().parent


def _revision() -> str:
    """A digest of the code and templates that shape a page: a new release never answers 304
    or serves from memory a page an older one rendered."""
    digest = hashlib.sha256()
    for path in sorted([*_HERE.glob("*.py"), *_HERE.glob("templates/pages/*"), *_HERE.glob("static/*")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


PAGE_REVISION = _revision()


def protect(response: Response) -> Response:
    """Add the page's security headers: the CSP, nosniff, no referrer beyond this origin."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@blueprint.after_request
def _protect_every_answer(response: Response) -> Response:
    return protect(response)


def parse_page_query() -> PageQuery:
    """The page's query parameters (each at most once), else 400 naming the parameter."""
    sort = single_param("sort") or "position"
    if sort not in layout.SORT_KEYS:
        raise BadRequest(f"sort must be one of {', '.join(layout.SORT_KEYS)}.", code="invalid_parameter",
                         parameter="sort")
    order = single_param("order") or "asc"
    if order not in layout.ORDERS:
        raise BadRequest("order must be asc or desc.", code="invalid_parameter", parameter="order")
    page_text = single_param("page")
    page = 1
    if page_text is not None:
        if not page_text.isascii() or not page_text.isdigit() or len(page_text) > 6 or int(page_text) < 1:
            raise BadRequest("page must be a positive integer.", code="invalid_parameter", parameter="page")
        page = int(page_text)
    search = (single_param("q") or "").strip()
    if len(search) > layout.MAX_SEARCH_CHARS or not search.isprintable():
        raise BadRequest(f"q must be at most {layout.MAX_SEARCH_CHARS} printable characters.",
                         code="invalid_parameter", parameter="q")
    return PageQuery(sort, order, page, search)


@blueprint.get("/<dataset_id>")
def dataset_page(dataset_id: str) -> Response:
    """The dataset's statistics for people: header, feature table with charts, correlation
    heatmap and preview (no JavaScript)."""
    identifier = parse_dataset_id(dataset_id)
    query = parse_page_query()
    statistics = dataset_statistics()
    entry, _cached = statistics.entry(identifier)
    key = ("page", entry.etag, PAGE_REVISION, query)
    rendered = statistics.rendered(key, lambda: render_page(entry, query))
    return cached_response(rendered, HTML)


def render_page(entry: CachedStats, query: PageQuery) -> Rendered:
    """The page of `entry` for `query`, in both encodings; 400 for a page past the last."""
    document = orjson.loads(gzip.decompress(entry.payload_gzip))
    statistics = document["statistics"]
    # brief entries (lists, beyond max_detailed_features) read as dicts like the others
    distribution = {name: expand_entry(item) for name, item in statistics["distribution"].items()}
    rows = layout.select_rows(layout.feature_rows(distribution), query)
    last_page = layout.page_count(len(rows))
    if query.page > last_page:
        raise BadRequest(f"page must be from 1 to {last_page}.", code="invalid_parameter", parameter="page")
    start = (query.page - 1) * layout.FEATURES_PER_PAGE
    shown = rows[start:start + layout.FEATURES_PER_PAGE]
    meta = statistics["meta"]
    missing, cells = layout.missing_share(distribution, meta["total_rows"])
    correlation = statistics.get("correlation")
    heatmap = None
    if correlation:
        limit = layout.HEATMAP_MAX_FEATURES
        names = correlation["features"][:limit]
        matrix = [row[:limit] for row in correlation["matrix"][:limit]]
        heatmap = {"features": names, "matrix": matrix, "svg": svg.heatmap(names, matrix),
                   "cut": len(correlation["features"]) - len(names)}
    preview = statistics["preview"]
    html = render_template(
        "pages/dataset.html",
        document=document,
        meta=meta,
        dataset_id=document["dataset_id"],
        openml_url=layout.openml_page_url(current_app.config["OPENML_SERVER_URL"], document["dataset_id"]),
        missing=missing,
        cells=cells,
        targets=layout.targets(distribution),
        rows=shown,
        first_index=start,
        matched=len(rows),
        query=query,
        last_page=last_page,
        page_links=layout.page_numbers(query.page, last_page),
        sort_keys=layout.SORT_KEYS,
        heatmap=heatmap,
        preview_columns=preview["columns"],
        preview_types=[distribution.get(name, {}).get("type", "") for name in preview["columns"]],
        preview_rows=[[layout.preview_cell(v) for v in row] for row in preview["rows"][:layout.PREVIEW_ROWS]],
        preview=preview,
        svg=svg,
        number=svg.number,
        zip=zip,
    )
    body = html.encode("utf-8")
    etag = f"{entry.etag}-page-{PAGE_REVISION}-" + hashlib.sha256(repr(query).encode()).hexdigest()[:12]
    return Rendered(etag, body, gzip.compress(body, GZIP_LEVEL), True)


def error_page(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    """An error under /datasets/ as a page in the dataset page's style: the JSON endpoint's
    status and headers; a 503 says when to try again, and while another process computes the
    statistics the page reloads itself then."""
    retry_after = _retry_seconds(headers.get("Retry-After"))
    refresh = retry_after if code == "stats_pending" else None
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    html = render_template("pages/error.html", status=status, title=title, code=code, message=message,
                           retry_after=retry_after, refresh=refresh)
    response = Response(html, status=status, mimetype=HTML)
    for name, value in headers.items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return protect(response)


def _retry_seconds(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return max(1, int(value))
