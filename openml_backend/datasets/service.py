"""Statistics of a dataset, computed once and shared by every worker and replica.

Order of lookup: the in-process LRU (revalidated against the database every few seconds), the
database entry, then a computation. Concurrent cold requests coalesce through a database lease:
one process computes while the others poll for its entry (bounded); a holder that dies stops
renewing its lease, which then expires within `lease_ttl` and the next request takes over.
Entries are written in one transaction, so a reader never sees half of one.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ApiError, BadGateway, Forbidden, NotFound, ServiceUnavailable
from ..jsonio import dumps
from ..stats import ENGINE_VERSION, StatsSettings, compute_statistics
from . import store
from .memory import ByteBoundedLRU
from .source import (
    DatasetForbidden,
    DatasetNotFound,
    DatasetUnparseable,
    OpenMLSettings,
    OpenMLUnavailable,
    load_dataset,
)

log = logging.getLogger(__name__)

GZIP_LEVEL = 6
OPENML_RETRY_AFTER = 30


@dataclass(frozen=True)
class ServiceSettings:
    """How the service computes, stores and waits."""

    openml: OpenMLSettings
    stats: StatsSettings
    refresh_interval: float = 60.0  # a forced refresh of one dataset at most this often
    lease_ttl: float = 15.0  # a silent lease holder is presumed dead after this long
    wait_timeout: float = 60.0  # how long a request waits for another process's computation
    revalidate_seconds: float = 5.0  # how long an in-process copy is trusted without the database
    poll_interval: float = 0.2
    memory_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """A ready entry held in memory: the full response document (cached: true), gzip-compressed."""

    dataset_id: int
    etag: str
    computed_at: datetime
    payload_gzip: bytes
    checked_at: float


@dataclass(frozen=True)
class Rendered:
    """One response body for one preview size, in both encodings, with its validator."""

    etag: str
    body: bytes
    body_gzip: bytes
    cached: bool


@dataclass
class ServiceEvents:
    """Counters a metrics layer can read (kept here so the service needs no metrics library)."""

    on_computed: Callable[[int, float, int], None] = lambda dataset_id, seconds, rows: None
    on_cache: Callable[[str], None] = lambda outcome: None  # "memory", "database", "coalesced", "miss"
    on_fetch_failure: Callable[[str], None] = lambda kind: None


def _owner_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class StatsService:
    """Answers statistics requests for one application (one per process)."""

    def __init__(self, settings: ServiceSettings, engine: Callable[[], Engine],
                 events: ServiceEvents | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self.events = events or ServiceEvents()
        self.documents: ByteBoundedLRU[Document] = ByteBoundedLRU(settings.memory_bytes // 2)
        self.variants: ByteBoundedLRU[Rendered] = ByteBoundedLRU(settings.memory_bytes // 2)

    # -- public -----------------------------------------------------------------------------

    def stats(self, dataset_id: int, preview_rows: int, force_refresh: bool = False) -> Rendered:
        """Return the response for `dataset_id` with at most `preview_rows` preview rows.

        Raises ApiError subclasses: 404 unknown dataset, 403 private, 503 OpenML unavailable or
        another process still computing past `wait_timeout`, 502 data that cannot be parsed.
        """
        document, cached = self._document(dataset_id, force_refresh)
        return self._render(document, preview_rows, cached)

    # -- lookup -----------------------------------------------------------------------------

    def _document(self, dataset_id: int, force_refresh: bool) -> tuple[Document, bool]:
        current = self._current(dataset_id)
        if current is not None and (not force_refresh or self._refreshed_recently(current)):
            return current, True
        self.events.on_cache("miss")
        return self._compute_coalesced(dataset_id, previous=current)

    def _refreshed_recently(self, document: Document) -> bool:
        age = (store.utcnow() - document.computed_at).total_seconds()
        return age < self.settings.refresh_interval

    def _current(self, dataset_id: int) -> Document | None:
        held = self.documents.get(dataset_id)
        now = time.monotonic()
        if held is not None and now - held.checked_at < self.settings.revalidate_seconds:
            self.events.on_cache("memory")
            return held
        try:
            engine = self._engine()
            if held is not None:
                header = store.read_header(engine, dataset_id, ENGINE_VERSION)
                if header is not None and header.etag == held.etag:
                    held = replace(held, checked_at=now)
                    self.documents.put(dataset_id, held, len(held.payload_gzip))
                    self.events.on_cache("memory")
                    return held
            entry = store.read_entry(engine, dataset_id, ENGINE_VERSION)
        except SQLAlchemyError as error:
            log.warning("stats cache: database unavailable", extra={"error_type": type(error).__name__})
            if held is not None:  # a slightly stale answer beats none while the database is away
                self.events.on_cache("memory")
            return held
        if entry is None:
            self.documents.discard(dataset_id)
            return None
        self.events.on_cache("database")
        return self._hold(Document(dataset_id, entry.etag, entry.computed_at, entry.payload_gzip, now))

    def _hold(self, document: Document) -> Document:
        self.documents.put(document.dataset_id, document, len(document.payload_gzip))
        return document

    def _newer_entry(self, engine: Engine, dataset_id: int, previous: Document | None) -> Document | None:
        header = store.read_header(engine, dataset_id, ENGINE_VERSION)
        if header is None or (previous is not None and header.etag == previous.etag):
            return None
        entry = store.read_entry(engine, dataset_id, ENGINE_VERSION)
        if entry is None:
            return None
        return self._hold(Document(dataset_id, entry.etag, entry.computed_at, entry.payload_gzip, time.monotonic()))

    # -- computation --------------------------------------------------------------------------

    def _compute_coalesced(self, dataset_id: int, previous: Document | None) -> tuple[Document, bool]:
        started = time.monotonic()
        deadline = started + self.settings.wait_timeout
        owner = _owner_id()
        while True:
            try:
                engine = self._engine()
                acquired = store.try_acquire_lease(engine, dataset_id, ENGINE_VERSION, owner, self.settings.lease_ttl)
            except SQLAlchemyError as error:
                log.warning("stats cache: no lease (database unavailable); computing alone",
                            extra={"error_type": type(error).__name__})
                return self._compute_and_store(dataset_id, engine=None, owner=None), False
            if acquired:
                try:
                    # Another process may have stored the entry between our lookup and our lease.
                    finished = self._newer_entry(engine, dataset_id, previous)
                    if finished is not None:
                        return finished, True
                    return self._compute_and_store(dataset_id, engine, owner), False
                finally:
                    self._release(engine, dataset_id, owner)
            finished = self._wait_for_other(engine, dataset_id, previous, deadline)
            if finished is not None:
                self.events.on_cache("coalesced")
                return finished, True
            if time.monotonic() - started >= self.settings.openml.timeout / 2:
                # The computation we waited for ended without an entry after a long time (OpenML
                # hanging or slow, or its process died). Trying again now would make every
                # waiter take its own turn, one timeout after another; answer now instead.
                raise ServiceUnavailable(
                    "The statistics of this dataset could not be computed just now; try again later.",
                    code="stats_unavailable", retry_after=OPENML_RETRY_AFTER,
                )
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    "The statistics of this dataset are still being computed; try again shortly.",
                    code="stats_pending", retry_after=10,
                )

    def _wait_for_other(self, engine: Engine, dataset_id: int, previous: Document | None,
                        deadline: float) -> Document | None:
        """Poll until another process stores a newer entry (returned), its lease ends without
        one (None: the caller tries to take over), or the deadline passes (None)."""
        while time.monotonic() < deadline:
            time.sleep(self.settings.poll_interval)
            try:
                finished = self._newer_entry(engine, dataset_id, previous)
                if finished is not None:
                    return finished
                if not store.lease_is_live(engine, dataset_id, ENGINE_VERSION):
                    return None
            except SQLAlchemyError:
                return None
        return None

    def _release(self, engine: Engine, dataset_id: int, owner: str) -> None:
        try:
            store.release_lease(engine, dataset_id, ENGINE_VERSION, owner)
        except SQLAlchemyError as error:  # it expires by itself within lease_ttl
            log.warning("stats cache: lease not released", extra={"error_type": type(error).__name__})

    @contextmanager
    def _heartbeat(self, engine: Engine | None, dataset_id: int, owner: str | None) -> Iterator[None]:
        if engine is None or owner is None:
            yield
            return
        stop = threading.Event()
        interval = self.settings.lease_ttl / 3

        def renew() -> None:
            while not stop.wait(interval):
                try:
                    store.renew_lease(engine, dataset_id, ENGINE_VERSION, owner, self.settings.lease_ttl)
                except SQLAlchemyError:
                    pass  # the next beat tries again; at worst another process takes over

        beat = threading.Thread(target=renew, name=f"stats-lease-{dataset_id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join(timeout=5)

    def _compute_and_store(self, dataset_id: int, engine: Engine | None, owner: str | None) -> Document:
        started = time.perf_counter()
        with self._heartbeat(engine, dataset_id, owner):
            loaded = self._load(dataset_id)
            try:
                statistics = compute_statistics(loaded.table, loaded.features, self.settings.stats)
            except Exception:
                log.exception("statistics computation failed", extra={"dataset_id": dataset_id})
                raise BadGateway("The statistics of this dataset could not be computed from its data.",
                                 code="statistics_failed") from None
        computed_at = store.utcnow()
        document = {
            "dataset_id": dataset_id,
            "name": loaded.name,
            "version": loaded.version,
            "computed_at": computed_at.isoformat(timespec="seconds") + "Z",
            "cached": True,
            "statistics": statistics,
        }
        raw = dumps(document)
        # Content hash plus a nonce: two computations in the same second still differ, which is
        # how waiting processes recognise a refreshed entry.
        etag = hashlib.sha256(raw).hexdigest()[:24] + uuid.uuid4().hex[:8]
        payload_gzip = gzip.compress(raw, GZIP_LEVEL)
        self.events.on_computed(dataset_id, time.perf_counter() - started, loaded.table.num_rows)
        try:
            store.save_entry(
                engine or self._engine(), dataset_id=dataset_id, engine_version=ENGINE_VERSION,
                dataset_version=loaded.version, checksum=loaded.checksum, name=loaded.name,
                computed_at=computed_at, etag=etag, payload_gzip=payload_gzip,
            )
        except SQLAlchemyError as error:
            log.warning("stats cache: entry not stored (database unavailable)",
                        extra={"dataset_id": dataset_id, "error_type": type(error).__name__})
        return self._hold(Document(dataset_id, etag, computed_at, payload_gzip, time.monotonic()))

    def _load(self, dataset_id: int):
        try:
            return load_dataset(dataset_id, self.settings.openml)
        except DatasetNotFound:
            self.events.on_fetch_failure("not_found")
            raise NotFound(f"OpenML has no dataset with id {dataset_id}.", code="dataset_not_found") from None
        except DatasetForbidden:
            self.events.on_fetch_failure("forbidden")
            raise Forbidden(f"Dataset {dataset_id} is not public.", code="dataset_forbidden") from None
        except OpenMLUnavailable:
            self.events.on_fetch_failure("unavailable")
            raise ServiceUnavailable("OpenML did not answer in time; try again later.",
                                     code="openml_unavailable", retry_after=OPENML_RETRY_AFTER) from None
        except DatasetUnparseable:
            self.events.on_fetch_failure("unparseable")
            raise BadGateway(f"The data of dataset {dataset_id} could not be read.",
                             code="dataset_unparseable") from None
        except ApiError:
            raise
        except Exception:
            self.events.on_fetch_failure("unexpected")
            log.exception("unexpected failure loading a dataset", extra={"dataset_id": dataset_id})
            raise BadGateway(f"The data of dataset {dataset_id} could not be read.",
                             code="dataset_unparseable") from None

    # -- rendering ----------------------------------------------------------------------------

    def _render(self, document: Document, preview_rows: int, cached: bool) -> Rendered:
        key = (document.etag, preview_rows)
        if cached:
            held = self.variants.get(key)
            if held is not None:
                return held
        content = orjson.loads(gzip.decompress(document.payload_gzip))
        preview = (content.get("statistics") or {}).get("preview")
        if isinstance(preview, dict) and isinstance(preview.get("rows"), list):
            preview["rows"] = preview["rows"][:preview_rows]
        content["cached"] = cached
        body = dumps(content)
        rendered = Rendered(f"{document.etag}-{preview_rows}", body, gzip.compress(body, GZIP_LEVEL), cached)
        if cached:
            self.variants.put(key, rendered, len(body) + len(rendered.body_gzip))
        return rendered
