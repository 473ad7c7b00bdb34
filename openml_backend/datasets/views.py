"""GET /api/v1/datasets/<id>/stats: query validation; conditional requests, gzip and caching
headers are `responses.cached_response`, which the dataset page shares."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..contract import Header, Parameter, Reply, operation, problem
from ..contract.operations import RETRY_AFTER
from ..errors import BadRequest
from .responses import cached_response
from .schemas import DatasetStats
from .statistics import DatasetStatistics

blueprint = Blueprint("datasets", __name__, url_prefix="/api/v1/datasets")

MAX_DATASET_ID = 2**31 - 1
MAX_PREVIEW_ROWS = 1000
DEFAULT_PREVIEW_ROWS = 100
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def dataset_statistics() -> DatasetStatistics:
    """The application's DatasetStatistics."""
    return current_app.extensions["openml_backend.dataset_statistics"]


def parse_dataset_id(text: str) -> int:
    """Return the dataset id in the path, or raise 400: a positive integer that fits in 32 bits."""
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) < 1 or int(text) > MAX_DATASET_ID:
        raise BadRequest("The dataset id must be a positive integer.", code="invalid_dataset_id")
    return int(text)


def single_param(name: str) -> str | None:
    """The query parameter `name`, or None when absent; 400 when it is given more than once."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"{name} may be given once.", code="invalid_parameter", parameter=name)
    return values[0] if values else None


def parse_preview_rows() -> int:
    """Return max_preview_rows: an integer from 0 to 1000 (default 100), else 400."""
    text = single_param("max_preview_rows")
    if text is None:
        return DEFAULT_PREVIEW_ROWS
    if not text.isascii() or not text.isdigit() or len(text) > 4 or int(text) > MAX_PREVIEW_ROWS:
        raise BadRequest(f"max_preview_rows must be an integer from 0 to {MAX_PREVIEW_ROWS}.",
                         code="invalid_parameter", parameter="max_preview_rows")
    return int(text)


def parse_force_refresh() -> bool:
    """Return force_refresh: true, false, 1 or 0 (default false), else 400."""
    text = single_param("force_refresh")
    if text is None:
        return False
    if text not in _BOOLEANS:
        raise BadRequest("force_refresh must be true, false, 1 or 0.", code="invalid_parameter",
                         parameter="force_refresh")
    return _BOOLEANS[text]


_ETAG = Header("ETag", "Weak validator of this representation; send it back in If-None-Match.")
_CACHE_CONTROL = Header("Cache-Control", "`public, max-age=N, stale-while-revalidate=N`.")
_VARY = Header("Vary", "`Accept-Encoding`.")
_STATS_PARAMETERS = (
    Parameter("dataset_id", "path", "The OpenML dataset id.",
              {"type": "integer", "minimum": 1, "maximum": MAX_DATASET_ID}, example=61),
    Parameter("max_preview_rows", "query", "Rows in `statistics.preview` (given at most once).",
              {"type": "integer", "minimum": 0, "maximum": MAX_PREVIEW_ROWS, "default": DEFAULT_PREVIEW_ROWS}),
    Parameter("force_refresh", "query", "Recompute even when a stored result is fresh (given at most once).",
              {"type": "string", "enum": sorted(_BOOLEANS), "default": "false"}),
    Parameter("If-None-Match", "header", "An ETag from an earlier answer: 304 when it still matches.",
              {"type": "string"}),
)


@blueprint.get("/<dataset_id>/stats")
@operation(
    "Statistics of a dataset",
    tags=["datasets"],
    parameters=_STATS_PARAMETERS,
    replies=[
        Reply(200, "The statistics (stats/FORMAT.md). Gzip-encoded (`Content-Encoding: gzip`) when "
                   "Accept-Encoding allows it.", DatasetStats,
              headers=(_ETAG, _CACHE_CONTROL, _VARY,
                       Header("Content-Encoding", "`gzip` when the client accepts it; absent otherwise."))),
        Reply(304, "If-None-Match matched: the client's copy is current (no body).",
              headers=(_ETAG, _CACHE_CONTROL, _VARY)),
        problem(400, "The dataset id is not a positive 32-bit integer (`invalid_dataset_id`), or a query "
                     "parameter is invalid or repeated (`invalid_parameter`, naming it in `parameter`).",
                "invalid_dataset_id", "invalid_parameter"),
        problem(403, "The dataset is not public.", "dataset_forbidden"),
        problem(404, "OpenML has no such dataset.", "dataset_not_found"),
        problem(422, "The dataset cannot be summarised within the memory budget: more cells than "
                     "STATS_MAX_CELLS, or a column needing more than STATS_MEMORY_BUDGET_MB. The body "
                     "states `limit_name` (`cells` or `memory_bytes`), `limit`, `size` and, for a column, "
                     "`feature`; the answer is stored like statistics.", "dataset_too_large"),
        problem(502, "OpenML's data or description could not be read, or the statistics could not be "
                     "computed from it.", "dataset_unparseable", "statistics_failed"),
        problem(503, "OpenML did not answer within OPENML_TIMEOUT (`openml_unavailable`), another "
                     "process is still computing (`stats_pending`), or the computation this request "
                     "waited for failed (`stats_unavailable`).",
                "openml_unavailable", "stats_pending", "stats_unavailable", headers=(RETRY_AFTER,)),
    ],
)
def dataset_stats(dataset_id: str) -> Response:
    """Distribution, correlation and preview of an OpenML dataset (see the README's format)."""
    identifier = parse_dataset_id(dataset_id)
    preview_rows = parse_preview_rows()
    force_refresh = parse_force_refresh()
    return cached_response(dataset_statistics().answer(identifier, preview_rows, force_refresh), "application/json")
