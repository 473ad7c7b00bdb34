"""Warming the statistics cache: compute the entries that are missing or stale, skip the
fresh ones, and say what happened.

`flask stats warm --all --shard I/N` is one pod of the Kubernetes Indexed Job
(k8s/prod/warm-job.yaml): it lists OpenML's active datasets, keeps those of its shard
(`id % N == I`, stable whatever the list's order or length, so N pods split the catalogue
with no overlap and no gap) and computes them one after the other through the shared cache,
so a dataset a web worker is computing at the same moment is computed once. An entry is
fresh when it exists for the current engine version (the cache keys entries by it) and, with
`older_than`, is younger than that; fresh entries are skipped, so a restarted pod resumes
where it stopped. A failing dataset is logged and counted, never fatal to the run.

Every dataset gives one JSON log line (`warm: dataset done`) and the run ends with one
summary line (`warm: finished`, with computed, skipped and failed); the counters
`openml_backend_stats_warm_total{outcome}` count the same outcomes in the process's metrics.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .. import metrics
from ..clock import utcnow
from ..errors import ApiError
from ..openml_client import OpenMLError, OpenMLSettings
from ..openml_client.local_cache import cache_root, dataset_dir, dataset_lock
from ..stats import ENGINE_VERSION
from .models import StatsEntry
from .statistics import DatasetStatistics

log = logging.getLogger(__name__)

entries = StatsEntry.__table__


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`: the datasets whose id modulo `count` is `index`."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"a shard is I/N with 0 <= I < N, not {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"I/N"` as a Shard; ValueError when it is not two integers with 0 <= I < N."""
        index, slash, count = text.partition("/")
        if not slash or not index.isascii() or not index.isdigit() or not count.isascii() or not count.isdigit():
            raise ValueError(f"a shard is I/N (two integers, 0 <= I < N), not {text!r}")
        return cls(int(index), int(count))

    def holds(self, dataset_id: int) -> bool:
        return dataset_id % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Failure:
    """A dataset that could not be warmed: its id and the problem's code and message."""

    dataset_id: int
    code: str
    message: str


@dataclass
class Summary:
    """What one warm run did."""

    computed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)


def stored_computed_at(engine: Engine, dataset_ids: Iterable[int] | None = None) -> dict[int, datetime]:
    """When each stored entry of the current engine version was computed, by dataset id
    (only `dataset_ids` when given)."""
    query = sa.select(entries.c.dataset_id, entries.c.computed_at).where(entries.c.engine_version == ENGINE_VERSION)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    wanted = None if dataset_ids is None else set(dataset_ids)
    return {row.dataset_id: row.computed_at for row in rows if wanted is None or row.dataset_id in wanted}


def is_fresh(computed_at: datetime | None, older_than: timedelta | None, now: datetime) -> bool:
    """An entry computed at `computed_at` (None: no entry) needs no recomputation: it exists
    and, when `older_than` is given, is younger than that."""
    if computed_at is None:
        return False
    return older_than is None or now - computed_at < older_than


def discard_download(dataset_id: int, settings: OpenMLSettings) -> None:
    """Remove the dataset's downloaded files (under its exclusive lock; a folder another
    process is reading is left alone): a pod's cache volume cannot hold the catalogue."""
    try:
        with dataset_lock(settings, dataset_id, exclusive=True, deadline=time.monotonic() + 1):
            shutil.rmtree(dataset_dir(cache_root(settings), settings.server_url, dataset_id), ignore_errors=True)
    except OpenMLError:
        pass  # held by a reader: the next run's turn, or the cache's own pruning


def warm(statistics: DatasetStatistics, engine: Engine, dataset_ids: Iterable[int], *,
         shard: Shard = Shard(), older_than: timedelta | None = None, refresh: bool = False,
         after_each: Callable[[int], None] | None = None) -> Summary:
    """Compute the missing or stale entries among `dataset_ids` that `shard` holds, skip the
    fresh ones (all are stale with `refresh`), and return what happened; `after_each(id)`
    runs after each dataset that was not skipped (e.g. `discard_download`). Logs every
    dataset and a summary; never raises for one dataset's failure."""
    mine = sorted({i for i in dataset_ids if shard.holds(i)})
    stored = stored_computed_at(engine, mine)
    started = time.monotonic()
    summary = Summary()
    log.info("warm: starting", extra={"shard": str(shard), "datasets": len(mine), "stored": len(stored)})
    for position, dataset_id in enumerate(mine, 1):
        outcome = _warm_one(statistics, dataset_id, stored.get(dataset_id), older_than, refresh, summary)
        metrics.stats_warmed(outcome)
        if after_each is not None and outcome != "skipped":
            after_each(dataset_id)
        log.info("warm: dataset done", extra={
            "dataset_id": dataset_id, "outcome": outcome, "done": position, "of": len(mine), "shard": str(shard)})
    log.info("warm: finished", extra={
        "shard": str(shard), "datasets": len(mine), "computed": summary.computed, "skipped": summary.skipped,
        "failed": summary.failed, "failed_ids": [f.dataset_id for f in summary.failures][:100],
        "seconds": round(time.monotonic() - started, 1)})
    return summary


def _warm_one(statistics: DatasetStatistics, dataset_id: int, computed_at: datetime | None,
              older_than: timedelta | None, refresh: bool, summary: Summary) -> str:
    stale = refresh or (computed_at is not None and not is_fresh(computed_at, older_than, utcnow()))
    if computed_at is not None and not stale:
        summary.skipped += 1
        return "skipped"
    try:
        _entry, cached = statistics.entry(dataset_id, force_refresh=stale)
    except ApiError as error:
        failure = Failure(dataset_id, error.code, error.message)
    except Exception as error:  # noqa: BLE001 - one dataset's surprise must not end the run
        log.exception("warm: unexpected failure", extra={"dataset_id": dataset_id})
        failure = Failure(dataset_id, "unexpected", type(error).__name__)
    else:
        # Stored meanwhile by another process (a web worker, a second run): nothing to do.
        if cached:
            summary.skipped += 1
            return "skipped"
        summary.computed += 1
        return "computed"
    summary.failures.append(failure)
    log.warning("warm: dataset failed", extra={
        "dataset_id": dataset_id, "code": failure.code, "problem": failure.message})
    return "failed"
