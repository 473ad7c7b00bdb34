"""The client's cache on disk: one folder per dataset, complete when it holds our marker.

The ``openml`` client's cache is not safe for concurrent writers: two processes fetching one
dataset into one folder can leave it corrupt. So a per-dataset lock file (``fcntl.flock``)
under ``<cache_dir>/.locks`` serialises cold fetches across threads, workers and processes,
while readers of a complete folder share it. A folder is complete once it holds the marker
(``MARKER_NAME``), written last and atomically; a folder without it was left by a killed or
failed fetch and is wiped before fetching again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import OpenMLUnavailable
from .settings import OpenMLSettings

MARKER_NAME = ".openml-backend-complete.json"
ARROW_TABLE_NAME = "openml-backend-table.arrow"
LOCK_POLL_SECONDS = 0.05

logger = logging.getLogger(__name__)


def cache_root(settings: OpenMLSettings) -> str:
    """The cache directory as an absolute path (the fetch process may run in another directory)."""
    return os.path.abspath(settings.cache_dir)


def dataset_dir(cache_root: str | Path, server_url: str, dataset_id: int) -> Path:
    """Where openml 0.15.1 caches a dataset: root / reversed host labels (port kept) / datasets / id."""
    netloc = urlparse(server_url).netloc
    return Path(cache_root, *reversed(netloc.split(".")), "datasets", str(dataset_id))


def read_marker(did_dir: Path) -> dict[str, Any] | None:
    """The marker of a complete folder (``format`` and ``data_file``), or None when the folder
    is incomplete or the marker unreadable."""
    try:
        info = json.loads((did_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("format") not in ("parquet", "arff") or not info.get("data_file"):
        return None
    return info


def write_marker(did_dir: Path, info: dict[str, Any]) -> None:
    """Mark the dataset's cache folder complete (atomically: a reader sees all of it or none)."""
    tmp = did_dir / (MARKER_NAME + ".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, did_dir / MARKER_NAME)


def unmark(did_dir: Path) -> None:
    """Mark the folder incomplete, so the next load wipes it and fetches again."""
    (did_dir / MARKER_NAME).unlink(missing_ok=True)


def wipe(did_dir: Path) -> None:
    """Remove what a killed or failed fetch left (the caller holds the exclusive lock)."""
    if did_dir.exists():
        logger.warning("dataset cache folder %s is incomplete; removing it before fetching", did_dir.name)
        shutil.rmtree(did_dir, ignore_errors=True)


def _lock_path(settings: OpenMLSettings, dataset_id: int) -> Path:
    server_dir = dataset_dir("", settings.server_url, 0).parent.parent
    safe = "_".join(server_dir.parts) or "server"
    return Path(cache_root(settings), ".locks", safe, f"{dataset_id}.lock")


@contextmanager
def dataset_lock(settings: OpenMLSettings, dataset_id: int, *, exclusive: bool, deadline: float) -> Iterator[None]:
    """Hold the dataset's file lock (shared for readers, exclusive for a fetch); waiting past
    ``deadline`` (a ``time.monotonic()`` value) raises OpenMLUnavailable."""
    path = _lock_path(settings, dataset_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise OpenMLUnavailable(dataset_id, "timed out waiting for another fetch of this dataset")
            time.sleep(LOCK_POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing releases the lock
