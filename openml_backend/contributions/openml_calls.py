"""Run one OpenML write as one user: with that user's API key and no one else's, within
OPENML_TIMEOUT, and every outcome mapped to the API's errors.

The ``openml`` client takes its key from the process-global ``openml.config.apikey``, so two
users' writes in one process could swap keys. Each write therefore runs in a child process of
its own (``child.run``), started the way dataset fetches start theirs (the fetch forkserver
that has imported the client, ``openml_client.fetcher``), with the key set only there, and is
killed at the deadline. The key travels only in the child's arguments: it is never logged,
never in an error body, never in a metric label.

Outcomes: OpenML does not answer in time (or cannot be reached) -> 503 ``openml_unavailable``;
a 5xx or an unreadable answer -> 502 ``openml_bad_gateway``; a refused key -> 401
``openml_key_invalid`` (log in again); any other ``oml:error`` -> the 4xx of ``REFUSALS`` (502
``openml_error`` for a code not listed), each carrying OpenML's ``openml_code`` and
``openml_message``.

No Flask here besides the error classes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..errors import ApiError, BadGateway, BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized
from ..openml_client.fetcher import _fetch_context
from ..openml_client.local_cache import cache_root
from ..openml_client.settings import OpenMLSettings
from . import child

log = logging.getLogger(__name__)

# OpenML's error codes (openml/OpenML, openml_OS/views/pages/api_new/v1/xml/pre.php) that
# mean the key was not accepted: 103 for every call, and the per-call "Authentication failed".
AUTHENTICATION_FAILED = frozenset({103, 138, 170, 311, 321, 351, 391, 401, 411, 421, 451, 461, 490, 591})

# OpenML's refusals of a write -> (status class, our code). pre.php: 104 read-only account,
# 111 unknown dataset, 112 no access; tags 471 missing id or tag, 472 entity not found,
# 473 already tagged, 475 tag not found, 476 tag not owned by you; tasks 611-622 (614 task
# already exists, 622 an input not among the allowed values, e.g. an unknown target or
# estimation procedure); studies 1031-1039 (1038 alias not unique). Data edit 1060-1065: see
# docs/contributions.md (1064 not the owner, 1065 tasks exist, both for the critical fields).
REFUSALS: dict[int, tuple[type[ApiError], str]] = {
    104: (Forbidden, "openml_read_only_account"),
    111: (NotFound, "openml_not_found"),
    112: (Forbidden, "openml_forbidden"),
    471: (BadRequest, "openml_refused"),
    472: (NotFound, "openml_not_found"),
    473: (Conflict, "tag_exists"),
    475: (NotFound, "openml_not_found"),
    476: (Forbidden, "openml_forbidden"),
    611: (BadRequest, "openml_refused"),
    613: (BadRequest, "openml_refused"),
    614: (Conflict, "task_exists"),
    616: (BadRequest, "openml_refused"),
    617: (BadRequest, "openml_refused"),
    618: (BadRequest, "openml_refused"),
    621: (BadRequest, "openml_refused"),
    622: (BadRequest, "openml_refused"),
    1031: (BadRequest, "openml_refused"),
    1032: (BadRequest, "openml_refused"),
    1033: (BadRequest, "openml_refused"),
    1034: (BadRequest, "openml_refused"),
    1035: (BadRequest, "openml_refused"),
    1036: (BadRequest, "openml_refused"),
    1037: (BadRequest, "openml_refused"),
    1038: (Conflict, "study_alias_exists"),
    1060: (BadRequest, "openml_refused"),
    1061: (BadRequest, "openml_refused"),
    1062: (NotFound, "openml_not_found"),
    1063: (BadRequest, "openml_refused"),
    1064: (Forbidden, "openml_forbidden"),
    1065: (Conflict, "critical_field_locked"),
}

LOG_IN_AGAIN = ("OpenML did not accept your API key (it may have been regenerated); "
                "log in again and retry.")


def run_as_user(api_key: str, operation: str, arguments: dict[str, Any], settings: OpenMLSettings) -> Any:
    """Run ``child.OPERATIONS[operation](**arguments)`` with ``api_key`` as the client's key,
    in a child process killed after ``settings.timeout`` seconds; return its result.

    Raises ServiceUnavailable (503 ``openml_unavailable``) when OpenML does not answer in time
    or cannot be reached, BadGateway (502) for a 5xx or an unreadable answer, Unauthorized
    (401 ``openml_key_invalid``) when OpenML refuses the key, and the 4xx of ``REFUSALS`` (with
    ``openml_code`` and ``openml_message``) when it refuses the write.
    """
    if operation not in child.OPERATIONS:
        raise ValueError(f"unknown OpenML write {operation!r}")
    if not api_key:
        raise Unauthorized(LOG_IN_AGAIN, code="openml_key_invalid")
    request = child.WriteRequest(operation=operation, arguments=dict(arguments), server_url=settings.server_url,
                                 cache_root=cache_root(settings), apikey=api_key)
    outcome = _run_child(request, settings)
    if outcome[0] == "ok":
        return outcome[1]
    return _raise_for(operation, *outcome)


def _run_child(request: child.WriteRequest, settings: OpenMLSettings) -> tuple[Any, ...]:
    context = _fetch_context(settings.fetch_start_method)
    receiver, sender = context.Pipe(duplex=False)
    parent_alive_reader, parent_alive_writer = context.Pipe(duplex=False)
    process = context.Process(target=child.run, args=(request, sender, parent_alive_reader),
                              name=f"openml-write-{request.operation}", daemon=True)
    try:
        starting = time.monotonic()
        process.start()
        # As for fetches: the forkserver's one-time start is not OpenML's slowness.
        deadline = time.monotonic() + settings.timeout
        sender.close()
        parent_alive_reader.close()
        if not receiver.poll(max(0.0, deadline - time.monotonic())):
            log.warning("OpenML write %s: no answer within %g s (started in %.2f s)", request.operation,
                        settings.timeout, time.monotonic() - starting)
            return ("unavailable", None, f"OpenML did not answer within {settings.timeout:g} s")
        try:
            return receiver.recv()
        except (EOFError, OSError):
            process.join(timeout=1)
            log.error("OpenML write %s: the process died (exit code %s)", request.operation, process.exitcode)
            return ("bad_gateway", None, "the OpenML call ended without an answer")
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
        receiver.close()
        parent_alive_writer.close()
        if process.exitcode is not None:
            process.close()


def _raise_for(operation: str, kind: str, code: int | None, message: str) -> Any:
    if kind == "unavailable":
        log.warning("OpenML write %s: unavailable: %s", operation, message)
        raise ServiceUnavailable("OpenML did not answer in time; try again later.", code="openml_unavailable",
                                 retry_after=30)
    if kind == "unauthenticated" or (kind == "refused" and code in AUTHENTICATION_FAILED):
        log.info("OpenML write %s: the user's key was refused (OpenML code %s)", operation, code)
        raise Unauthorized(LOG_IN_AGAIN, code="openml_key_invalid", openml_code=code, openml_message=message)
    if kind == "refused" and code in REFUSALS:
        error_class, our_code = REFUSALS[code]
        log.info("OpenML write %s: refused with code %s", operation, code)
        raise error_class(f"OpenML refused: {message}", code=our_code, openml_code=code, openml_message=message)
    if kind == "refused":
        log.warning("OpenML write %s: unexpected OpenML error %s: %s", operation, code, message)
        raise BadGateway(f"OpenML answered with an unexpected error: {message}", code="openml_error",
                         openml_code=code, openml_message=message)
    log.warning("OpenML write %s: %s: %s", operation, kind, message)
    raise BadGateway("OpenML answered with something unusable; try again later.", code="openml_bad_gateway")
