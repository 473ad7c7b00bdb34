"""Every request body is read to its end before the answer leaves, so that a connection kept
alive gives its worker thread back.

gunicorn's gthread worker hands a kept-alive connection to a pool thread as soon as its socket
turns readable, and that thread then blocks reading the next request, with no timeout. Body
bytes the app never read (a 503 from the database gate, a 405, a 401 or 429 answered before
the JSON is parsed) make the socket readable when they arrive after the request head: the
thread skips them and then waits for a next request that a client holding the connection
open does not send (a kept `requests.Response`, an ingress's idle upstream connection). It
holds one of the worker's few threads until the client sends or closes. With a stalled
database the other threads are the gate's holders, and GET /health queued for seconds behind
such a connection (measured, see docs/operations.md, "The database: bounded waits").

Once the rest of the body is read here, before the answer is written, only a next request or a
close makes the socket readable, and the connection waits in gunicorn's poller, not in a
thread. At most MAX_CONTENT_LENGTH bytes are read (a body over it is answered 413).

A body not read to its end here (over the limit, a client gone, a bad chunk) is marked in the
WSGI environ (`BODY_LEFT_UNREAD`), and the gunicorn worker (gunicorn_worker.py) then closes
the connection after the answer. Left to gunicorn, the rest of such a body would park a thread
the same way, with no bound at all: its parser discards the previous request's unread body
before it reads the next request, in a pool thread, blocking, so each kept-alive connection
that sent the head of a 6 MiB body and then trickles the rest, or sends it all and keeps the
connection open, held one of the worker's threads (measured: 4 such connections and /health
no longer answered on a 4-thread worker).

Body limits per route: MAX_CONTENT_LENGTH fits JSON bodies. A route that takes uploads gets a
larger limit of its own with `set_body_limit(app, endpoint, bytes)`; it is set on the request
before any other before-request hook runs, so the refusal of an oversized chunked body
(security.py), werkzeug's 413 for a Content-Length above the limit and the draining here all
use it.
"""

from __future__ import annotations

from flask import Flask, request

DRAIN_CHUNK_BYTES = 64 * 1024
# Set (True) in the WSGI environ when the request's body was not read to its end.
BODY_LEFT_UNREAD = "openml_backend.body_left_unread"
BODY_LIMITS = "openml_backend.body_limits"


def set_body_limit(app: Flask, endpoint: str, limit: int) -> None:
    """Accept bodies of up to `limit` bytes (instead of MAX_CONTENT_LENGTH) on `endpoint`."""
    app.extensions.setdefault(BODY_LIMITS, {})[endpoint] = limit


def apply_body_limit() -> None:
    """Give the current request its route's own body limit, if it has one."""
    from flask import current_app

    limit = current_app.extensions.get(BODY_LIMITS, {}).get(request.endpoint)
    if limit is not None:
        request.max_content_length = limit


def drain_unread_body(_error: BaseException | None = None) -> None:
    """Read and drop what is left of the current request's body, at most MAX_CONTENT_LENGTH
    (+1) bytes; never raises. A body left unread (not at its end after that) sets
    `BODY_LEFT_UNREAD` in the environ."""
    if not request.content_length and "Transfer-Encoding" not in request.headers:
        return  # no body: a request without either header has none (RFC 9112, 6.3)
    limit = request.max_content_length
    left = None if limit is None else limit + 1
    try:
        stream = request.stream
        while left is None or left > 0:
            chunk = stream.read(DRAIN_CHUNK_BYTES if left is None else min(DRAIN_CHUNK_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
    except Exception:  # over the limit, a client gone, a bad chunk: the connection is closed
        pass
    request.environ[BODY_LEFT_UNREAD] = True


def init_app(app: Flask) -> None:
    """Apply the routes' own body limits before anything reads a body, and read every
    request's unread body before its answer is sent (see the module)."""
    app.before_request_funcs.setdefault(None, []).insert(0, apply_body_limit)
    app.teardown_request(drain_unread_body)
