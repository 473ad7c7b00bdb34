"""gunicorn's gthread worker, with its own error answers in the API's problem+json shape.

gunicorn answers some requests itself, before the app sees them: a malformed request line or
header (400), headers over its limits (431), an unsupported transfer coding (501). Stock
gunicorn writes those as a small HTML page that echoes part of the request. This worker
writes the same status as problem+json instead (type, title, status, code, detail,
request_id: null, since no request id was assigned), with fixed texts that echo nothing of
the request. The status codes stay gunicorn's own (e.g. an over-long request line is 400,
not 414); gunicorn still closes the connection after such an answer.

gunicorn 23 calls `gunicorn.util.write_error` from `Worker.handle_error`; `init_process`
replaces it in this worker process only (the master never writes such answers).
"""

from __future__ import annotations

import orjson
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from .errors import PROBLEM_JSON, http_problem, problem_body


def problem_bytes(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 response carrying the problem+json document for `status`."""
    code, message = http_problem(status)
    body = orjson.dumps(problem_body(status, code, message))
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_problem(sock, status_int: int, reason: str, _mesg: str) -> None:
    """Drop-in for `gunicorn.util.write_error` (same arguments); the message is not echoed."""
    util.write_nonblock(sock, problem_bytes(int(status_int), reason))


class JsonErrorThreadWorker(ThreadWorker):
    """The gthread worker, answering its own request errors as problem+json."""

    def init_process(self) -> None:
        util.write_error = write_problem
        super().init_process()
