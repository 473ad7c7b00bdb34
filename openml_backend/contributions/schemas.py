"""Request and response bodies of the contributions API (pydantic; the contract reuses them).

Requests forbid unknown fields (400 ``invalid_fields`` naming them). Tags follow OpenML's
rule for them (``SystemString64``: letters, digits, ``_``, ``-``, ``.``; 1 to 64 characters).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, model_validator

TAG_PATTERN = r"^[a-zA-Z0-9_\-.]+$"
TAG_MAX_LENGTH = 64
MAX_ID = 2**31 - 1

Tag = Annotated[StrictStr, Field(min_length=1, max_length=TAG_MAX_LENGTH, pattern=TAG_PATTERN)]


def _json_integer(value: Any) -> Any:
    # A JSON Schema integer: 7 or 7.0, never "7" or true (pydantic's lax mode takes both).
    if isinstance(value, (bool, str)):
        raise ValueError("must be an integer")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]
TaskType = Annotated[int, Field(ge=1, le=3), BeforeValidator(_json_integer)]
# Empty values are dropped by the client, so a field to change must say something. The limits
# keep a whole request under MAX_CONTENT_LENGTH (64 KiB by default).
Text = Annotated[StrictStr, Field(min_length=1, max_length=20_000, pattern=r"\S")]
Citation = Annotated[StrictStr, Field(min_length=1, max_length=4_000, pattern=r"\S")]
ShortText = Annotated[StrictStr, Field(min_length=1, max_length=512, pattern=r"\S")]
AttributeName = Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=r"^[^,]*\S[^,]*$")]
MAX_IDS = 1000

NON_CRITICAL_FIELDS = ("description", "creator", "contributor", "collection_date", "language", "citation",
                       "original_data_url", "paper_url")
# OpenML lets only the uploader change these, and only while no task uses the dataset.
CRITICAL_FIELDS = ("default_target_attribute", "row_id_attribute", "ignore_attribute")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetEdit(Request):
    """The fields to change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    description: Text = None  # type: ignore[assignment]
    creator: ShortText = None  # type: ignore[assignment]
    contributor: ShortText = None  # type: ignore[assignment]
    collection_date: ShortText = None  # type: ignore[assignment]
    language: ShortText = None  # type: ignore[assignment]
    citation: Citation = None  # type: ignore[assignment]
    original_data_url: ShortText = None  # type: ignore[assignment]
    paper_url: ShortText = None  # type: ignore[assignment]
    default_target_attribute: ShortText = None  # type: ignore[assignment]
    row_id_attribute: AttributeName = None  # type: ignore[assignment]
    ignore_attribute: list[AttributeName] = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]

    @model_validator(mode="after")
    def something_to_change(self) -> DatasetEdit:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self

    def changes(self) -> dict[str, str]:
        """The fields to send to OpenML's data/edit (ignore_attribute comma-separated, as OpenML keeps it)."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if "ignore_attribute" in changes:
            changes["ignore_attribute"] = ",".join(changes["ignore_attribute"])
        return changes


class TagRequest(Request):
    tag: Tag


class TaskRequest(Request):
    """A task: 1 supervised classification, 2 supervised regression, 3 learning curve."""

    task_type: TaskType
    dataset_id: Id
    estimation_procedure_id: Id
    target: ShortText = Field(description="The target feature.")
    evaluation_measure: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=r"^[a-z0-9_]+$")] = None  # type: ignore[assignment]


class StudyRequest(Request):
    """A study of runs (``run_ids``) or a benchmark suite of tasks (``task_ids``): exactly one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["run_ids"]}, {"required": ["task_ids"]}]})

    name: Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=r"\S")]
    description: Text
    alias: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_\-.]+$")] = None  # type: ignore[assignment]
    run_ids: list[Id] = Field(None, min_length=1, max_length=MAX_IDS)  # type: ignore[assignment]
    task_ids: list[Id] = Field(None, min_length=1, max_length=MAX_IDS)  # type: ignore[assignment]

    @model_validator(mode="after")
    def runs_or_tasks(self) -> StudyRequest:
        if (self.run_ids is None) == (self.task_ids is None):
            raise ValueError("give exactly one of run_ids (a study) or task_ids (a benchmark suite)")
        return self


class DatasetMetadata(BaseModel):
    """What an editor shows of a dataset, and which fields this user may change."""

    id: int
    name: str
    version: int
    description: str | None
    creator: str | None
    contributor: str | None
    collection_date: str | None
    language: str | None
    licence: str | None
    citation: str | None
    original_data_url: str | None
    paper_url: str | None
    default_target_attribute: str | None
    row_id_attribute: str | None
    ignore_attribute: list[str]
    status: str | None
    visibility: str | None
    tags: list[str]
    uploader: int | None = Field(description="The OpenML user id of the uploader.")
    editable_by_you: list[str] = Field(description="The fields PATCH may change for this user: none without "
                                                   "a token; the critical ones only for the uploader.")


class DatasetTags(BaseModel):
    dataset_id: int
    tags: list[str]


class Created(BaseModel):
    id: int
    url: str = Field(description="The new object's page on OpenML (also the Location header).")
