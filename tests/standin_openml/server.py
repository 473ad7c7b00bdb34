"""A small HTTP server that answers like OpenML for the requests the ``openml`` client makes.

It speaks, over real HTTP, the subset of OpenML's XML API that ``openml`` 0.15.1 uses to
fetch a dataset:

* ``GET /api/v1/xml/data/{id}``, ``/data/features/{id}``, ``/data/qualities/{id}``;
* ``GET /api/v1/xml/data/list/{filter}/{value}/...``, the dataset list (``listing``);
* the ARFF download the description names (``/data/v1/download/{id}/{name}.arff``);
* parquet downloads, path-style like MinIO: ``HEAD`` and ``GET /datasets/0000/0061/dataset_61.pq``.

Errors look like OpenML's: HTTP 412 with an ``oml:error`` body (111 unknown dataset, 112 no
access). Faults are injected per dataset id, either through the fixed ids of
``datasets.FAULT_IDS_DOC`` (usable from any process) or with ``set_fault``; ``put_dataset``
adds a dataset or changes one's data and checksum while serving. Every request is
logged in ``requests`` as ``(method, path)`` without the query string (the client puts the
API key there).
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa

from .datasets import (
    FAULT_KINDS,
    FAULT_SCOPES,
    Catalogue,
    Fault,
    ServedDataset,
    build_catalogue,
    dataset_from_table,
    error_xml,
    set_element,
)
from .listing import ListError, data_list_xml, is_list_path
from .writes import WRITE_PATHS, WriteState

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/xml"
_ROUTES = [
    (re.compile(rf"^{API_PREFIX}/data/(\d+)$"), "description"),
    (re.compile(rf"^{API_PREFIX}/data/features/(\d+)$"), "features"),
    (re.compile(rf"^{API_PREFIX}/data/qualities/(\d+)$"), "qualities"),
    (re.compile(r"^/data/v1/download/(\d+)/[^/]+\.arff$"), "arff"),
    (re.compile(r"^/datasets/\d{4}/\d{4}/dataset_(\d+)\.pq$"), "parquet"),
]
_STARTED_AT = formatdate(usegmt=True)  # RFC 1123, what MinIO's client expects in Last-Modified


class _Handler(BaseHTTPRequestHandler):
    server: "_HTTPServer"
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # The client puts api_key in the query string: log the request line without it.
        cleaned = tuple(re.sub(r"\?\S*", "", arg) if isinstance(arg, str) else arg for arg in args)
        logger.debug("standin-openml: " + format, *cleaned)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._answer(send_body=False)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        owner.requests.append((self.command, path))
        endpoint = path.removeprefix(API_PREFIX + "/").rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if not path.startswith(API_PREFIX + "/") or endpoint not in WRITE_PATHS:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", True)
            return
        fault = owner.writes.fault_for(endpoint)
        if fault is not None and fault.kind == "hang":
            owner.stopping.wait(fault.seconds)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "http500":
            page = b"<html><body><h1>500 Internal Server Error</h1></body></html>\n"
            self._send(500, page, "text/html; charset=utf-8", True)
            return
        if fault is not None and fault.kind == "garbage":
            self._send(200, b"\x00\x9f not xml at all <<<", "text/xml; charset=utf-8", True)
            return
        if fault is not None and fault.kind == "error412":
            self._send(412, error_xml(fault.code, fault.message).encode("utf-8"), "text/xml; charset=utf-8", True)
            return
        with owner._faults_lock:
            status, xml = owner.writes.answer(owner.catalogue, endpoint, self.headers.get("Content-Type", ""), body)
        self._send(status, xml.encode("utf-8"), "text/xml; charset=utf-8", True)

    def _answer(self, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        owner.requests.append((self.command, path))
        if is_list_path(path):
            self._serve_list(path, send_body)
            return
        for pattern, kind in _ROUTES:
            match = pattern.match(path)
            if match:
                self._route(kind, int(match.group(1)), send_body)
                return
        self._send(404, b"not found\n", "text/plain; charset=utf-8", send_body)

    def _route(self, kind: str, dataset_id: int, send_body: bool) -> None:
        owner = self.server.owner
        fault = owner.fault_for(dataset_id)
        if fault is not None and fault.applies_to(kind):
            if fault.kind == "hang":
                # Hold the connection without a byte of answer; bounded by the server's life.
                owner.stopping.wait(fault.seconds)
                self.close_connection = True
                return
            if fault.kind == "http500":
                body = b"<html><body><h1>500 Internal Server Error</h1></body></html>\n"
                self._send(500, body, "text/html; charset=utf-8", send_body)
                return
            if fault.kind == "error412":
                body = fault.body or error_xml(fault.code, fault.message)
                self._send(412, body.encode("utf-8"), "text/xml; charset=utf-8", send_body)
                return
            if fault.kind == "slow" and owner.stopping.wait(fault.seconds):
                return
        served_id = fault.serves if fault is not None and fault.serves is not None else dataset_id
        dataset = owner.catalogue.datasets.get(served_id)
        if dataset is None:
            self._send_error412(111, "Unknown dataset", send_body)
            return
        if dataset.private:
            self._send_error412(112, "No access granted", send_body)
            return
        getattr(self, f"_serve_{kind}")(dataset, dataset_id, send_body)

    def _serve_description(self, dataset: ServedDataset, requested_id: int, send_body: bool) -> None:
        xml = dataset.description_xml.replace("@@BASE@@", self.server.owner.url)
        uploader = self.server.owner.writes.owners.get(dataset.dataset_id)
        if uploader is not None:
            xml = set_element(xml, "uploader", str(uploader))
        if requested_id != dataset.dataset_id:  # a fault id serving another dataset's content
            xml = re.sub(r"<oml:id>\d+</oml:id>", f"<oml:id>{requested_id}</oml:id>", xml, count=1)
            xml = xml.replace(f"/download/{dataset.dataset_id}/", f"/download/{requested_id}/")
            xml = re.sub(
                r"/datasets/\d{4}/\d{4}/dataset_\d+\.pq",
                f"/datasets/{requested_id // 10000:04d}/{requested_id % 10000:04d}/dataset_{requested_id}.pq",
                xml,
            )
        self._send(200, xml.encode("utf-8"), "text/xml; charset=utf-8", send_body)

    def _serve_features(self, dataset: ServedDataset, _requested_id: int, send_body: bool) -> None:
        if dataset.features_xml is None:
            self._send_error412(272, "No features found", send_body)
            return
        self._send(200, dataset.features_xml.encode("utf-8"), "text/xml; charset=utf-8", send_body)

    def _serve_qualities(self, dataset: ServedDataset, _requested_id: int, send_body: bool) -> None:
        if dataset.qualities_xml is None:
            self._send_error412(362, "No qualities found", send_body)
            return
        self._send(200, dataset.qualities_xml.encode("utf-8"), "text/xml; charset=utf-8", send_body)

    def _serve_arff(self, dataset: ServedDataset, _requested_id: int, send_body: bool) -> None:
        if dataset.arff is None:
            self._send(404, b"no ARFF for this dataset\n", "text/plain; charset=utf-8", send_body)
            return
        # The charset matters: without it the client decodes as Latin-1 and the md5 check fails.
        self._send(200, dataset.arff, "text/plain; charset=utf-8", send_body)

    def _serve_parquet(self, dataset: ServedDataset, _requested_id: int, send_body: bool) -> None:
        if dataset.parquet is None:
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
                b"<Message>The specified key does not exist.</Message></Error>"
            )
            self._send(404, body, "application/xml", send_body, compressible=False)
            return
        self._send(
            200,
            dataset.parquet,
            "application/octet-stream",
            send_body,
            compressible=False,  # an object store answers bytes as stored; MinIO checks the size
            extra={"ETag": f'"{dataset.parquet_etag}"', "Last-Modified": _STARTED_AT},
        )

    def _serve_list(self, path: str, send_body: bool) -> None:
        try:
            body = data_list_xml(self.server.owner.catalogue, path)
        except ListError as error:
            self._send(412, error.body().encode("utf-8"), "text/xml; charset=utf-8", send_body)
            return
        self._send(200, body.encode("utf-8"), "text/xml; charset=utf-8", send_body)

    def _send_error412(self, code: int, message: str, send_body: bool) -> None:
        self._send(412, error_xml(code, message).encode("utf-8"), "text/xml; charset=utf-8", send_body)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        send_body: bool,
        *,
        compressible: bool = True,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = dict(extra or {})
        if compressible and "gzip" in self.headers.get("Accept-Encoding", ""):
            # The client logs a warning for every answer that is not gzip-encoded.
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a killed fetch); nothing to answer


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: "StandinOpenML"


class StandinOpenML:
    """The stand-in server: ``StandinOpenML().start()`` serves on a free port in a thread.

    ``url`` is the base (``http://127.0.0.1:PORT``), ``api_url`` what ``openml.config.server``
    (or ``OPENML_SERVER_URL``) should be. ``requests`` lists every ``(method, path)`` served.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, catalogue: Catalogue | None = None):
        self.catalogue = catalogue if catalogue is not None else build_catalogue()
        self.requests: list[tuple[str, str]] = []
        # The writes (data/edit, data/tag, data/untag, task, study): users, owners, records.
        self.writes = WriteState()
        self.stopping = threading.Event()
        self._runtime_faults: dict[int, Fault] = {}
        self._faults_lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def start(self) -> "StandinOpenML":
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="standin-openml", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop`` is called from another thread or a signal."""
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving; requests held by a hang fault are released (their connections closed)."""
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "StandinOpenML":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- datasets ---

    def put_dataset(self, dataset_id: int, name: str, table: pa.Table, **options: Any) -> ServedDataset:
        """Serve ``table`` as dataset ``dataset_id`` from now on, as parquet and ARFF with a new
        md5 checksum: a dataset added, or one whose data changed on OpenML. ``options`` are
        those of ``datasets.dataset_from_table`` (target, ignore, row_id, ...)."""
        served = dataset_from_table(int(dataset_id), name, table, **options)
        with self._faults_lock:
            self.catalogue.datasets[int(dataset_id)] = served
        return served

    # --- faults ---

    def set_fault(self, dataset_id: int, kind: str, *, on: str = "all", seconds: float = 600.0,
                  code: int = 111, message: str = "Unknown dataset", serves: int | None = None) -> None:
        """Make requests for ``dataset_id`` fault (see ``datasets.Fault``) until ``clear_faults``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        if on not in FAULT_SCOPES:
            raise ValueError(f"unknown fault scope {on!r}; one of {FAULT_SCOPES}")
        with self._faults_lock:
            self._runtime_faults[int(dataset_id)] = Fault(
                kind, on=on, seconds=seconds, code=code, message=message, serves=serves
            )

    def clear_faults(self) -> None:
        """Remove the faults set with ``set_fault`` (the fixed fault ids keep faulting)."""
        with self._faults_lock:
            self._runtime_faults.clear()

    def reset_writes(self) -> None:
        """Forget the users, owners, tasks, studies, write records and write faults, and give
        edited or tagged datasets their descriptions back."""
        with self._faults_lock:
            self.writes.reset(self.catalogue)

    def fault_for(self, dataset_id: int) -> Fault | None:
        with self._faults_lock:
            fault = self._runtime_faults.get(dataset_id)
        return fault if fault is not None else self.catalogue.faults.get(dataset_id)

    # --- request log helpers ---

    def count(self, method: str | None = None, path_contains: str = "") -> int:
        """How many logged requests match ``method`` (any if None) and contain ``path_contains``."""
        return sum(
            1 for m, p in list(self.requests) if (method is None or m == method) and path_contains in p
        )

    def data_downloads(self, dataset_id: int) -> int:
        """How many GETs of the dataset's data (ARFF or parquet) were served."""
        return sum(
            1
            for m, p in list(self.requests)
            if m == "GET" and (p.startswith(f"/data/v1/download/{dataset_id}/") or p.endswith(f"/dataset_{dataset_id}.pq"))
        )

