"""The network half of a dataset load, run in a child process that can be killed at a deadline.

The ``openml`` client passes no timeout to ``requests`` or MinIO, so a server that accepts a
connection and never answers blocks it forever; a thread cannot be stopped, a process can.
``run`` executes in that child: it configures the client, calls ``get_dataset`` (which fills
the client's cache: description, parquet or ARFF) and fetches the features file, turns an ARFF
into an Arrow file next to it, writes the completion marker and sends one small message back:
``("ok", info)`` or ``(kind, message)`` where kind is a key of ``errors.ERRORS_BY_KIND``.

This module is imported by the web worker too (to name ``run`` as the process target), so it
imports ``openml`` only inside ``run``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from .errors import redact
from .local_cache import ARROW_TABLE_NAME, dataset_dir, write_marker

# OpenML error codes (openml/OpenML api docs): 110/111/112 for data/{id}, 270-274 for
# data/features/{id}, 360-364 for data/qualities/{id}, 352 "dataset does not exist".
NOT_FOUND_CODES = frozenset({110, 111, 270, 271, 352, 360, 361})
FORBIDDEN_CODES = frozenset({112})
TRANSIENT_CODES = frozenset({107, 273})  # database connection error; "not processed yet"
UNPARSEABLE_CODES = frozenset({274})  # "dataset processed with error"


@dataclass(frozen=True)
class FetchRequest:
    """Everything the child needs; no secrets are logged from it."""

    dataset_id: int
    server_url: str
    cache_root: str
    apikey: str | None
    retries: int


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(logging.Formatter("openml-fetch[%(process)d] %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def run(request: FetchRequest, conn: Any, parent_alive: Any) -> None:
    """Child process entry point: fetch, then send exactly one message on ``conn``.

    ``parent_alive`` is the read end of a pipe only the web worker writes to: when the worker
    dies (a gunicorn timeout kill), it reads end-of-file and this process exits at once, so
    no orphan keeps writing into a cache folder whose lock is gone.
    """
    answer_once(conn, parent_alive, lambda: _fetch(request), classify)


def answer_once(conn: Any, parent_alive: Any, call: Callable[[], Any],
                classify_error: Callable[[BaseException], tuple[Any, ...]]) -> None:
    """The body of a child process of the web worker: exit when the worker dies, log through
    the redacting handler, make `call`, and send exactly one message on `conn`: ``("ok",
    result)``, or what `classify_error` makes of whatever `call` raised."""
    threading.Thread(target=_exit_when_parent_dies, args=(parent_alive,), daemon=True).start()
    _configure_logging()
    try:
        outcome: tuple[Any, ...] = ("ok", call())
    except BaseException as exc:  # noqa: BLE001 - everything is mapped to a kind for the parent
        outcome = classify_error(exc)
    try:
        conn.send(outcome)
    finally:
        conn.close()


def ready() -> None:
    """A child that does nothing: once it has run, the forkserver has imported the client."""


def _exit_when_parent_dies(parent_alive: Any) -> None:
    try:
        parent_alive.recv()  # nothing is ever sent: returns only by EOFError
    except BaseException:  # noqa: BLE001 - EOF or a broken pipe: either way the parent is gone
        pass
    os._exit(70)


def _configure_client(openml: Any, request: FetchRequest) -> None:
    openml.config.server = request.server_url
    openml.config.apikey = request.apikey or ""
    openml.config.set_root_cache_directory(request.cache_root)
    openml.config.retry_policy = "human"  # sleeps 1, 2, 3... seconds between tries
    openml.config.connection_n_retries = max(1, int(request.retries))
    openml.config.show_progress = False


def _fetch(request: FetchRequest) -> dict[str, Any]:
    from . import child_env  # noqa: F401 - must run before the first `import openml`

    import openml

    _configure_client(openml, request)
    dataset = _get_dataset(openml, request.dataset_id)
    did_dir = dataset_dir(request.cache_root, request.server_url, request.dataset_id)
    info: dict[str, Any]
    if dataset.parquet_file is not None and _parquet_is_readable(Path(dataset.parquet_file)):
        info = {"format": "parquet", "data_file": Path(dataset.parquet_file).name}
    else:
        if dataset.parquet_file is not None:
            # A parquet file the server sent but nobody can read: try the ARFF instead.
            logging.getLogger(__name__).warning(
                "dataset %d: unreadable parquet file, falling back to ARFF", request.dataset_id
            )
            Path(dataset.parquet_file).unlink(missing_ok=True)
            os.environ["OPENML_SKIP_PARQUET"] = "true"  # this process is disposable
            dataset = _get_dataset(openml, request.dataset_id)
        table = arff_to_table(Path(dataset.data_file))
        _write_arrow(table, did_dir / ARROW_TABLE_NAME)
        info = {"format": "arff", "data_file": ARROW_TABLE_NAME}
    info["fetched_at"] = time.time()
    write_marker(did_dir, info)
    return info


def _get_dataset(openml: Any, dataset_id: int) -> Any:
    """The client's ``get_dataset``, downloading the description and the data file, then the
    features file. Asking ``get_dataset`` for the features would also parse them into objects
    and pickle those (0.8 s for dexter's 20,001 features) that nobody reads: the web worker
    parses ``features.xml`` itself (``metadata.parse_features``), so only the file is fetched,
    by the client function that ``get_dataset`` uses for it."""
    from openml.datasets.functions import _get_dataset_features_file

    dataset = openml.datasets.get_dataset(
        dataset_id, download_data=True, download_qualities=False, download_features_meta_data=False
    )
    _get_dataset_features_file(None, dataset_id)
    return dataset


def _parquet_is_readable(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except (pa.ArrowException, OSError):
        return False
    return True


def arff_to_table(path: Path) -> pa.Table:
    """Parse an (optionally sparse) ARFF with the client's own parser into typed Arrow columns.

    Types follow the header: INTEGER -> int64, REAL/NUMERIC -> float64, nominal -> dictionary
    of the declared values (in declared order), STRING -> string; '?' -> null. The client's
    ``get_data`` takes 10-20 s for dexter's 20,000 columns (one pandas conversion per column)
    and turns integer-looking columns into uint8 or float; this takes under a second.
    """
    import arff

    with path.open(encoding="utf-8") as fh:
        decoded = arff.load(fh, return_type=arff.DENSE)
    attributes = decoded["attributes"]
    rows = decoded["data"]
    columns = list(zip(*rows)) if rows else [() for _ in attributes]
    arrays, names = [], []
    for (name, kind), values in zip(attributes, columns):
        names.append(name)
        arrays.append(_arff_column(kind, list(values)))
    return pa.Table.from_arrays(arrays, names=names)


def _arff_column(kind: Any, values: list[Any]) -> pa.Array:
    if isinstance(kind, list):
        categories = [str(c) for c in kind]
        index = {c: i for i, c in enumerate(categories)}
        indices = pa.array([None if v is None else index[str(v)] for v in values], type=pa.int32())
        return pa.DictionaryArray.from_arrays(indices, pa.array(categories, type=pa.string()))
    kind = str(kind).upper()
    if kind == "INTEGER":
        return pa.array(values, type=pa.int64())
    if kind in ("REAL", "NUMERIC"):
        return pa.array(values, type=pa.float64())
    if kind == "STRING":
        return pa.array(values, type=pa.string())
    raise ValueError(f"unsupported ARFF attribute type {kind!r}")


def _write_arrow(table: pa.Table, path: Path) -> None:
    import pyarrow.feather as feather

    tmp = path.with_suffix(".tmp")
    feather.write_feather(table, tmp, compression="uncompressed")
    os.replace(tmp, path)


def classify(exc: BaseException) -> tuple[str, str]:
    """Map any exception from the client, the network or the parsers to ``(kind, safe message)``."""
    import requests
    import urllib3

    from openml.exceptions import (
        OpenMLHashException,
        OpenMLPrivateDatasetError,
        OpenMLServerError,
        OpenMLServerException,
    )

    name = type(exc).__name__
    if isinstance(exc, OpenMLPrivateDatasetError):
        return "forbidden", "the dataset is not shared with this server's API key"
    if isinstance(exc, OpenMLServerException):
        code = exc.code or 0
        message = redact(f"OpenML error {code}: {exc.message}")
        if code in NOT_FOUND_CODES:
            return "not_found", message
        if code in FORBIDDEN_CODES:
            return "forbidden", message
        if code in UNPARSEABLE_CODES:
            return "unparseable", message
        return "unavailable", message
    if isinstance(exc, OpenMLHashException):
        return "unparseable", "the downloaded data does not match its md5 checksum"
    if isinstance(exc, OpenMLServerError):
        return "unavailable", redact(f"{name}: {exc}")[:500]
    if isinstance(exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
        return "unavailable", f"{name} while talking to OpenML"
    if isinstance(exc, MemoryError):
        return "unparseable", "the dataset does not fit in memory"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "unavailable", f"{name} while talking to OpenML"
    if isinstance(exc, OSError) or _raised_while_talking_to_server(exc):
        # e.g. a 5xx whose HTML body happens to be well-formed XML: the client then fails
        # with a KeyError looking for <oml:error>.
        return "unavailable", redact(f"unexpected answer from OpenML ({name}: {exc})")[:500]
    return "unparseable", redact(f"{name}: {exc}")[:500]


def _raised_while_talking_to_server(exc: BaseException) -> bool:
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_globals.get("__name__") == "openml._api_calls":
            return True
        traceback = traceback.tb_next
    return False
