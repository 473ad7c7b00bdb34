"""Run one fetch in a child process and kill it at the deadline.

The ``openml`` client passes no timeout to ``requests`` or MinIO, so a server that accepts
a connection and never answers blocks it forever; a thread cannot be stopped, a process can.
The child starts from a ``forkserver`` that has already imported ``openml`` (about 2 s once
per worker process; then each fetch forks in milliseconds) and that was started by exec, so
it holds none of the web worker's threads, locks or sockets. It stays resident (~240 MiB);
``fetch_start_method="spawn"`` trades that memory for a fresh interpreter per cold fetch
(~2-3.5 s). A script that loads datasets needs the usual ``if __name__ == "__main__":``
guard (multiprocessing re-imports the main module).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from typing import Any

from . import child
from .errors import ERRORS_BY_KIND, DatasetForbidden, DatasetNotFound, OpenMLUnavailable
from .local_cache import cache_root
from .settings import OpenMLSettings

logger = logging.getLogger(__name__)

_contexts_lock = threading.Lock()


def _fetch_context(start_method: str) -> Any:
    """The multiprocessing context for fetches; the forkserver preloads the client once."""
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        with _contexts_lock:
            # child_env first: it must set XDG_CONFIG_HOME/OPENML_CACHE_DIR before openml imports.
            context.set_forkserver_preload([f"{__package__}.child_env", "openml"])
    return context


def warm_up(settings: OpenMLSettings) -> None:
    """Start the fetch forkserver now (it imports openml once), so the first request does not
    pay for it. Safe to call from a background thread; does nothing for "spawn"."""
    if settings.fetch_start_method == "forkserver":
        from multiprocessing import forkserver

        _fetch_context("forkserver")
        forkserver.ensure_running()


def run_fetch(dataset_id: int, settings: OpenMLSettings, deadline: float) -> None:
    """Fetch the dataset into its cache folder in a child process (``child.run``), killed at
    ``deadline`` (a ``time.monotonic()`` value). Raises the OpenMLError the child reported,
    or OpenMLUnavailable when it ran out of time or died."""
    request = child.FetchRequest(
        dataset_id=dataset_id,
        server_url=settings.server_url,
        cache_root=cache_root(settings),
        apikey=settings.apikey,
        retries=settings.retries,
    )
    context = _fetch_context(settings.fetch_start_method)
    receiver, sender = context.Pipe(duplex=False)
    parent_alive_reader, parent_alive_writer = context.Pipe(duplex=False)
    process = context.Process(
        target=child.run,
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
            error = ERRORS_BY_KIND.get(kind, OpenMLUnavailable)
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
