"""Load an OpenML dataset through the ``openml`` client, bounded in time and safe across processes.

``load_dataset(id, settings)`` returns the data as a ``pyarrow.Table`` with OpenML's feature
metadata; ``describe_dataset`` returns only the identifying metadata (for cache keys).
Every failure is one of the ``DatasetError`` subclasses; no other exception escapes.

How a load works:

1. A per-dataset lock file (``fcntl.flock``) under ``<cache_dir>/.locks`` serialises cold
   fetches of one dataset across threads, workers and processes: the client's cache is not
   safe for concurrent writers (../shared/FACTS.md). Readers of a complete folder share it.
2. The client's folder for the dataset is complete when it holds our marker
   (``_fetch.MARKER_NAME``). A folder without it was left by a killed or failed fetch and is
   wiped before fetching again.
3. A cold fetch runs in a child process (``_fetch.run``) that is killed at the deadline, so
   ``settings.timeout`` bounds the whole fetch, even when the server accepts the connection
   and never answers. The child starts from a ``forkserver`` that has already imported
   ``openml`` (about 2 s once per worker process; then each fetch forks in milliseconds) and
   that was started by exec, so it holds none of the web worker's threads, locks or sockets.
   It stays resident (~240 MiB); ``fetch_start_method="spawn"`` trades that memory for a
   fresh interpreter per cold fetch (~2-3.5 s). A script that loads datasets needs the usual
   ``if __name__ == "__main__":`` guard (multiprocessing re-imports the main module).
4. The worker reads the finished files itself, without the client and without network:
   parquet with ``pyarrow.parquet.read_table``; an ARFF was already converted to an Arrow
   file by the child.

No Flask here: the caller passes ``OpenMLSettings``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from . import _fetch
from ..disks import directory_takes_writes
from ..stats import FeatureInfo

__all__ = [
    "DatasetDescription",
    "DatasetError",
    "DatasetForbidden",
    "DatasetNotFound",
    "DatasetUnparseable",
    "LoadedDataset",
    "OpenMLSettings",
    "OpenMLUnavailable",
    "describe_dataset",
    "invalidate_dataset",
    "load_dataset",
]

logger = logging.getLogger(__name__)

_OML = "{http://openml.org/openml}"
_FETCH_START_METHODS = ("forkserver", "spawn")
_LOCK_POLL_SECONDS = 0.05


class DatasetError(Exception):
    """A dataset could not be loaded; ``str(error)`` is safe to show (no URLs, no keys)."""

    def __init__(self, dataset_id: Any, message: str):
        super().__init__(message)
        self.dataset_id = dataset_id
        self.message = message


class DatasetNotFound(DatasetError):
    """OpenML has no dataset with this id (error codes 111, 352, ...), or the id is not valid."""


class DatasetForbidden(DatasetError):
    """The dataset exists but is not shared with the configured API key (OpenML code 112)."""


class OpenMLUnavailable(DatasetError):
    """OpenML could not be reached, answered 5xx, or did not answer within the timeout."""


class DatasetUnparseable(DatasetError):
    """OpenML answered, but the data (or its metadata) cannot be parsed."""


_ERRORS_BY_KIND: dict[str, type[DatasetError]] = {
    "not_found": DatasetNotFound,
    "forbidden": DatasetForbidden,
    "unavailable": OpenMLUnavailable,
    "unparseable": DatasetUnparseable,
}


@dataclass(frozen=True)
class OpenMLSettings:
    """Where and how to reach OpenML. ``timeout`` bounds one whole fetch, in seconds."""

    server_url: str
    cache_dir: str
    timeout: float = 30.0
    retries: int = 1
    apikey: str | None = None
    # "forkserver": ~0.1 s per cold fetch, but keeps a ~240 MiB process (openml imported) per
    # worker; "spawn": nothing resident, ~3.5 s per cold fetch (bench/openml_fetch_overhead.py).
    fetch_start_method: str = "forkserver"

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError("OpenMLSettings.timeout must be a positive number of seconds")
        if self.retries < 1:
            raise ValueError("OpenMLSettings.retries must be at least 1")
        if self.fetch_start_method not in _FETCH_START_METHODS:
            raise ValueError(f"OpenMLSettings.fetch_start_method must be one of {_FETCH_START_METHODS}")

    def __repr__(self) -> str:  # keep the API key out of logs and tracebacks
        return (
            f"OpenMLSettings(server_url={self.server_url!r}, cache_dir={self.cache_dir!r}, "
            f"timeout={self.timeout!r}, retries={self.retries!r}, apikey={'***' if self.apikey else None}, "
            f"fetch_start_method={self.fetch_start_method!r})"
        )


@dataclass(frozen=True)
class DatasetDescription:
    """The identifying metadata of a dataset (``checksum`` is OpenML's md5, when it has one)."""

    dataset_id: int
    name: str
    version: int
    checksum: str | None
    status: str | None
    data_format: str | None
    default_target_attributes: tuple[str, ...] = ()
    ignore_attributes: tuple[str, ...] = ()
    row_id_attribute: str | None = None


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset's data and feature metadata."""

    dataset_id: int
    name: str
    version: int
    checksum: str | None
    table: pa.Table
    features: tuple[FeatureInfo, ...]
    source_format: str  # "parquet" | "arff"


def describe_dataset(dataset_id: Any, settings: OpenMLSettings) -> DatasetDescription:
    """The dataset's id, name, version, md5 and status. Served from the local cache when the
    description is there (no network); otherwise fetched within ``settings.timeout``.

    Raises only ``DatasetError`` subclasses.
    """
    deadline = time.monotonic() + settings.timeout
    return _guarded(dataset_id, lambda did: _describe(did, settings, deadline))


def load_dataset(dataset_id: Any, settings: OpenMLSettings) -> LoadedDataset:
    """The dataset's data (nominal columns dictionary-encoded, integers kept integer) and
    features, fetched through the ``openml`` client at most once per cache, within
    ``settings.timeout`` for the fetch.

    Raises only ``DatasetError`` subclasses.
    """
    deadline = time.monotonic() + settings.timeout
    try:
        return _guarded(dataset_id, lambda did: _load(did, settings, deadline))
    except (OpenMLUnavailable, DatasetUnparseable):
        if directory_takes_writes(_cache_root(settings)):
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


def invalidate_dataset(dataset_id: Any, settings: OpenMLSettings) -> None:
    """Forget the locally cached files of a dataset, so the next load fetches it again.

    Waits (within ``settings.timeout``) for loads in progress. Raises only ``DatasetError``.
    """
    deadline = time.monotonic() + settings.timeout
    _guarded(dataset_id, lambda did: _invalidate(did, settings, deadline))


def _guarded(dataset_id: Any, action: Any) -> Any:
    did = _valid_id(dataset_id)
    try:
        return action(did)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: nothing else may escape
        # No traceback: its messages may quote URLs; the redacted message says what failed.
        logger.error("dataset %s: unexpected %s: %s", did, type(exc).__name__, _fetch.redact(str(exc))[:300])
        if isinstance(exc, OSError):
            raise OpenMLUnavailable(did, f"local cache error ({type(exc).__name__})") from None
        raise DatasetUnparseable(did, f"the dataset could not be read ({type(exc).__name__})") from None


def _valid_id(dataset_id: Any) -> int:
    if isinstance(dataset_id, bool) or not isinstance(dataset_id, int) or dataset_id <= 0:
        raise DatasetNotFound(dataset_id, f"{dataset_id!r} is not a valid OpenML dataset id")
    return dataset_id


# --- loading ------------------------------------------------------------------------------

def _load(dataset_id: int, settings: OpenMLSettings, deadline: float) -> LoadedDataset:
    did_dir = _fetch.client_dataset_dir(_cache_root(settings), settings.server_url, dataset_id)
    with _dataset_lock(settings, dataset_id, exclusive=False, deadline=deadline):
        info = _read_marker(did_dir)
        if info is not None:
            return _read_complete(dataset_id, did_dir, info)
    with _dataset_lock(settings, dataset_id, exclusive=True, deadline=deadline):
        info = _read_marker(did_dir)  # another process may have finished while we waited
        if info is None:
            _wipe(did_dir)
            _run_fetch(dataset_id, settings, "load", deadline)
            info = _read_marker(did_dir)
            if info is None:
                raise DatasetUnparseable(dataset_id, "the fetch finished without complete data")
        return _read_complete(dataset_id, did_dir, info)


def _invalidate(dataset_id: int, settings: OpenMLSettings, deadline: float) -> None:
    did_dir = _fetch.client_dataset_dir(_cache_root(settings), settings.server_url, dataset_id)
    with _dataset_lock(settings, dataset_id, exclusive=True, deadline=deadline):
        shutil.rmtree(did_dir, ignore_errors=True)


def _describe(dataset_id: int, settings: OpenMLSettings, deadline: float) -> DatasetDescription:
    did_dir = _fetch.client_dataset_dir(_cache_root(settings), settings.server_url, dataset_id)
    with _dataset_lock(settings, dataset_id, exclusive=False, deadline=deadline):
        description = _cached_description(dataset_id, did_dir)
        if description is not None:
            return description
    with _dataset_lock(settings, dataset_id, exclusive=True, deadline=deadline):
        description = _cached_description(dataset_id, did_dir)
        if description is None:
            if _read_marker(did_dir) is None:
                _wipe(did_dir)
            _run_fetch(dataset_id, settings, "describe", deadline)
            description = _cached_description(dataset_id, did_dir)
            if description is None:
                raise DatasetUnparseable(dataset_id, "OpenML's description of the dataset cannot be parsed")
        return description


def _cached_description(dataset_id: int, did_dir: Path) -> DatasetDescription | None:
    try:
        return _parse_description(dataset_id, (did_dir / "description.xml").read_bytes())
    except (OSError, ET.ParseError, ValueError, KeyError):
        return None


def _read_complete(dataset_id: int, did_dir: Path, info: dict[str, Any]) -> LoadedDataset:
    description = _cached_description(dataset_id, did_dir)
    if description is None:
        raise DatasetUnparseable(dataset_id, "OpenML's description of the dataset cannot be parsed")
    data_path = did_dir / str(info["data_file"])
    source_format = str(info["format"])
    try:
        if source_format == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(data_path)
        else:
            import pyarrow.feather as feather

            table = feather.read_table(data_path, memory_map=True)
    except (pa.ArrowException, OSError) as exc:
        # Unmark the folder: the next load wipes it and fetches again instead of failing forever.
        (did_dir / _fetch.MARKER_NAME).unlink(missing_ok=True)
        raise DatasetUnparseable(dataset_id, f"the dataset's data file cannot be read ({type(exc).__name__})") from None
    try:
        features = _parse_features((did_dir / "features.xml").read_bytes(), description)
    except (OSError, ET.ParseError, ValueError, KeyError) as exc:
        raise DatasetUnparseable(dataset_id, f"OpenML's feature list cannot be parsed ({type(exc).__name__})") from None
    return LoadedDataset(
        dataset_id=dataset_id,
        name=description.name,
        version=description.version,
        checksum=description.checksum,
        table=table,
        features=features,
        source_format=source_format,
    )


def _read_marker(did_dir: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((did_dir / _fetch.MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("format") not in ("parquet", "arff") or not info.get("data_file"):
        return None
    return info


def _wipe(did_dir: Path) -> None:
    """Remove what a killed or failed fetch left (caller holds the exclusive lock)."""
    if did_dir.exists():
        logger.warning("dataset cache folder %s is incomplete; removing it before fetching", did_dir.name)
        shutil.rmtree(did_dir, ignore_errors=True)


# --- metadata parsing -----------------------------------------------------------------------

def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(_OML + tag)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _parse_description(dataset_id: int, xml: bytes) -> DatasetDescription:
    root = ET.fromstring(xml)
    if root.tag != _OML + "data_set_description":
        raise ValueError("not a data_set_description")
    targets = tuple(t.strip() for t in (_text(root, "default_target_attribute") or "").split(",") if t.strip())
    ignore = tuple(
        name.strip()
        for element in root.findall(_OML + "ignore_attribute")
        for name in (element.text or "").split(",")
        if name.strip()
    )
    return DatasetDescription(
        dataset_id=dataset_id,
        name=_text(root, "name") or f"dataset-{dataset_id}",
        version=int(_text(root, "version") or 1),
        checksum=_text(root, "md5_checksum"),
        status=_text(root, "status"),
        data_format=_text(root, "format"),
        default_target_attributes=targets,
        ignore_attributes=ignore,
        row_id_attribute=_text(root, "row_id_attribute"),
    )


def _parse_features(xml: bytes, description: DatasetDescription) -> tuple[FeatureInfo, ...]:
    """OpenML's feature list, with the description's target/ignore/row-id roles merged in."""
    root = ET.fromstring(xml)
    features = []
    for element in root.findall(_OML + "feature"):
        name = _text(element, "name")
        data_type = _text(element, "data_type")
        if name is None or data_type not in ("numeric", "nominal", "string", "date"):
            raise ValueError(f"feature {name!r} has data type {data_type!r}")
        nominal = tuple((v.text or "") for v in element.findall(_OML + "nominal_value"))
        features.append(
            FeatureInfo(
                name=name,
                data_type=data_type,
                is_target=_flag(element, "is_target") or name in description.default_target_attributes,
                is_ignored=_flag(element, "is_ignore") or name in description.ignore_attributes,
                is_row_id=_flag(element, "is_row_identifier") or name == description.row_id_attribute,
                nominal_values=nominal if data_type == "nominal" else None,
            )
        )
    return tuple(features)


def _flag(element: ET.Element, tag: str) -> bool:
    return (_text(element, tag) or "false").lower() == "true"


# --- locking ---------------------------------------------------------------------------------

def _lock_path(settings: OpenMLSettings, dataset_id: int) -> Path:
    server_dir = _fetch.client_dataset_dir("", settings.server_url, 0).parent.parent
    safe = "_".join(server_dir.parts) or "server"
    return Path(_cache_root(settings), ".locks", safe, f"{dataset_id}.lock")


def _cache_root(settings: OpenMLSettings) -> str:
    # Absolute: the fetch process may not share the worker's working directory.
    return os.path.abspath(settings.cache_dir)


@contextmanager
def _dataset_lock(settings: OpenMLSettings, dataset_id: int, *, exclusive: bool, deadline: float) -> Iterator[None]:
    """Hold the dataset's file lock; waiting counts against the deadline (-> OpenMLUnavailable)."""
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
            time.sleep(_LOCK_POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- the child process ---------------------------------------------------------------------

_contexts_lock = threading.Lock()


def _fetch_context(start_method: str) -> Any:
    """The multiprocessing context for fetches; the forkserver preloads the client once."""
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        with _contexts_lock:
            # _fetch_env first: it must set XDG_CONFIG_HOME/OPENML_CACHE_DIR before openml imports.
            context.set_forkserver_preload(["openml_backend.datasets._fetch_env", "openml"])
    return context


def warm_up(settings: OpenMLSettings) -> None:
    """Start the fetch forkserver now (it imports openml once), so the first request does not
    pay for it. Safe to call from a background thread; does nothing for "spawn"."""
    if settings.fetch_start_method == "forkserver":
        from multiprocessing import forkserver

        _fetch_context("forkserver")
        forkserver.ensure_running()


def _run_fetch(dataset_id: int, settings: OpenMLSettings, mode: str, deadline: float) -> None:
    """Run ``_fetch.run`` in a child; kill it at the deadline. Raises the mapped DatasetError."""
    request = _fetch.FetchRequest(
        dataset_id=dataset_id,
        server_url=settings.server_url,
        cache_root=_cache_root(settings),
        apikey=settings.apikey,
        retries=settings.retries,
        mode=mode,
    )
    context = _fetch_context(settings.fetch_start_method)
    receiver, sender = context.Pipe(duplex=False)
    parent_alive_reader, parent_alive_writer = context.Pipe(duplex=False)
    process = context.Process(
        target=_fetch.run,
        args=(request, sender, parent_alive_reader),
        name=f"openml-fetch-{dataset_id}",
        daemon=True,
    )
    try:
        starting = time.monotonic()
        process.start()
        # The forkserver's one-time start (importing openml, 1-3 s) is ours, not OpenML's
        # slowness: it does not count against the timeout. warm_up() usually does it earlier.
        deadline += time.monotonic() - starting
        sender.close()
        parent_alive_reader.close()
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not receiver.poll(remaining):
            raise OpenMLUnavailable(dataset_id, f"OpenML did not answer within {settings.timeout:g} s")
        try:
            kind, payload = receiver.recv()
        except (EOFError, OSError):
            process.join(timeout=1)
            logger.error("dataset %d: fetch process died (exit code %s)", dataset_id, process.exitcode)
            raise OpenMLUnavailable(dataset_id, "the fetch process died") from None
        if kind != "ok":
            error = _ERRORS_BY_KIND.get(kind, OpenMLUnavailable)
            level = logging.INFO if error in (DatasetNotFound, DatasetForbidden) else logging.WARNING
            logger.log(level, "dataset %d: %s: %s", dataset_id, error.__name__, payload)
            raise error(dataset_id, str(payload))
        process.join(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
        receiver.close()
        parent_alive_writer.close()
        if process.pid is not None and process.exitcode is not None:
            process.close()
