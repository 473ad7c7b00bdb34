"""The client's cache on disk: one folder per dataset, complete when it holds our marker.

The ``openml`` client's cache is not safe for concurrent writers: two processes fetching one
dataset into one folder can leave it corrupt. So a per-dataset lock file (``fcntl.flock``)
under ``<cache_dir>/.locks`` serialises cold fetches across threads, workers and processes,
while readers of a complete folder share it. A folder is complete once it holds the marker
(``MARKER_NAME``), written last and atomically; a folder without it was left by a killed or
failed fetch and is wiped before fetching again.

A lock file lives as long as its folder: whoever removes a folder (a failed fetch, ``prune``)
does so under the exclusive lock and unlinks the lock file before releasing it. A process
that opened the old file and then gets its lock sees the path gone or pointing at another
file, and starts over. ``prune`` keeps the cache under ``settings.cache_max_bytes``, least
recently used first (a read touches the marker), skipping any folder another process holds.
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
from dataclasses import dataclass
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
    """Remove what a killed or failed fetch left, or a stale copy (the caller holds the
    exclusive lock)."""
    if did_dir.exists():
        if read_marker(did_dir) is None:
            logger.warning("dataset cache folder %s is incomplete; removing it before fetching", did_dir.name)
        shutil.rmtree(did_dir, ignore_errors=True)


def _lock_path(settings: OpenMLSettings, dataset_id: int) -> Path:
    return _locks_dir(settings) / f"{dataset_id}.lock"


def _locks_dir(settings: OpenMLSettings) -> Path:
    server_dir = dataset_dir("", settings.server_url, 0).parent.parent
    safe = "_".join(server_dir.parts) or "server"
    return Path(cache_root(settings), ".locks", safe)


class HeldLock:
    """A dataset's lock while held; ``discard()`` (exclusive holders only) unlinks the lock
    file on release, for a holder that removed the dataset's folder."""

    def __init__(self, path: Path, exclusive: bool) -> None:
        self.path = path
        self.exclusive = exclusive
        self.discarded = False

    def discard(self) -> None:
        if not self.exclusive:
            raise RuntimeError("only the exclusive holder may remove a lock file")
        self.discarded = True


@contextmanager
def dataset_lock(settings: OpenMLSettings, dataset_id: int, *, exclusive: bool,
                 deadline: float) -> Iterator[HeldLock]:
    """Hold the dataset's file lock (shared for readers, exclusive for a fetch); waiting past
    ``deadline`` (a ``time.monotonic()`` value) raises OpenMLUnavailable."""
    path = _lock_path(settings, dataset_id)
    fd = _acquire(path, exclusive, blocking_until=deadline)
    if fd is None:
        raise OpenMLUnavailable(dataset_id, "timed out waiting for another fetch of this dataset")
    held = HeldLock(path, exclusive)
    try:
        yield held
    finally:
        _release(fd, held)


def _acquire(path: Path, exclusive: bool, blocking_until: float | None) -> int | None:
    """The descriptor of ``path`` locked as asked, or None when ``blocking_until`` passed
    (None: one try, no waiting)."""
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if blocking_until is None or time.monotonic() >= blocking_until:
                return None
            time.sleep(LOCK_POLL_SECONDS)
            continue
        if _still_linked(fd, path):
            return fd
        os.close(fd)  # its holder removed it meanwhile: lock the file now at that path


def _still_linked(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _release(fd: int, held: HeldLock) -> None:
    try:
        if held.discarded:
            held.path.unlink(missing_ok=True)  # still locked: nobody can take this file meanwhile
    finally:
        os.close(fd)  # closing releases the lock


def touch(did_dir: Path) -> None:
    """Record a use of the folder (its marker's mtime orders ``prune``)."""
    try:
        os.utime(did_dir / MARKER_NAME)
    except OSError:
        pass  # read-only cache: it is not pruned either


@dataclass(frozen=True)
class _Folder:
    dataset_id: int
    path: Path
    size: int
    used_at: float


def prune(settings: OpenMLSettings, keep: int | None = None) -> int:
    """Remove dataset folders, least recently used first, until the cache holds at most
    ``settings.cache_max_bytes``; never ``keep`` nor a folder whose lock another process
    holds. Also removes lock files left without a folder. Returns the bytes removed."""
    if settings.cache_max_bytes is None:
        return 0
    folders = _folders(settings)
    total = sum(folder.size for folder in folders)
    removed = 0
    for folder in sorted(folders, key=lambda f: f.used_at):
        if total - removed <= settings.cache_max_bytes:
            break
        if folder.dataset_id != keep and _remove_unless_held(settings, folder.dataset_id, folder.path):
            removed += folder.size
    _remove_orphan_locks(settings, {folder.dataset_id for folder in folders})
    if removed:
        logger.info("OpenML download cache pruned: %d bytes removed", removed)
    return removed


def _folders(settings: OpenMLSettings) -> list[_Folder]:
    datasets = dataset_dir(cache_root(settings), settings.server_url, 0).parent
    folders = []
    try:
        entries = list(os.scandir(datasets))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        try:
            used_at = os.stat(path / MARKER_NAME).st_mtime
        except OSError:
            used_at = _mtime(path)  # incomplete: as old as its last write
        folders.append(_Folder(int(entry.name), path, _size(path), used_at))
    return folders


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _remove_unless_held(settings: OpenMLSettings, dataset_id: int, path: Path) -> bool:
    lock_path = _lock_path(settings, dataset_id)
    fd = _acquire(lock_path, exclusive=True, blocking_until=None)
    if fd is None:
        return False  # being read or fetched by someone else
    held = HeldLock(lock_path, exclusive=True)
    try:
        shutil.rmtree(path, ignore_errors=True)
        held.discard()
    finally:
        _release(fd, held)
    return True


def _remove_orphan_locks(settings: OpenMLSettings, with_folder: set[int]) -> None:
    try:
        names = os.listdir(_locks_dir(settings))
    except OSError:
        return
    for name in names:
        stem = name.removesuffix(".lock")
        if not name.endswith(".lock") or not stem.isdigit() or int(stem) in with_folder:
            continue
        lock_path = _lock_path(settings, int(stem))
        fd = _acquire(lock_path, exclusive=True, blocking_until=None)
        if fd is None:
            continue  # a fetch is creating the folder right now
        held = HeldLock(lock_path, exclusive=True)
        if not dataset_dir(cache_root(settings), settings.server_url, int(stem)).exists():
            held.discard()
        _release(fd, held)
