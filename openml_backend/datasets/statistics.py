"""A dataset's statistics document: loaded from OpenML, computed by the engine, shared through
the cache, and rendered once per preview size.

The document is the endpoint's 200 body (stats/FORMAT.md) with `cached: true`; an answer
cuts its preview to the requested rows and says whether it came from the cache. A dataset too
large for the memory budget is stored too, as a small document holding its 422 problem
(`dataset_too_large`), so it is answered from the cache like any other and never recomputed
before a refresh.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from .. import metrics
from ..clock import utcnow
from ..errors import ApiError, BadGateway, Forbidden, NotFound, ServiceUnavailable, UnprocessableEntity
from ..jsonio import dumps
from ..openml_client import (
    DatasetForbidden,
    DatasetNotFound,
    DatasetUnparseable,
    LoadedDataset,
    OpenMLSettings,
    OpenMLUnavailable,
    describe,
    load_dataset,
)
from ..stats import DatasetTooLarge, MemoryBudget, StatsSettings, statistics_of
from .cache import GZIP_LEVEL, CachedStats, FreshStats, StatsCache
from .lru import ByteBoundedLRU

log = logging.getLogger(__name__)

OPENML_RETRY_AFTER = 30
# A stored document at most this large (gzip) may be a stored problem; larger ones never are.
_PROBLEM_MAX_GZIP_BYTES = 2048


@dataclass(frozen=True)
class Rendered:
    """One response body for one preview size, in both encodings, with its validator."""

    etag: str
    body: bytes
    body_gzip: bytes
    cached: bool


class DatasetStatistics:
    """Answers for one application: the statistics of a dataset with a given preview size."""

    def __init__(self, cache: StatsCache, openml: OpenMLSettings, stats: StatsSettings, memory_bytes: int,
                 budget: MemoryBudget = MemoryBudget()) -> None:
        self.cache = cache
        self.openml = openml
        self.stats = stats
        self.budget = budget
        self._rendered: ByteBoundedLRU[Rendered] = ByteBoundedLRU(memory_bytes)

    def answer(self, dataset_id: int, preview_rows: int, force_refresh: bool = False) -> Rendered:
        """The response for `dataset_id` with at most `preview_rows` preview rows.

        Raises ApiError subclasses: 404 unknown dataset, 403 private, 503 OpenML unavailable or
        another process still computing past the wait timeout, 502 data that cannot be parsed,
        422 a dataset too large for the memory budget.
        """
        entry, cached = self.entry(dataset_id, force_refresh)
        return self._render(entry, preview_rows, cached)

    def entry(self, dataset_id: int, force_refresh: bool = False) -> tuple[CachedStats, bool]:
        """The stored document of `dataset_id` (loaded, or computed now) and whether it came from
        the cache. Raises as `answer` does."""
        entry, cached = self.cache.get_or_compute(dataset_id, self.compute, force_refresh=force_refresh,
                                                  check=self.changed_on_openml)
        _raise_stored_problem(entry)
        return entry, cached

    def changed_on_openml(self, entry: CachedStats) -> bool:
        """True when OpenML's description of the dataset now states another version or md5
        checksum than the entry was computed from (one description request), or refuses it."""
        try:
            description = describe(entry.dataset_id, self.openml)
        except (DatasetNotFound, DatasetForbidden):
            return True  # the recomputation answers the refusal
        return (description.version, description.checksum) != (entry.dataset_version, entry.checksum)

    def rendered(self, key: tuple, render: Callable[[], Rendered]) -> Rendered:
        """The response held under `key` in the in-process LRU of ready responses (shared with
        the JSON answers, bounded by the same bytes), else `render()`'s, kept for next time.
        `key` must name the entry's etag so a new computation never meets an old rendering."""
        held = self._rendered.get(key)
        if held is None:
            held = render()
            self._rendered.put(key, held, len(held.body) + len(held.body_gzip))
        return held

    def compute(self, dataset_id: int, refetch: bool = False, deadline: float | None = None) -> FreshStats:
        """Load the dataset from OpenML (downloaded again when `refetch`; the fetch ends by
        `deadline`, a time.monotonic() value, at the latest) and compute its statistics document."""
        started = time.perf_counter()
        loaded = self._load(dataset_id, refetch, deadline)
        try:
            statistics = statistics_of(loaded.source, loaded.features, self.stats, self.budget)
        except DatasetTooLarge as error:
            log.warning("dataset too large for the statistics budget",
                        extra={"dataset_id": dataset_id, **error.as_dict()})
            document = dumps({"dataset_id": dataset_id, "name": loaded.name, "version": loaded.version,
                              "problem": {"code": "dataset_too_large", "detail": error.message, **error.as_dict()}})
            return FreshStats(loaded.name, loaded.version, loaded.checksum, utcnow(), document)
        except MemoryError:
            # the estimate missed (text far longer than stored): the same answer, not a dead worker
            log.warning("statistics ran out of memory", extra={"dataset_id": dataset_id})
            document = dumps({"dataset_id": dataset_id, "name": loaded.name, "version": loaded.version,
                              "problem": {"code": "dataset_too_large", "limit_name": "memory_bytes",
                                          "limit": self.budget.budget_bytes, "size": None,
                                          "detail": "The dataset does not fit in the memory budget."}})
            return FreshStats(loaded.name, loaded.version, loaded.checksum, utcnow(), document)
        except Exception:
            log.exception("statistics computation failed", extra={"dataset_id": dataset_id})
            raise BadGateway("The statistics of this dataset could not be computed from its data.",
                             code="statistics_failed") from None
        computed_at = utcnow()
        document = dumps({
            "dataset_id": dataset_id,
            "name": loaded.name,
            "version": loaded.version,
            "computed_at": computed_at.isoformat(timespec="seconds") + "Z",
            "cached": True,
            "statistics": statistics,
        })
        metrics.stats_computed(dataset_id, time.perf_counter() - started, loaded.source.num_rows)
        return FreshStats(loaded.name, loaded.version, loaded.checksum, computed_at, document)

    def _load(self, dataset_id: int, refetch: bool, deadline: float | None) -> LoadedDataset:
        try:
            return load_dataset(dataset_id, self.openml, refetch=refetch, deadline=deadline)
        except DatasetNotFound:
            metrics.openml_fetch_failed("not_found")
            raise NotFound(f"OpenML has no dataset with id {dataset_id}.", code="dataset_not_found") from None
        except DatasetForbidden:
            metrics.openml_fetch_failed("forbidden")
            raise Forbidden(f"Dataset {dataset_id} is not public.", code="dataset_forbidden") from None
        except OpenMLUnavailable:
            metrics.openml_fetch_failed("unavailable")
            raise ServiceUnavailable("OpenML did not answer in time; try again later.",
                                     code="openml_unavailable", retry_after=OPENML_RETRY_AFTER) from None
        except DatasetUnparseable:
            metrics.openml_fetch_failed("unparseable")
            raise BadGateway(f"The data of dataset {dataset_id} could not be read.",
                             code="dataset_unparseable") from None
        except ApiError:
            raise
        except Exception:
            metrics.openml_fetch_failed("unexpected")
            log.exception("unexpected failure loading a dataset", extra={"dataset_id": dataset_id})
            raise BadGateway(f"The data of dataset {dataset_id} could not be read.",
                             code="dataset_unparseable") from None

    def _render(self, entry: CachedStats, preview_rows: int, cached: bool) -> Rendered:
        key = (entry.etag, preview_rows)
        if cached:
            held = self._rendered.get(key)
            if held is not None:
                return held
        content = orjson.loads(gzip.decompress(entry.payload_gzip))
        preview = (content.get("statistics") or {}).get("preview")
        if isinstance(preview, dict) and isinstance(preview.get("rows"), list):
            preview["rows"] = preview["rows"][:preview_rows]
        content["cached"] = cached
        body = dumps(content)
        rendered = Rendered(f"{entry.etag}-{preview_rows}", body, gzip.compress(body, GZIP_LEVEL), cached)
        if cached:
            self._rendered.put(key, rendered, len(body) + len(rendered.body_gzip))
        return rendered


def _raise_stored_problem(entry: CachedStats) -> None:
    """Raise the 422 a stored problem document holds (see the module docstring)."""
    if len(entry.payload_gzip) > _PROBLEM_MAX_GZIP_BYTES:
        return
    content = orjson.loads(gzip.decompress(entry.payload_gzip))
    problem = content.get("problem") if isinstance(content, dict) else None
    if isinstance(problem, dict):
        extra = {k: v for k, v in problem.items() if k not in ("code", "detail")}
        raise UnprocessableEntity(problem.get("detail"), code=problem.get("code", "dataset_too_large"), **extra)
