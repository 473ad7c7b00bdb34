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
   `lease_ttl`. The other processes poll for the new entry, at most `wait_timeout` (OpenML's
   timeout and a little), and never start a computation of their own after waiting, so
   every request answers within its budget: a waiter whose computation ended without an
   entry answers that computation's error (remembered, see 5) or 503 `stats_unavailable`.
   A holder that dies (SIGKILL, OOM) stops renewing; its lease expires after `lease_ttl`
   and a waiter takes it over, fetching within what is left of its own budget.
4. Freshness. An entry records the dataset's version and md5 checksum. At most once per
   `revalidate_after` (one process claims the check in the database), a request asks
   OpenML's description (`check`); when it reports another version or checksum, this request
   recomputes from freshly downloaded data. A forced refresh also downloads again, at most
   once per `refresh_interval`.
5. Refusals and failures. OpenML's 404 and 403 are remembered for `refusal_ttl`, a failed
   fetch or computation (502, 503) for `failure_ttl`, in `stats_failures`: every process
   answers them from there, without asking OpenML again.

When the database is unreachable, the cache still answers: from memory if it holds the
dataset, else by computing alone without storing.
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
from ..errors import ApiError, BadGateway, Forbidden, NotFound, ServiceUnavailable
from ..stats import ENGINE_VERSION
from .lru import ByteBoundedLRU
from .models import StatsEntry, StatsFailure, StatsLease

log = logging.getLogger(__name__)

GZIP_LEVEL = 6
UNAVAILABLE_RETRY_AFTER = 30
PENDING_RETRY_AFTER = 10

entries = StatsEntry.__table__
leases = StatsLease.__table__
failures = StatsFailure.__table__
# The errors a computation raises that are remembered, by status: refusals and failures.
REMEMBERED = {403: Forbidden, 404: NotFound, 502: BadGateway, 503: ServiceUnavailable}
REFUSALS = (403, 404)


@dataclass(frozen=True)
class CacheSettings:
    """How the cache waits, shares and remembers."""

    refresh_interval: float = 60.0  # a forced refresh of one dataset at most this often
    lease_ttl: float = 15.0  # a silent lease holder is presumed dead after this long
    wait_timeout: float = 30.0  # how long a request waits for another process's computation
    revalidate_seconds: float = 5.0  # how long an in-process copy is trusted without the database
    revalidate_after: float = 86400.0  # how often an entry is checked against OpenML's checksum
    refusal_ttl: float = 300.0  # how long OpenML's 404/403 for a dataset is remembered
    failure_ttl: float = 30.0  # how long a failed fetch or computation (502/503) is remembered
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
    dataset_version: int | None = None
    checksum: str | None = None
    validated_at: datetime | None = None  # when OpenML last confirmed version and checksum


@dataclass(frozen=True)
class FreshStats:
    """What a computation returns for the cache to store: the document and what identifies it."""

    name: str
    dataset_version: int | None
    checksum: str | None
    computed_at: datetime  # from utcnow(); the document states the same time
    document: bytes  # the JSON document, uncompressed


# compute(dataset_id, refetch, deadline): the statistics; refetch=True downloads the data
# again; the fetch ends by deadline (a time.monotonic() value) at the latest.
Compute = Callable[[int, bool, float], FreshStats]
# check(entry): True when OpenML now describes the dataset with another version or checksum.
Check = Callable[["CachedStats"], bool]


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

    def get_or_compute(self, dataset_id: int, compute: Compute, *, force_refresh: bool = False,
                       check: Check | None = None) -> tuple[CachedStats, bool]:
        """The ready entry of `dataset_id` and whether it was already stored (True) or computed
        by this call with `compute` (False).

        Exactly one process computes a missing entry; the others wait for it. `force_refresh`
        recomputes from a new download an entry older than `refresh_interval`; so does a
        request whose `check(entry)` (made at most once per `revalidate_after`, by one
        process) says OpenML's dataset changed. Raises what `compute` raises (a remembered
        refusal or failure likewise, without computing), or ServiceUnavailable:
        `stats_pending` when another process is still computing after `wait_timeout`,
        `stats_unavailable` when the computation waited for ended without an entry.
        """
        current = self.get(dataset_id)
        refetch = False
        if current is not None:
            if force_refresh and not self._refreshed_recently(current):
                refetch = True
            elif check is not None and self._claim_check(current) and self._changed(current, check):
                return self._recompute_changed(dataset_id, compute, current)
            else:
                return current, True
        self._raise_remembered(dataset_id)
        metrics.stats_cache("miss")
        return self._compute_once(dataset_id, compute, previous=current, refetch=refetch)

    # -- freshness ------------------------------------------------------------------------------

    def _refreshed_recently(self, entry: CachedStats) -> bool:
        return (utcnow() - entry.computed_at).total_seconds() < self.settings.refresh_interval

    def _claim_check(self, entry: CachedStats) -> bool:
        """True when this process is the one to check `entry` against OpenML now: its last
        check is `revalidate_after` old and no other process claimed it first."""
        now = utcnow()
        due_before = now - timedelta(seconds=self.settings.revalidate_after)
        if entry.validated_at is not None and entry.validated_at > due_before:
            return False
        try:
            with self._engine().begin() as connection:
                claimed = connection.execute(
                    entries.update()
                    .where(_key(entries, entry.dataset_id), entries.c.etag == entry.etag,
                           sa.or_(entries.c.validated_at.is_(None), entries.c.validated_at <= due_before))
                    .values(validated_at=now)
                ).rowcount
        except SQLAlchemyError:
            return False  # no check while the database is away; the entry is served as it is
        # Claimed or not, the entry was just checked (or is being checked elsewhere).
        self._hold(replace(entry, validated_at=now))
        return claimed == 1

    def _changed(self, entry: CachedStats, check: Check) -> bool:
        try:
            return check(entry)
        except Exception:  # noqa: BLE001 - a failed check keeps the entry; it is retried later
            log.warning("stats cache: checking the dataset against OpenML failed", exc_info=True,
                        extra={"dataset_id": entry.dataset_id})
            self._check_again_after(entry, self.settings.failure_ttl)
            return False

    def _recompute_changed(self, dataset_id: int, compute: Compute,
                           current: CachedStats) -> tuple[CachedStats, bool]:
        """Recompute an entry whose dataset changed on OpenML from a new download; when that
        fails, keep answering the old entry and check again after `failure_ttl`."""
        log.info("stats cache: the dataset changed on OpenML; recomputing", extra={"dataset_id": dataset_id})
        metrics.stats_cache("miss")
        try:
            return self._compute_once(dataset_id, compute, previous=current, refetch=True)
        except ApiError as error:
            if error.status in REFUSALS:
                self._drop_entry(current)  # deleted or made private on OpenML: no longer ours to show
                raise
            self._check_again_after(current, self.settings.failure_ttl)
            return current, True

    def _check_again_after(self, entry: CachedStats, seconds: float) -> None:
        again = utcnow() - timedelta(seconds=max(0.0, self.settings.revalidate_after - seconds))
        try:
            with self._engine().begin() as connection:
                connection.execute(entries.update().where(_key(entries, entry.dataset_id), entries.c.etag == entry.etag)
                                   .values(validated_at=again))
        except SQLAlchemyError:
            pass
        self._memory.discard(entry.dataset_id)

    def _drop_entry(self, entry: CachedStats) -> None:
        try:
            with self._engine().begin() as connection:
                connection.execute(entries.delete().where(_key(entries, entry.dataset_id),
                                                          entries.c.etag == entry.etag))
        except SQLAlchemyError:
            pass  # the next check finds the refusal again
        self._memory.discard(entry.dataset_id)

    # -- refusals and failures ------------------------------------------------------------------

    def _raise_remembered(self, dataset_id: int) -> None:
        """Raise the refusal or failure remembered for `dataset_id`, if one is."""
        now = utcnow()
        try:
            with self._engine().connect() as connection:
                row = connection.execute(
                    sa.select(failures.c.status, failures.c.code, failures.c.message, failures.c.expires_at)
                    .where(_key(failures, dataset_id), failures.c.expires_at > now)
                ).first()
        except SQLAlchemyError:
            return
        if row is None:
            return
        error_class = REMEMBERED.get(row.status, BadGateway)
        if issubclass(error_class, ServiceUnavailable):
            remaining = max(1, int((row.expires_at - now).total_seconds() + 0.999))
            raise error_class(row.message, code=row.code, retry_after=remaining)
        raise error_class(row.message, code=row.code)

    def _remember(self, engine: Engine, dataset_id: int, error: ApiError) -> None:
        if error.status not in REMEMBERED:
            return
        ttl = self.settings.refusal_ttl if error.status in REFUSALS else self.settings.failure_ttl
        now = utcnow()
        try:
            with engine.begin() as connection:
                # The table holds only live rows, at most (ids asked per second) x TTL.
                connection.execute(failures.delete().where(
                    sa.or_(failures.c.expires_at <= now, _key(failures, dataset_id))))
                connection.execute(failures.insert().values(
                    dataset_id=dataset_id, engine_version=ENGINE_VERSION, status=error.status,
                    code=error.code[:64], message=error.message[:512],
                    expires_at=now + timedelta(seconds=ttl)))
        except SQLAlchemyError as stored_error:  # another process stored it first, or no database
            log.info("stats cache: failure not remembered", extra={"error_type": type(stored_error).__name__})

    # -- computing once -------------------------------------------------------------------------

    def _compute_once(self, dataset_id: int, compute: Compute, previous: CachedStats | None,
                      refetch: bool) -> tuple[CachedStats, bool]:
        started = time.monotonic()
        deadline = started + self.settings.wait_timeout
        owner = _owner_id()
        taking_over = False
        while True:
            try:
                engine = self._engine()
                acquired = self._try_acquire_lease(engine, dataset_id, owner)
            except SQLAlchemyError as error:
                log.warning("stats cache: no lease (database unavailable); computing alone",
                            extra={"error_type": type(error).__name__})
                return self._compute_and_store(dataset_id, compute, refetch, deadline, None, None), False
            if acquired:
                try:
                    # Another process may have stored the entry between our lookup and our lease.
                    finished = self._newer_entry(engine, dataset_id, previous)
                    if finished is not None:
                        return finished, True
                    self._raise_remembered(dataset_id)
                    # A take-over fetches with what is left of the budget: its failure may be
                    # that shortness, so it is not remembered for the others.
                    return self._compute_and_store(dataset_id, compute, refetch, deadline, engine, owner,
                                                   remember=not taking_over), False
                finally:
                    self._release(engine, dataset_id, owner)
            # Wait; never start a fresh fetch after waiting (it would take a whole OpenML
            # timeout more, past this request's budget).
            finished, holder_died = self._wait_for_other(engine, dataset_id, previous, deadline)
            if finished is not None:
                metrics.stats_cache("coalesced")
                return finished, True
            self._raise_remembered(dataset_id)
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    "The statistics of this dataset are still being computed; try again shortly.",
                    code="stats_pending", retry_after=PENDING_RETRY_AFTER,
                )
            if not holder_died:
                raise ServiceUnavailable(
                    "The statistics of this dataset could not be computed just now; try again later.",
                    code="stats_unavailable", retry_after=UNAVAILABLE_RETRY_AFTER,
                )
            taking_over = True  # its lease expired: take it over, within our deadline

    def _wait_for_other(self, engine: Engine, dataset_id: int, previous: CachedStats | None,
                        deadline: float) -> tuple[CachedStats | None, bool]:
        """Poll until another process stores a newer entry (returned), its lease ends without
        one, or the deadline passes. The flag says whether the lease ended by expiring (its
        holder died) rather than being released."""
        while time.monotonic() < deadline:
            time.sleep(min(self.settings.poll_interval, max(0.0, deadline - time.monotonic())))
            try:
                finished = self._newer_entry(engine, dataset_id, previous)
                if finished is not None:
                    return finished, False
                expires = self._lease_expiry(engine, dataset_id)
                if expires is None or expires < utcnow():
                    # It may have stored the entry just before releasing the lease.
                    return self._newer_entry(engine, dataset_id, previous), expires is not None
            except SQLAlchemyError:
                return None, False
        return None, False

    def _newer_entry(self, engine: Engine, dataset_id: int, previous: CachedStats | None) -> CachedStats | None:
        etag = self._stored_etag(engine, dataset_id)
        if etag is None or (previous is not None and etag == previous.etag):
            return None
        entry = self._read_entry(engine, dataset_id)
        return self._hold(entry) if entry is not None else None

    def _compute_and_store(self, dataset_id: int, compute: Compute, refetch: bool, deadline: float,
                           engine: Engine | None, owner: str | None, remember: bool = True) -> CachedStats:
        with self._heartbeat(engine, dataset_id, owner):
            try:
                fresh = compute(dataset_id, refetch, deadline)
            except ApiError as error:
                if engine is not None and remember:
                    self._remember(engine, dataset_id, error)
                raise
        # Content hash plus a nonce: two computations in the same second still differ, which is
        # how waiting processes recognise a refreshed entry.
        etag = sha256_hex(fresh.document)[:24] + uuid.uuid4().hex[:8]
        entry = CachedStats(dataset_id, etag, fresh.computed_at, gzip.compress(fresh.document, GZIP_LEVEL),
                            time.monotonic(), fresh.dataset_version, fresh.checksum, fresh.computed_at)
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

    def _lease_expiry(self, engine: Engine, dataset_id: int) -> datetime | None:
        """When the dataset's lease expires; None when nobody holds one."""
        with engine.connect() as connection:
            return connection.execute(sa.select(leases.c.expires_at).where(_key(leases, dataset_id))).scalar()

    # -- the stored entries ---------------------------------------------------------------------

    def _stored_etag(self, engine: Engine, dataset_id: int) -> str | None:
        with engine.connect() as connection:
            return connection.execute(sa.select(entries.c.etag).where(_key(entries, dataset_id))).scalar()

    def _read_entry(self, engine: Engine, dataset_id: int) -> CachedStats | None:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(entries.c.etag, entries.c.computed_at, entries.c.payload_gzip, entries.c.dataset_version,
                          entries.c.checksum, entries.c.validated_at)
                .where(_key(entries, dataset_id))
            ).first()
        if row is None:
            return None
        return CachedStats(dataset_id, row.etag, row.computed_at, bytes(row.payload_gzip), time.monotonic(),
                           row.dataset_version, row.checksum, row.validated_at)

    def _save_entry(self, engine: Engine, entry: CachedStats, fresh: FreshStats) -> None:
        """Store the entry, replacing the previous one of the dataset in one transaction."""
        values = {
            "dataset_version": fresh.dataset_version,
            "checksum": fresh.checksum,
            "name": fresh.name[:256],
            "computed_at": entry.computed_at,
            "etag": entry.etag,
            "payload_gzip": entry.payload_gzip,
            "validated_at": entry.computed_at,  # computed from what OpenML served just now
        }
        for _attempt in range(2):
            try:
                with engine.begin() as connection:
                    connection.execute(failures.delete().where(_key(failures, entry.dataset_id)))
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
