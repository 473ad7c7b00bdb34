"""``GET /api/v1/xml/data/list/{filter}/{value}/...``: the dataset list, as OpenML answers it.

The shape is OpenML's ``data/list`` (its XML template and API documentation): an
``oml:data`` element holding one ``oml:dataset`` per dataset with ``did``, ``name``,
``version``, ``status`` and ``format`` (version and format as the description says; ``file_id`` and ``quality`` elements are optional,
and the stand-in sends none). Filters come as path segments in pairs, in any order; the
ones answered here are ``status``, ``limit``, ``offset`` and ``data_id`` (comma-separated).
Errors are OpenML's 412 codes: 370 an unknown filter, 371 a bad value, 372 no results (the
client turns that into an empty list), 373 an offset without a limit.

Listed: every public dataset of the catalogue, by id, all ``active`` (the fixed fault ids are
not datasets and are not listed; a private one is hidden, as from an anonymous client).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from .datasets import Catalogue, error_xml

LIST_PREFIX = "/api/v1/xml/data/list"
STATUSES = ("active", "in_preparation", "deactivated")
ANSWERED_FILTERS = ("status", "limit", "offset", "data_id")
OTHER_FILTERS = ("tag", "data_name", "data_version", "number_instances", "number_features",
                 "number_classes", "number_missing_values")


class ListError(Exception):
    """An OpenML list error: the 412 body's code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> str:
        return error_xml(self.code, self.message)


def is_list_path(path: str) -> bool:
    return path == LIST_PREFIX or path.startswith(LIST_PREFIX + "/")


def _filters(path: str) -> dict[str, str]:
    segments = [s for s in path.removeprefix(LIST_PREFIX).split("/") if s]
    if len(segments) % 2:
        raise ListError(371, "Filter values/ranges not properly specified")
    filters = dict(zip(segments[::2], segments[1::2]))
    for name in filters:
        if name not in ANSWERED_FILTERS + OTHER_FILTERS:
            raise ListError(370, "Illegal filter specified")
    if "offset" in filters and "limit" not in filters:
        raise ListError(373, "Can not specify an offset without a limit")
    return filters


def _natural(text: str) -> int:
    if not text.isdigit():
        raise ListError(371, "Filter values/ranges not properly specified")
    return int(text)


def _described(description_xml: str, tag: str, default: str) -> str:
    match = re.search(rf"<oml:{tag}>([^<]*)</oml:{tag}>", description_xml)
    return match.group(1).strip() if match else default


def data_list_xml(catalogue: Catalogue, path: str) -> str:
    """The body for the list request at ``path`` (query string removed); raises ListError."""
    filters = _filters(path)
    status = filters.get("status", "active")
    if status not in STATUSES:
        raise ListError(371, "Filter values/ranges not properly specified")
    listed = sorted((d for d in catalogue.datasets.values() if not d.private), key=lambda d: d.dataset_id)
    if status != "active" or set(filters) & set(OTHER_FILTERS):
        listed = []  # every served dataset is active and carries no tag or quality
    if "data_id" in filters:
        wanted = {_natural(part) for part in filters["data_id"].split(",")}
        listed = [d for d in listed if d.dataset_id in wanted]
    offset = _natural(filters.get("offset", "0"))
    if "limit" in filters:
        listed = listed[offset:offset + _natural(filters["limit"])]
    if not listed:
        raise ListError(372, "No results")
    out = ['<oml:data xmlns:oml="http://openml.org/openml">']
    for dataset in listed:
        out += [
            "  <oml:dataset>",
            f"    <oml:did>{dataset.dataset_id}</oml:did>",
            f"    <oml:name>{escape(dataset.name)}</oml:name>",
            f"    <oml:version>{_described(dataset.description_xml, 'version', '1')}</oml:version>",
            "    <oml:status>active</oml:status>",
            f"    <oml:format>{_described(dataset.description_xml, 'format', 'ARFF')}</oml:format>",
            "  </oml:dataset>",
        ]
    out.append("</oml:data>")
    return "\n".join(out) + "\n"
