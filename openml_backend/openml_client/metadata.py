"""OpenML's XML metadata of a dataset: its description and its feature list.

The ``openml`` client stores both files in the dataset's cache folder (``description.xml``,
``features.xml``); the web worker parses them here, without the client.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..stats import FeatureInfo

_OML = "{http://openml.org/openml}"
# What a malformed or unexpected metadata file raises while being parsed.
MetadataError = (ET.ParseError, ValueError, KeyError)


@dataclass(frozen=True)
class DatasetDescription:
    """The identifying metadata of a dataset (``checksum`` is OpenML's md5, when it has one)."""

    dataset_id: int
    name: str
    version: int
    checksum: str | None
    status: str | None
    data_format: str | None
    default_target_attributes: tuple[str, ...] = ()
    ignore_attributes: tuple[str, ...] = ()
    row_id_attribute: str | None = None


def parse_description(dataset_id: int, xml: bytes) -> DatasetDescription:
    """The ``<oml:data_set_description>`` document as a DatasetDescription; raises one of
    ``MetadataError`` when it is not one."""
    root = ET.fromstring(xml)
    if root.tag != _OML + "data_set_description":
        raise ValueError("not a data_set_description")
    targets = tuple(t.strip() for t in (_text(root, "default_target_attribute") or "").split(",") if t.strip())
    ignore = tuple(
        name.strip()
        for element in root.findall(_OML + "ignore_attribute")
        for name in (element.text or "").split(",")
        if name.strip()
    )
    return DatasetDescription(
        dataset_id=dataset_id,
        name=_text(root, "name") or f"dataset-{dataset_id}",
        version=int(_text(root, "version") or 1),
        checksum=_text(root, "md5_checksum"),
        status=_text(root, "status"),
        data_format=_text(root, "format"),
        default_target_attributes=targets,
        ignore_attributes=ignore,
        row_id_attribute=_text(root, "row_id_attribute"),
    )


def parse_features(xml: bytes, description: DatasetDescription) -> tuple[FeatureInfo, ...]:
    """OpenML's feature list, with the description's target/ignore/row-id roles merged in;
    raises one of ``MetadataError`` on a feature of unknown data type or malformed XML."""
    root = ET.fromstring(xml)
    features = []
    for element in root.findall(_OML + "feature"):
        name = _text(element, "name")
        data_type = _text(element, "data_type")
        if name is None or data_type not in ("numeric", "nominal", "string", "date"):
            raise ValueError(f"feature {name!r} has data type {data_type!r}")
        nominal = tuple((v.text or "") for v in element.findall(_OML + "nominal_value"))
        features.append(
            FeatureInfo(
                name=name,
                data_type=data_type,
                is_target=_flag(element, "is_target") or name in description.default_target_attributes,
                is_ignored=_flag(element, "is_ignore") or name in description.ignore_attributes,
                is_row_id=_flag(element, "is_row_identifier") or name == description.row_id_attribute,
                nominal_values=nominal if data_type == "nominal" else None,
            )
        )
    return tuple(features)


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(_OML + tag)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _flag(element: ET.Element, tag: str) -> bool:
    return (_text(element, tag) or "false").lower() == "true"
