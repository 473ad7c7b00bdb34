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

The worker also closes the connection after an answer to a request whose body the app left
unread (request_bodies.py marks it, e.g. a 413 for a Content-Length over the limit). gunicorn
itself would keep the connection alive and, once more bytes arrive, discard the rest of that
body in a pool thread, blocking and without a timeout: a client trickling a 6 MiB body, or
holding the connection open after sending it, kept one thread per connection, and a few such
connections took every thread of the worker, /health included. gunicorn drops a `Connection:
close` header set by the app (hop-by-hop), so the close goes through its own
`Response.force_close()`, before the head is written (gunicorn writes it with the first body
bytes, after the app has returned and Flask has run its teardown), so the answer says
`Connection: close`.
"""

from __future__ import annotations

import orjson
from gunicorn import util
from gunicorn.http.wsgi import Response
from gunicorn.workers.gthread import ThreadWorker

from .errors import PROBLEM_JSON, http_problem, problem_body
from .request_bodies import BODY_LEFT_UNREAD


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


def closing_after_unread_body(app):
    """The WSGI `app`, except that gunicorn closes the connection after an answer to a request
    whose body `app` left unread (`BODY_LEFT_UNREAD` in the environ)."""

    def application(environ, start_response):
        result = app(environ, start_response)
        if environ.get(BODY_LEFT_UNREAD):
            response = getattr(start_response, "__self__", None)
            if isinstance(response, Response):
                response.force_close()
        return result

    return application


class JsonErrorThreadWorker(ThreadWorker):
    """The gthread worker, answering its own request errors as problem+json and closing the
    connection after a request whose body was left unread."""

    def init_process(self) -> None:
        util.write_error = write_problem
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = closing_after_unread_body(self.wsgi)
