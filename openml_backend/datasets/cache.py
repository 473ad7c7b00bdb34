"""The shared statistics cache: each dataset's statistics computed once, shared by every
worker and replica through the database.

`StatsCache.get_or_compute(dataset_id, compute)` is the whole protocol:

1. Memory. A ready entry held in this process is trusted for `revalidate_seconds`; after
   that, one small query (its etag) confirms it is still the stored one.
2. Database. One row per (dataset, engine version) in `stats_entries`, the document
   gzip-compressed. A refresh replaces the row in one transaction, so a reader sees the old
   entry or the new one, never half of either.
3. Computation, coalesced. A process takes the dataset's lease (a row in `stats_leases`,
   taken by an atomic INSERT) and computes; a heartbeat renews the lease every third of
   `lease_ttl`. The other processes poll for the new entry, at most `wait_timeout`. A holder
   that dies (SIGKILL, OOM) stops renewing; its lease expires after `lease_ttl` and the next
   waiter takes over.

A forced refresh recomputes at most once per `refresh_interval`. When the database is
unreachable, the cache still answers: from memory if it holds the dataset, else by computing
alone without storing.
"""

from __future__ import annotations

import gzip
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import metrics
from ..clock import utcnow
from ..digests import sha256_hex
from ..errors import ServiceUnavailable
from ..stats import ENGINE_VERSION
from .lru import ByteBoundedLRU
from .models import StatsEntry, StatsLease

log = logging.getLogger(__name__)

GZIP_LEVEL = 6
UNAVAILABLE_RETRY_AFTER = 30
PENDING_RETRY_AFTER = 10

entries = StatsEntry.__table__
leases = StatsLease.__table__


@dataclass(frozen=True)
class CacheSettings:
    """How the cache waits, shares and remembers."""

    refresh_interval: float = 60.0  # a forced refresh of one dataset at most this often
    lease_ttl: float = 15.0  # a silent lease holder is presumed dead after this long
    wait_timeout: float = 60.0  # how long a request waits for another process's computation
    # A computation we waited this long for that ended without an entry (the source hanging,
    # or its process died) is not retried by every waiter in turn: answer stats_unavailable.
    give_up_after: float = 15.0
    revalidate_seconds: float = 5.0  # how long an in-process copy is trusted without the database
    poll_interval: float = 0.2
    memory_bytes: int = 32 * 1024 * 1024  # the in-process LRU of ready entries


@dataclass(frozen=True)
class CachedStats:
    """A ready entry: the statistics document of one dataset, gzip-compressed, and its etag."""

    dataset_id: int
    etag: str
    computed_at: datetime
    payload_gzip: bytes
    checked_at: float  # time.monotonic() when the database last confirmed it


@dataclass(frozen=True)
class FreshStats:
    """What a computation returns for the cache to store: the document and what identifies it."""

    name: str
    dataset_version: int | None
    checksum: str | None
    computed_at: datetime  # from utcnow(); the document states the same time
    document: bytes  # the JSON document, uncompressed


Compute = Callable[[int], FreshStats]


def _owner_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class StatsCache:
    """The statistics cache of one process, over the database that every process shares."""

    def __init__(self, settings: CacheSettings, engine: Callable[[], Engine]) -> None:
        self.settings = settings
        self._engine = engine
        self._memory: ByteBoundedLRU[CachedStats] = ByteBoundedLRU(settings.memory_bytes)

    # -- the interface ------------------------------------------------------------------------

    def get(self, dataset_id: int) -> CachedStats | None:
        """The ready entry of `dataset_id`, or None when none is stored.

        While the database is unreachable, the copy this process holds (possibly stale) or None.
        """
        held = self._memory.get(dataset_id)
        now = time.monotonic()
        if held is not None and now - held.checked_at < self.settings.revalidate_seconds:
            metrics.stats_cache("memory")
            return held
        try:
            engine = self._engine()
            if held is not None and self._stored_etag(engine, dataset_id) == held.etag:
                metrics.stats_cache("memory")
                return self._hold(replace(held, checked_at=now))
            entry = self._read_entry(engine, dataset_id)
        except SQLAlchemyError as error:
            log.warning("stats cache: database unavailable", extra={"error_type": type(error).__name__})
            if held is not None:  # a slightly stale answer beats none while the database is away
                metrics.stats_cache("memory")
            return held
        if entry is None:
            self._memory.discard(dataset_id)
            return None
        metrics.stats_cache("database")
        return self._hold(entry)

    def get_or_compute(self, dataset_id: int, compute: Compute, *,
                       force_refresh: bool = False) -> tuple[CachedStats, bool]:
        """The ready entry of `dataset_id` and whether it was already stored (True) or computed
        by this call with `compute(dataset_id)` (False).

        Exactly one process computes a missing entry; the others wait for it. `force_refresh`
        recomputes an entry older than `refresh_interval`. Raises what `compute` raises, or
        ServiceUnavailable: `stats_pending` when another process is still computing after
        `wait_timeout`, `stats_unavailable` when the computation waited for ended without an
        entry after `give_up_after`.
        """
        current = self.get(dataset_id)
        if current is not None and (not force_refresh or self._refreshed_recently(current)):
            return current, True
        metrics.stats_cache("miss")
        return self._compute_once(dataset_id, compute, previous=current)

    # -- computing once -------------------------------------------------------------------------

    def _refreshed_recently(self, entry: CachedStats) -> bool:
        return (utcnow() - entry.computed_at).total_seconds() < self.settings.refresh_interval

    def _compute_once(self, dataset_id: int, compute: Compute,
                      previous: CachedStats | None) -> tuple[CachedStats, bool]:
        started = time.monotonic()
        deadline = started + self.settings.wait_timeout
        owner = _owner_id()
        while True:
            try:
                engine = self._engine()
                acquired = self._try_acquire_lease(engine, dataset_id, owner)
            except SQLAlchemyError as error:
                log.warning("stats cache: no lease (database unavailable); computing alone",
                            extra={"error_type": type(error).__name__})
                return self._compute_and_store(dataset_id, compute, engine=None, owner=None), False
            if acquired:
                try:
                    # Another process may have stored the entry between our lookup and our lease.
                    finished = self._newer_entry(engine, dataset_id, previous)
                    if finished is not None:
                        return finished, True
                    return self._compute_and_store(dataset_id, compute, engine, owner), False
                finally:
                    self._release(engine, dataset_id, owner)
            finished = self._wait_for_other(engine, dataset_id, previous, deadline)
            if finished is not None:
                metrics.stats_cache("coalesced")
                return finished, True
            if time.monotonic() - started >= self.settings.give_up_after:
                # Trying again now would make every waiter take its own turn, one timeout
                # after another; answer now instead.
                raise ServiceUnavailable(
                    "The statistics of this dataset could not be computed just now; try again later.",
                    code="stats_unavailable", retry_after=UNAVAILABLE_RETRY_AFTER,
                )
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    "The statistics of this dataset are still being computed; try again shortly.",
                    code="stats_pending", retry_after=PENDING_RETRY_AFTER,
                )

    def _wait_for_other(self, engine: Engine, dataset_id: int, previous: CachedStats | None,
                        deadline: float) -> CachedStats | None:
        """Poll until another process stores a newer entry (returned), its lease ends without
        one (None: the caller tries to take over), or the deadline passes (None)."""
        while time.monotonic() < deadline:
            time.sleep(self.settings.poll_interval)
            try:
                finished = self._newer_entry(engine, dataset_id, previous)
                if finished is not None:
                    return finished
                if not self._lease_is_live(engine, dataset_id):
                    return None
            except SQLAlchemyError:
                return None
        return None

    def _newer_entry(self, engine: Engine, dataset_id: int, previous: CachedStats | None) -> CachedStats | None:
        etag = self._stored_etag(engine, dataset_id)
        if etag is None or (previous is not None and etag == previous.etag):
            return None
        entry = self._read_entry(engine, dataset_id)
        return self._hold(entry) if entry is not None else None

    def _compute_and_store(self, dataset_id: int, compute: Compute, engine: Engine | None,
                           owner: str | None) -> CachedStats:
        with self._heartbeat(engine, dataset_id, owner):
            fresh = compute(dataset_id)
        # Content hash plus a nonce: two computations in the same second still differ, which is
        # how waiting processes recognise a refreshed entry.
        etag = sha256_hex(fresh.document)[:24] + uuid.uuid4().hex[:8]
        entry = CachedStats(dataset_id, etag, fresh.computed_at, gzip.compress(fresh.document, GZIP_LEVEL),
                            time.monotonic())
        try:
            self._save_entry(engine or self._engine(), entry, fresh)
        except SQLAlchemyError as error:
            log.warning("stats cache: entry not stored (database unavailable)",
                        extra={"dataset_id": dataset_id, "error_type": type(error).__name__})
        return self._hold(entry)

    def _hold(self, entry: CachedStats) -> CachedStats:
        self._memory.put(entry.dataset_id, entry, len(entry.payload_gzip))
        return entry

    # -- the lease ------------------------------------------------------------------------------

    def _release(self, engine: Engine, dataset_id: int, owner: str) -> None:
        try:
            with engine.begin() as connection:
                connection.execute(leases.delete().where(_key(leases, dataset_id), leases.c.owner == owner))
        except SQLAlchemyError as error:  # it expires by itself within lease_ttl
            log.warning("stats cache: lease not released", extra={"error_type": type(error).__name__})

    @contextmanager
    def _heartbeat(self, engine: Engine | None, dataset_id: int, owner: str | None) -> Iterator[None]:
        """Renew our lease every third of lease_ttl while the block runs."""
        if engine is None or owner is None:
            yield
            return
        stop = threading.Event()
        interval = self.settings.lease_ttl / 3

        def renew() -> None:
            while not stop.wait(interval):
                try:
                    self._renew_lease(engine, dataset_id, owner)
                except SQLAlchemyError:
                    pass  # the next beat tries again; at worst another process takes over

        beat = threading.Thread(target=renew, name=f"stats-lease-{dataset_id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join(timeout=5)

    def _try_acquire_lease(self, engine: Engine, dataset_id: int, owner: str) -> bool:
        """Take the lease when nobody holds a live one; True when taken."""
        now = utcnow()
        expires = now + timedelta(seconds=self.settings.lease_ttl)
        try:
            with engine.begin() as connection:
                connection.execute(leases.insert().values(
                    dataset_id=dataset_id, engine_version=ENGINE_VERSION, owner=owner, expires_at=expires))
            return True
        except IntegrityError:
            pass
        with engine.begin() as connection:
            taken = connection.execute(
                leases.update()
                .where(_key(leases, dataset_id), leases.c.expires_at < now)
                .values(owner=owner, expires_at=expires)
            ).rowcount
        return taken == 1

    def _renew_lease(self, engine: Engine, dataset_id: int, owner: str) -> None:
        with engine.begin() as connection:
            connection.execute(
                leases.update()
                .where(_key(leases, dataset_id), leases.c.owner == owner)
                .values(expires_at=utcnow() + timedelta(seconds=self.settings.lease_ttl))
            )

    def _lease_is_live(self, engine: Engine, dataset_id: int) -> bool:
        with engine.connect() as connection:
            expires = connection.execute(sa.select(leases.c.expires_at).where(_key(leases, dataset_id))).scalar()
        return expires is not None and expires >= utcnow()

    # -- the stored entries ---------------------------------------------------------------------

    def _stored_etag(self, engine: Engine, dataset_id: int) -> str | None:
        with engine.connect() as connection:
            return connection.execute(sa.select(entries.c.etag).where(_key(entries, dataset_id))).scalar()

    def _read_entry(self, engine: Engine, dataset_id: int) -> CachedStats | None:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(entries.c.etag, entries.c.computed_at, entries.c.payload_gzip)
                .where(_key(entries, dataset_id))
            ).first()
        if row is None:
            return None
        return CachedStats(dataset_id, row.etag, row.computed_at, bytes(row.payload_gzip), time.monotonic())

    def _save_entry(self, engine: Engine, entry: CachedStats, fresh: FreshStats) -> None:
        """Store the entry, replacing the previous one of the dataset in one transaction."""
        values = {
            "dataset_version": fresh.dataset_version,
            "checksum": fresh.checksum,
            "name": fresh.name[:256],
            "computed_at": entry.computed_at,
            "etag": entry.etag,
            "payload_gzip": entry.payload_gzip,
        }
        for _attempt in range(2):
            try:
                with engine.begin() as connection:
                    updated = connection.execute(
                        entries.update().where(_key(entries, entry.dataset_id)).values(**values)
                    ).rowcount
                    if not updated:
                        connection.execute(entries.insert().values(
                            dataset_id=entry.dataset_id, engine_version=ENGINE_VERSION, **values))
                return
            except IntegrityError:
                # Another process inserted the first entry between our UPDATE and INSERT: update it.
                continue


def _key(table: sa.Table, dataset_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.dataset_id == dataset_id, table.c.engine_version == ENGINE_VERSION)
