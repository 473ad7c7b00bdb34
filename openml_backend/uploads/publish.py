"""What runs in the OpenML write child for an upload: build the dataset and publish it with
the `openml` client (configured there with the user's key).

ARFF is published as the uploaded file's text itself (checked to parse, as the client
checks), so OpenML stores exactly what was uploaded. CSV and Parquet are read into a DataFrame and go
through `openml.datasets.create_dataset` (types inferred, written as ARFF by the client). The
client holds the data in memory, in this child only; UPLOAD_MAX_MB bounds it.

A data problem the client finds is returned as `{"invalid": message}` rather than raised, so
it reaches the user as a 400 and not as an OpenML failure.
"""

from __future__ import annotations

from typing import Any

from .formats import ARFF, CSV, PARQUET

DESCRIPTION_FIELDS = ("description", "licence", "citation", "creator", "contributor", "collection_date",
                      "language", "original_data_url", "paper_url", "version_label")


def publish_dataset(openml: Any, path: str, file_format: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Publish the file at `path` (of `file_format`) with `metadata` (DatasetMetadata as a
    dict); return `{"id": new dataset id}` or `{"invalid": reason}`."""
    targets = metadata.get("default_target_attribute") or []
    common = {field: metadata.get(field) for field in DESCRIPTION_FIELDS}
    common.update(
        name=metadata["name"],
        default_target_attribute=",".join(targets) or None,
        row_id_attribute=metadata.get("row_id_attribute"),
        ignore_attribute=metadata.get("ignore_attribute") or None,
    )
    try:
        dataset = _build(openml, path, file_format, common)
    except ValueError as error:  # the client's (and liac-arff's) word for a data problem
        return {"invalid": str(error).splitlines()[0][:500] if str(error) else type(error).__name__}
    dataset.publish()
    return {"id": int(dataset.dataset_id)}


def _build(openml: Any, path: str, file_format: str, common: dict[str, Any]) -> Any:
    if file_format == ARFF:
        import arff

        with open(path, encoding="utf-8") as file:
            text = file.read()
        try:
            arff.ArffDecoder().decode(text, encode_nominal=True)
        except arff.ArffException as error:
            raise ValueError(f"The ARFF file does not parse: {error}") from None
        return openml.datasets.OpenMLDataset(data_format="arff", dataset=text, **common)
    if file_format in (CSV, PARQUET):
        import pandas as pd

        frame = pd.read_csv(path) if file_format == CSV else pd.read_parquet(path)
        return openml.datasets.create_dataset(attributes="auto", data=frame, **common)
    raise ValueError(f"unknown format {file_format!r}")
