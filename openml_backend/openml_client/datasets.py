"""Load an OpenML dataset through the ``openml`` client, bounded in time and safe across processes.

``load_dataset(id, settings)`` returns the data as a ``pyarrow.Table`` with OpenML's feature
metadata. Every failure is one of the ``OpenMLError`` subclasses; no other exception escapes.

How a load works:

1. Under the dataset's shared file lock, a complete cache folder is read as it is
   (``local_cache``: the client's cache is not safe for concurrent writers, so cold fetches
   of one dataset are serialised across threads, workers and processes). ``refetch=True``
   skips this: the caller knows the copy is stale.
2. Otherwise, under the exclusive lock, the folder is wiped and a child process
   fetches the dataset (``fetcher.run_fetch``), killed at the deadline, so
   ``settings.timeout`` bounds the whole fetch, even when the server accepts the connection
   and never answers. A failed fetch leaves neither a folder nor a lock file; a successful
   one prunes the cache to ``settings.cache_max_bytes``.
3. The worker opens the finished files itself, without the client and without network, as a
   ``stats.TableSource`` the statistics engine reads a column at a time (``table`` reads it
   whole): parquet as it is; an ARFF was already converted to an Arrow file by the child.

``describe(id, settings)`` asks OpenML for the dataset's description alone (one small
request, no child process), to compare its checksum with a stored one.

No Flask here: the caller passes ``OpenMLSettings``.
"""

from __future__ import annotations

import http.client
import logging
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from ..disks import directory_takes_writes
from ..stats import FeatureInfo, TableSource, open_table_file
from . import local_cache
from .errors import DatasetForbidden, DatasetNotFound, DatasetUnparseable, OpenMLError, OpenMLUnavailable, redact
from .fetcher import run_fetch
from .metadata import DatasetDescription, MetadataError, parse_description, parse_features
from .settings import OpenMLSettings

logger = logging.getLogger(__name__)

Result = TypeVar("Result")


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset's data (an open file, read on demand) and feature metadata."""

    dataset_id: int
    name: str
    version: int
    checksum: str | None
    source: TableSource
    features: tuple[FeatureInfo, ...]
    source_format: str  # "parquet" | "arff"

    @property
    def table(self) -> pa.Table:
        """The whole data in memory (the statistics engine reads `source` a column at a time)."""
        return self.source.read_all()


def load_dataset(dataset_id: Any, settings: OpenMLSettings, *, refetch: bool = False,
                 deadline: float | None = None) -> LoadedDataset:
    """The dataset's data (nominal columns dictionary-encoded, integers kept integer) and
    features, fetched through the ``openml`` client at most once per cache (once more when
    ``refetch``: the local copy is dropped and downloaded again), within ``settings.timeout``
    for the fetch, and by ``deadline`` (a ``time.monotonic()`` value) when one is given.

    Raises only ``OpenMLError`` subclasses.
    """
    own_deadline = time.monotonic() + settings.timeout
    deadline = own_deadline if deadline is None else min(own_deadline, deadline)
    try:
        return _guarded(dataset_id, lambda did: _load(did, settings, deadline, refetch))
    except (OpenMLUnavailable, DatasetUnparseable):
        if directory_takes_writes(local_cache.cache_root(settings)):
            raise
    # The cache directory is read-only or full. Fetch once more into a private scratch
    # directory (under TMPDIR: its own volume in the pods), read it and drop it, so the
    # statistics still answer; nothing is cached locally until the directory recovers.
    logger.warning("dataset %s: the OpenML cache directory takes no writes; fetching into scratch space",
                   dataset_id)
    scratch = tempfile.mkdtemp(prefix="openml-backend-scratch-")
    try:
        return _guarded(dataset_id, lambda did: _load(did, replace(settings, cache_dir=scratch), deadline, True))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _guarded(dataset_id: Any, action: Callable[[int], Result]) -> Result:
    did = _valid_id(dataset_id)
    try:
        return action(did)
    except OpenMLError:
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: nothing else may escape
        # No traceback: its messages may quote URLs; the redacted message says what failed.
        logger.error("dataset %s: unexpected %s: %s", did, type(exc).__name__, redact(str(exc))[:300])
        if isinstance(exc, OSError):
            raise OpenMLUnavailable(did, f"local cache error ({type(exc).__name__})") from None
        raise DatasetUnparseable(did, f"the dataset could not be read ({type(exc).__name__})") from None


def _valid_id(dataset_id: Any) -> int:
    if isinstance(dataset_id, bool) or not isinstance(dataset_id, int) or dataset_id <= 0:
        raise DatasetNotFound(dataset_id, f"{dataset_id!r} is not a valid OpenML dataset id")
    return dataset_id


def _load(dataset_id: int, settings: OpenMLSettings, deadline: float, refetch: bool) -> LoadedDataset:
    did_dir = local_cache.dataset_dir(local_cache.cache_root(settings), settings.server_url, dataset_id)
    asked_at = time.time()
    if not refetch:
        with local_cache.dataset_lock(settings, dataset_id, exclusive=False, deadline=deadline):
            info = local_cache.read_marker(did_dir)
            if info is not None:
                local_cache.touch(did_dir)
                return _read_complete(dataset_id, did_dir, info)
    with local_cache.dataset_lock(settings, dataset_id, exclusive=True, deadline=deadline) as lock:
        info = local_cache.read_marker(did_dir)
        fetched_meanwhile = info is not None and float(info.get("fetched_at", 0)) >= asked_at
        # Another process may have finished (or, when refetching, re-fetched) while we waited.
        if info is None or (refetch and not fetched_meanwhile):
            local_cache.wipe(did_dir)
            try:
                run_fetch(dataset_id, settings, deadline)
                info = local_cache.read_marker(did_dir)
                if info is None:
                    raise DatasetUnparseable(dataset_id, "the fetch finished without complete data")
            except BaseException:
                # Nothing to keep: no folder, and no lock file for it (see local_cache).
                shutil.rmtree(did_dir, ignore_errors=True)
                lock.discard()
                raise
        loaded = _read_complete(dataset_id, did_dir, info)
    try:
        local_cache.prune(settings, keep=dataset_id)
    except OSError as exc:  # the data is loaded; a cache that cannot shrink now is retried next fetch
        logger.warning("dataset %s: the OpenML cache could not be pruned (%s)", dataset_id, type(exc).__name__)
    return loaded


def _read_complete(dataset_id: int, did_dir: Path, info: dict[str, Any]) -> LoadedDataset:
    try:
        description = parse_description(dataset_id, (did_dir / "description.xml").read_bytes())
    except (OSError, *MetadataError):
        raise DatasetUnparseable(dataset_id, "OpenML's description of the dataset cannot be parsed") from None
    data_path = did_dir / str(info["data_file"])
    source_format = str(info["format"])
    try:
        source = open_table_file(data_path, source_format)
    except (pa.ArrowException, OSError) as exc:
        # Unmark the folder: the next load wipes it and fetches again instead of failing forever.
        local_cache.unmark(did_dir)
        raise DatasetUnparseable(dataset_id, f"the dataset's data file cannot be read ({type(exc).__name__})") from None
    try:
        features = parse_features((did_dir / "features.xml").read_bytes(), description)
    except (OSError, *MetadataError) as exc:
        raise DatasetUnparseable(dataset_id, f"OpenML's feature list cannot be parsed ({type(exc).__name__})") from None
    return LoadedDataset(
        dataset_id=dataset_id,
        name=description.name,
        version=description.version,
        checksum=description.checksum,
        source=source,
        features=features,
        source_format=source_format,
    )


DESCRIPTION_MAX_BYTES = 1024 * 1024


def describe(dataset_id: Any, settings: OpenMLSettings) -> DatasetDescription:
    """OpenML's current description of the dataset (its version and md5 checksum), in one
    request bounded by ``settings.timeout``. Raises only ``OpenMLError`` subclasses."""
    return _guarded(dataset_id, lambda did: _describe(did, settings))


def _describe(dataset_id: int, settings: OpenMLSettings) -> DatasetDescription:
    query = "?" + urllib.parse.urlencode({"api_key": settings.apikey}) if settings.apikey else ""
    url = f"{settings.server_url.rstrip('/')}/data/{dataset_id}{query}"
    deadline = time.monotonic() + settings.timeout
    try:
        with urllib.request.urlopen(url, timeout=settings.timeout) as response:  # noqa: S310 - our server URL
            body = _read_bounded(response, deadline)
    except urllib.error.HTTPError as error:
        raise _description_error(dataset_id, error) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise OpenMLUnavailable(dataset_id, f"{type(error).__name__} asking OpenML for the description") from None
    try:
        return parse_description(dataset_id, body)
    except MetadataError:
        raise DatasetUnparseable(dataset_id, "OpenML's description of the dataset cannot be parsed") from None


def _read_bounded(response: Any, deadline: float) -> bytes:
    chunks, size = [], 0
    while chunk := response.read(64 * 1024):
        size += len(chunk)
        if size > DESCRIPTION_MAX_BYTES:
            raise OSError("the description is implausibly large")
        if time.monotonic() > deadline:
            raise TimeoutError("the description did not arrive in time")
        chunks.append(chunk)
    return b"".join(chunks)


def _description_error(dataset_id: int, error: urllib.error.HTTPError) -> OpenMLError:
    """OpenML answers 412 with an ``oml:error`` code; the codes are those the fetch maps."""
    from .child import FORBIDDEN_CODES, NOT_FOUND_CODES

    code = None
    try:
        root = ET.fromstring(error.read(DESCRIPTION_MAX_BYTES))
        code = int(root.findtext("{http://openml.org/openml}code") or 0)
    except (ET.ParseError, ValueError, OSError):
        pass
    finally:
        error.close()
    if code in NOT_FOUND_CODES:
        return DatasetNotFound(dataset_id, f"OpenML error {code}")
    if code in FORBIDDEN_CODES:
        return DatasetForbidden(dataset_id, f"OpenML error {code}")
    return OpenMLUnavailable(dataset_id, f"OpenML answered HTTP {error.code} to the description request")
