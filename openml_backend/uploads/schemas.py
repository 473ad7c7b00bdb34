"""The request and answer shapes of POST /api/v1/datasets, for the contract."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .metadata import DatasetMetadata


class DatasetUploadForm(BaseModel):
    """The parts of the `multipart/form-data` body."""

    file: bytes = Field(description="The data: CSV (a header row, comma separated, UTF-8), ARFF or Parquet; "
                                    "the format is told by content, not by file name.")
    metadata: str = Field(description="A JSON object: " + ", ".join(DatasetMetadata.model_fields)
                                      + " (name and description required).",
                          json_schema_extra={"contentMediaType": "application/json"})


class UploadedDataset(BaseModel):
    """The new dataset."""

    id: int = Field(description="OpenML's id of the new dataset.")
    url: str = Field(description="The dataset's page on the website.")
