"""Run one fetch in a child process and kill it at the deadline.

The ``openml`` client passes no timeout to ``requests`` or MinIO, so a server that accepts
a connection and never answers blocks it forever; a thread cannot be stopped, a process can.
The child starts from a ``forkserver`` that has already imported ``openml`` (about 2 s once
per worker process; then each fetch forks in milliseconds) and that was started by exec, so
it holds none of the web worker's threads, locks or sockets. A gunicorn worker starts it as it
boots (``start_fetch_server`` in post_fork, ``warm.prepare_worker`` before it serves: docker/gunicorn.conf.py);
elsewhere the first fetch starts it. It stays resident (~240 MiB);
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
_ready_lock = threading.Lock()
_ready = False
# What the forkserver imports once, so that a fetch child starts with all of it loaded:
# child_env first (it must set XDG_CONFIG_HOME/OPENML_CACHE_DIR before openml imports), the
# client, and what the child itself uses.
PRELOAD = (f"{__package__}.child_env", "openml", f"{__package__}.child", "pyarrow.parquet")


def _fetch_context(start_method: str) -> Any:
    """The multiprocessing context for fetches; the forkserver preloads the client once."""
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        with _contexts_lock:
            context.set_forkserver_preload(list(PRELOAD))
    return context


def start_fetch_server() -> None:
    """Start the fetch forkserver and return at once; it imports the client in its own process
    (1-2 s), in parallel with whatever this process does next. ``warm_up`` waits for it."""
    from multiprocessing import forkserver

    _fetch_context("forkserver")
    forkserver.ensure_running()


def warm_up(settings: OpenMLSettings | None = None, timeout: float = 60.0) -> bool:
    """Start the fetch forkserver (unless it runs) and wait until it has imported the client;
    True once it is ready (at once after the first time; always for "spawn"), False when it
    was not ready within ``timeout`` seconds."""
    global _ready
    if settings is not None and settings.fetch_start_method != "forkserver":
        return True
    with _ready_lock:
        if _ready:
            return True
        start_fetch_server()
        # The forkserver answers its first fork only after its imports: run one child that
        # does nothing, and the next fork is a fetch's.
        process = _fetch_context("forkserver").Process(target=child.ready, name="openml-fetch-warm-up", daemon=True)
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join(5)
            return False
        process.close()
        _ready = True
        return True


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
        # slowness: it does not count against the timeout. Under gunicorn, it was done when
        # the worker booted (warm.prepare_worker).
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
