"""The `metadata` JSON of an upload: what OpenML's dataset description takes, checked as the
`openml` client and OpenML check it (name characters, ASCII description and citation)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .problems import InvalidMetadata

# The client's rule for names (OpenMLDataset.__init__, "regex given by server").
NAME_PATTERN = r"^[a-zA-Z0-9_\-\.\(\),]+$"
ASCII_PATTERN = r"^[\x00-\x7f]*$"  # OpenML's XSD refuses other description and citation text

ShortText = Annotated[str, Field(min_length=1, max_length=1024)]
ColumnName = Annotated[str, Field(min_length=1, max_length=1024)]


class DatasetMetadata(BaseModel):
    """The description of a new dataset; the attribute names must be columns of the file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN,
                      description="Letters, digits and _-.(),", examples=["iris-measurements"])
    description: str = Field(min_length=1, max_length=65_535, pattern=ASCII_PATTERN)
    licence: ShortText = "Public"
    default_target_attribute: list[ColumnName] = Field(
        default_factory=list, max_length=1000, description="A column name, or several (a list or comma separated).")
    row_id_attribute: ColumnName | None = None
    ignore_attribute: list[ColumnName] = Field(default_factory=list, max_length=10_000)
    citation: str | None = Field(default=None, max_length=65_535, pattern=ASCII_PATTERN)
    creator: ShortText | None = None
    contributor: ShortText | None = None
    collection_date: ShortText | None = None
    language: ShortText | None = None
    original_data_url: ShortText | None = None
    paper_url: ShortText | None = None
    version_label: ShortText | None = None

    @field_validator("default_target_attribute", "ignore_attribute", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def column_fields(self) -> dict[str, list[str]]:
        """Each field naming columns -> the names it gives."""
        return {
            "default_target_attribute": self.default_target_attribute,
            "row_id_attribute": [self.row_id_attribute] if self.row_id_attribute else [],
            "ignore_attribute": self.ignore_attribute,
        }


def parse_metadata(text: str | None) -> DatasetMetadata:
    """The `metadata` form field as DatasetMetadata, or InvalidMetadata naming the bad field."""
    if text is None or not text.strip():
        raise InvalidMetadata("The form field 'metadata' (a JSON object) is required.")
    try:
        return DatasetMetadata.model_validate_json(text)
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        field = f"metadata.{where}" if where else "metadata"
        raise InvalidMetadata(f"{field}: {first['msg']}") from None
