"""The statistics response as pydantic models: the contract's schema of GET .../stats.

They describe what `stats.engine.compute_statistics` returns (stats/FORMAT.md) wrapped in the
service's document. Extra members are forbidden so the contract test notices when the engine
starts sending something the contract does not describe.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FeatureType = Literal["numeric", "nominal", "string", "date"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NumericEntry(_Strict):
    """A numeric feature: counts, histogram, moments and quartiles of its finite values."""

    type: Literal["numeric"]
    count: int
    missing: int
    infinite: int
    bins: list[float] = Field(description="Bin edges (one more than counts); [] without a finite value.")
    counts: list[int]
    mean: float | None
    std: float | None = Field(description="Sample standard deviation; null below two finite values.")
    min: float | None
    max: float | None
    quartiles: list[float] | None
    is_target: bool
    declared_type: str | None = Field(default=None, description="OpenML's type, when the data cannot have it.")


class CategoricalEntry(_Strict):
    """A nominal or string feature: the most frequent categories, the rest summed."""

    type: Literal["nominal", "string"]
    categories: list[str]
    counts: list[int]
    count: int
    missing: int
    distinct: int
    other_count: int
    other_distinct: int
    unseen_categories: list[str] | None = Field(
        default=None, description="Declared nominal values never observed (only with declared values).")
    is_target: bool
    declared_type: str | None = None


class DateEntry(_Strict):
    """A date feature: its range as ISO-8601 strings and its histogram over time."""

    type: Literal["date"]
    count: int
    missing: int
    min: str | None
    max: str | None
    bins: list[str] = Field(description="Bin edges as ISO-8601 date-times (one more than counts); [] without a value.")
    counts: list[int]
    is_target: bool
    declared_type: str | None = None


BriefEntry = Annotated[
    list[str | int | float | bool | None],
    Field(min_length=9, max_length=11,
          description="A feature beyond max_detailed_features, as a list of meta.brief_fields: type, count, "
                      "missing, infinite, min, max, mean, std, distinct (null where the type has none), then "
                      "is_target and declared_type only when they say something. No histogram or categories."),
]


class IgnoredEntry(_Strict):
    """An ignored or row-id feature: left out of the statistics."""

    type: FeatureType
    ignored: Literal[True]
    row_id: bool
    is_target: bool


class AbsentEntry(_Strict):
    """A feature OpenML declares that the data does not have."""

    type: str
    absent: Literal[True]
    is_target: bool


FeatureEntry = NumericEntry | CategoricalEntry | DateEntry | BriefEntry | IgnoredEntry | AbsentEntry


class Correlation(_Strict):
    """Pairwise-complete Pearson correlations of the numeric features."""

    method: Literal["pearson"]
    pairwise_complete: bool
    features: list[str]
    matrix: list[list[float | None]]
    omitted_features: list[str]


class Preview(_Strict):
    """The first rows and columns of the data."""

    columns: list[str]
    rows: list[list[Any]] = Field(description="Cells are numbers, strings, booleans or null.")
    total_rows: int
    total_columns: int
    truncated_columns: bool


class StatsMeta(_Strict):
    engine_version: str
    total_rows: int
    total_features: int
    detailed_features: int = Field(description="Features with a full entry (an object); the others are lists.")
    brief_fields: list[str] = Field(description="The fields of a brief entry, in order.")
    sampled: bool


class Statistics(_Strict):
    distribution: dict[str, FeatureEntry] = Field(description="Every feature, in table order.")
    correlation: Correlation | None
    preview: Preview
    meta: StatsMeta


class DatasetStats(_Strict):
    """Distribution, correlation and preview of one version of an OpenML dataset."""

    dataset_id: int
    name: str
    version: int
    computed_at: str = Field(description="UTC time of the computation, ISO-8601 with Z.")
    cached: bool = Field(description="Served from a stored computation rather than computed for this request.")
    statistics: Statistics
