"""Load an OpenML dataset through the ``openml`` client, bounded in time and safe across processes.

``load_dataset(id, settings)`` returns the data as a ``pyarrow.Table`` with OpenML's feature
metadata. Every failure is one of the ``OpenMLError`` subclasses; no other exception escapes.

How a load works:

1. Under the dataset's shared file lock, a complete cache folder is read as it is
   (``local_cache``: the client's cache is not safe for concurrent writers, so cold fetches
   of one dataset are serialised across threads, workers and processes).
2. Otherwise, under the exclusive lock, an incomplete folder is wiped and a child process
   fetches the dataset (``fetcher.run_fetch``), killed at the deadline, so
   ``settings.timeout`` bounds the whole fetch, even when the server accepts the connection
   and never answers.
3. The worker opens the finished files itself, without the client and without network, as a
   ``stats.TableSource`` the statistics engine reads a column at a time (``table`` reads it
   whole): parquet as it is; an ARFF was already converted to an Arrow file by the child.

No Flask here: the caller passes ``OpenMLSettings``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from ..disks import directory_takes_writes
from ..stats import FeatureInfo, TableSource, open_table_file
from . import local_cache
from .errors import DatasetNotFound, DatasetUnparseable, OpenMLError, OpenMLUnavailable, redact
from .fetcher import run_fetch
from .metadata import MetadataError, parse_description, parse_features
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


def load_dataset(dataset_id: Any, settings: OpenMLSettings) -> LoadedDataset:
    """The dataset's data (nominal columns dictionary-encoded, integers kept integer) and
    features, fetched through the ``openml`` client at most once per cache, within
    ``settings.timeout`` for the fetch.

    Raises only ``OpenMLError`` subclasses.
    """
    deadline = time.monotonic() + settings.timeout
    try:
        return _guarded(dataset_id, lambda did: _load(did, settings, deadline))
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
        return _guarded(dataset_id, lambda did: _load(did, replace(settings, cache_dir=scratch), deadline))
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


def _load(dataset_id: int, settings: OpenMLSettings, deadline: float) -> LoadedDataset:
    did_dir = local_cache.dataset_dir(local_cache.cache_root(settings), settings.server_url, dataset_id)
    with local_cache.dataset_lock(settings, dataset_id, exclusive=False, deadline=deadline):
        info = local_cache.read_marker(did_dir)
        if info is not None:
            return _read_complete(dataset_id, did_dir, info)
    with local_cache.dataset_lock(settings, dataset_id, exclusive=True, deadline=deadline):
        info = local_cache.read_marker(did_dir)  # another process may have finished while we waited
        if info is None:
            local_cache.wipe(did_dir)
            run_fetch(dataset_id, settings, deadline)
            info = local_cache.read_marker(did_dir)
            if info is None:
                raise DatasetUnparseable(dataset_id, "the fetch finished without complete data")
        return _read_complete(dataset_id, did_dir, info)


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
