"""The ids of OpenML's active datasets, listed by the ``openml`` client in a child process.

``openml.datasets.list_datasets`` pages through ``data/list/status/active/limit/N/offset/M``
with no timeout of its own, so it runs in a child process killed at the deadline, exactly as
a dataset fetch does (``fetcher``); the child sends back the sorted ids, or the kind of its
failure (``errors.ERRORS_BY_KIND``).
"""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any

from . import child
from .errors import ERRORS_BY_KIND, OpenMLUnavailable
from .fetcher import warm_up
from .local_cache import cache_root
from .settings import OpenMLSettings

logger = logging.getLogger(__name__)


def list_active_datasets(settings: OpenMLSettings, timeout: float | None = None) -> list[int]:
    """The ids of every active dataset OpenML lists to this server's API key, ascending.

    Bounded by `timeout` seconds (default `settings.timeout`). Raises an OpenMLError subclass
    (OpenMLUnavailable when OpenML is unreachable, too slow or the child died).
    """
    seconds = timeout if timeout is not None else settings.timeout
    request = child.FetchRequest(dataset_id=0, server_url=settings.server_url, cache_root=cache_root(settings),
                                 apikey=settings.apikey, retries=settings.retries)
    warm_up(settings)  # the same forkserver as the fetches: `openml` is imported once
    context = multiprocessing.get_context(settings.fetch_start_method)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(request, sender), name="openml-list", daemon=True)
    try:
        process.start()
        sender.close()
        if not receiver.poll(seconds):
            raise OpenMLUnavailable(None, f"OpenML did not list its datasets within {seconds:g} s")
        try:
            kind, payload = receiver.recv()
        except (EOFError, OSError):
            raise OpenMLUnavailable(None, "the listing process died") from None
        if kind != "ok":
            logger.warning("dataset list: %s", payload)
            raise ERRORS_BY_KIND.get(kind, OpenMLUnavailable)(None, str(payload))
        return payload
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
        receiver.close()


def _run(request: child.FetchRequest, conn: Any) -> None:
    """Child process: list the active datasets, send ("ok", ids) or (kind, message)."""
    child._configure_logging()  # the client's own lines, URLs and keys redacted
    try:
        outcome: tuple[str, Any] = ("ok", _list(request))
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a kind for the parent
        outcome = child.classify(exc)
    try:
        conn.send(outcome)
    finally:
        conn.close()


def _list(request: child.FetchRequest) -> list[int]:
    from . import child_env  # noqa: F401 - must run before the first `import openml`

    import openml

    child._configure_client(openml, request)
    listed = openml.datasets.list_datasets(status="active", output_format="dataframe")
    # No result at all is OpenML's error 372, which the client turns into an empty frame.
    return sorted({int(did) for did in listed["did"]}) if len(listed) else []
