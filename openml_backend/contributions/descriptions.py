"""Read a dataset's description from OpenML (``GET data/{id}``) for the editor, with the
reader's API key when there is one (a private dataset is visible to its uploader).

A read changes nothing and the key is passed per request (a query parameter, as the ``openml``
client sends it), so it runs in the web worker, in one request bounded by the timeout. The URL
(which holds the key) is never logged or put in an error.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

from ..errors import BadGateway, Forbidden, NotFound, ServiceUnavailable
from ..openml_client.settings import OpenMLSettings

log = logging.getLogger(__name__)

OML = "{http://openml.org/openml}"
MAX_BYTES = 4 * 1024 * 1024
NOT_FOUND_CODES = frozenset({110, 111})
FORBIDDEN_CODES = frozenset({112})
TEXT_FIELDS = ("description", "collection_date", "language", "licence", "citation", "original_data_url",
               "paper_url", "default_target_attribute", "row_id_attribute", "status", "visibility")


def read_description(dataset_id: int, settings: OpenMLSettings, api_key: str | None) -> dict[str, Any]:
    """The dataset's editor fields as OpenML describes them now (see ``parse``); 404 unknown,
    403 not shared with this key, 503 no answer in time, 502 anything unreadable."""
    query = "?" + urllib.parse.urlencode({"api_key": api_key}) if api_key else ""
    url = f"{settings.server_url.rstrip('/')}/data/{dataset_id}{query}"
    deadline = time.monotonic() + settings.timeout
    try:
        with urllib.request.urlopen(url, timeout=settings.timeout) as response:  # noqa: S310 - our server URL
            body = _read(response, deadline)
    except urllib.error.HTTPError as error:
        raise _refusal(dataset_id, error) from None
    except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as error:
        log.warning("dataset %d: description unavailable (%s)", dataset_id, type(error).__name__)
        raise ServiceUnavailable("OpenML did not answer in time; try again later.", code="openml_unavailable",
                                 retry_after=30) from None
    try:
        return parse(dataset_id, body)
    except (ET.ParseError, ValueError):
        raise BadGateway("OpenML's description of the dataset cannot be read.", code="openml_bad_gateway") from None


def _read(response: Any, deadline: float) -> bytes:
    chunks, size = [], 0
    while chunk := response.read(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES or time.monotonic() > deadline:
            raise TimeoutError("the description is too large or too slow")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(dataset_id: int, error: urllib.error.HTTPError) -> Exception:
    code = None
    try:
        root = ET.fromstring(error.read(MAX_BYTES))
        code = int(root.findtext(OML + "code") or 0)
    except (ET.ParseError, ValueError, OSError):
        pass
    finally:
        error.close()
    if code in NOT_FOUND_CODES:
        return NotFound(f"OpenML has no dataset {dataset_id}.", code="dataset_not_found", openml_code=code)
    if code in FORBIDDEN_CODES:
        return Forbidden("The dataset is not shared with you.", code="dataset_forbidden", openml_code=code)
    log.warning("dataset %d: description answered HTTP %s (OpenML code %s)", dataset_id, error.code, code)
    return BadGateway("OpenML answered with an error.", code="openml_bad_gateway")


def parse(dataset_id: int, xml: bytes) -> dict[str, Any]:
    """The ``data_set_description`` as the editor's fields (creators and contributors joined
    with ", ", ignore_attribute split on commas); raises ParseError or ValueError otherwise."""
    root = ET.fromstring(xml)
    if root.tag != OML + "data_set_description":
        raise ValueError("not a data_set_description")

    def text(name: str) -> str | None:
        value = root.findtext(OML + name)
        return value.strip() if value is not None and value.strip() else None

    def joined(name: str) -> str | None:
        values = [e.text.strip() for e in root.findall(OML + name) if e.text and e.text.strip()]
        return ", ".join(values) or None

    uploader = text("uploader")
    fields: dict[str, Any] = {name: text(name) for name in TEXT_FIELDS}
    fields.update(
        id=dataset_id,
        name=text("name") or f"dataset-{dataset_id}",
        version=int(text("version") or 1),
        creator=joined("creator"),
        contributor=joined("contributor"),
        ignore_attribute=[name.strip() for e in root.findall(OML + "ignore_attribute")
                          for name in (e.text or "").split(",") if name.strip()],
        tags=[e.text.strip() for e in root.findall(OML + "tag") if e.text and e.text.strip()],
        uploader=int(uploader) if uploader and uploader.isdigit() else None,
    )
    return fields
