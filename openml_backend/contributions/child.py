"""What runs in the child process of one OpenML write: the ``openml`` client, configured with
one user's API key, makes one call and sends one small message back.

The client reads its key from the process-global ``openml.config.apikey``; a child process of
its own per call is the only place where setting it cannot leak into another user's request.
The message is ``("ok", result)`` or ``(kind, openml_code, safe_message)`` where kind is one
of ``KINDS``; messages never carry the key (the client puts it in the POST body, not in URLs,
and every message goes through ``redact``).

Imported by the web worker too (to name ``run`` as the process target), so ``openml`` is
imported only inside ``run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..openml_client.child import answer_once
from ..openml_client.errors import redact

# refused: OpenML answered an oml:error (code and message kept); unauthenticated: the key was
# refused; bad_gateway: a 5xx or an answer the client could not parse; unavailable: no answer.
KINDS = ("refused", "unauthenticated", "bad_gateway", "unavailable")


@dataclass(frozen=True)
class WriteRequest:
    """One write: which operation (a name in ``OPERATIONS``), its arguments, and where."""

    operation: str
    arguments: dict[str, Any]
    server_url: str
    cache_root: str
    apikey: str = field(repr=False)

    def __repr__(self) -> str:  # the key stays out of tracebacks and logs
        return f"WriteRequest(operation={self.operation!r}, server_url={self.server_url!r})"


def _tag(openml: Any, data_id: int, tag: str) -> list[str]:
    from openml.utils import _tag_entity

    # What OpenMLDataset.push_tag calls, without first downloading the dataset's description.
    return list(_tag_entity("data", data_id, tag))


def _untag(openml: Any, data_id: int, tag: str) -> list[str]:
    from openml.utils import _tag_entity

    return list(_tag_entity("data", data_id, tag, untag=True))


def _edit(openml: Any, data_id: int, fields: dict[str, Any]) -> int:
    return int(openml.datasets.edit_dataset(data_id, **fields))


def _create_task(openml: Any, task_type: int, dataset_id: int, estimation_procedure_id: int,
                 target_name: str | None, evaluation_measure: str | None) -> int:
    from openml.tasks import TaskType

    task = openml.tasks.create_task(TaskType(task_type), dataset_id, estimation_procedure_id,
                                    target_name=target_name, evaluation_measure=evaluation_measure)
    task.publish()
    return int(task.task_id)


def _create_study(openml: Any, name: str, description: str, run_ids: list[int] | None = None,
                  task_ids: list[int] | None = None, alias: str | None = None) -> int:
    if task_ids is not None:
        study = openml.study.create_benchmark_suite(name=name, description=description, task_ids=task_ids,
                                                    alias=alias)
    else:
        study = openml.study.create_study(name=name, description=description, run_ids=run_ids, alias=alias)
    study.publish()
    return int(study.id)


def _upload_dataset(openml: Any, path: str, file_format: str, metadata: dict[str, Any]) -> dict[str, Any]:
    from ..uploads.publish import publish_dataset  # POST /datasets, the uploads feature

    return publish_dataset(openml, path, file_format, metadata)


OPERATIONS = {
    "upload_dataset": _upload_dataset,
    "tag": _tag,
    "untag": _untag,
    "edit": _edit,
    "create_task": _create_task,
    "create_study": _create_study,
}


def run(request: WriteRequest, conn: Any, parent_alive: Any) -> None:
    """Child process entry point: configure the client with the request's key, make the one
    call, send exactly one message on ``conn``. Exits when the web worker dies (as fetches do)."""
    answer_once(conn, parent_alive, lambda: _call(request), classify)


def _call(request: WriteRequest) -> Any:
    from ..openml_client import child_env  # noqa: F401 - must run before the first `import openml`

    import openml

    openml.config.server = request.server_url
    openml.config.apikey = request.apikey
    openml.config.set_root_cache_directory(request.cache_root)
    # A write is never repeated: a retry after a lost answer could tag or create twice.
    openml.config.connection_n_retries = 1
    openml.config.show_progress = False
    return OPERATIONS[request.operation](openml, **request.arguments)


def _clean(message: Any) -> str:
    # The client appends " - <additional information>", "None" when OpenML sent none.
    text = str(message or "")
    if text.endswith(" - None"):
        text = text[: -len(" - None")]
    return redact(text).strip()[:500]


def classify(exc: BaseException) -> tuple[str, int | None, str]:
    """Map what the client raised to ``(kind, OpenML's code or None, safe message)``."""
    import xml.parsers.expat

    import requests
    from openml.exceptions import OpenMLNotAuthorizedError, OpenMLServerError, OpenMLServerException

    name = type(exc).__name__
    if isinstance(exc, OpenMLNotAuthorizedError):
        # The client replaces OpenML's code (102, 137, ...: "provide an API key") by its own text.
        return "unauthenticated", None, "OpenML requires an API key for this call"
    if isinstance(exc, OpenMLServerException):
        return "refused", exc.code, _clean(exc.message)
    if isinstance(exc, OpenMLServerError):
        return "bad_gateway", None, "OpenML answered with an error page or an unreadable answer"
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                        ConnectionError, TimeoutError)):
        return "unavailable", None, f"{name} while talking to OpenML"
    if isinstance(exc, (xml.parsers.expat.ExpatError, KeyError, ValueError, TypeError)):
        # A 200 whose body is not the XML the client expects, or XML without oml:error.
        return "bad_gateway", None, f"unexpected answer from OpenML ({name})"
    return "bad_gateway", None, redact(f"{name}: {exc}")[:500]
