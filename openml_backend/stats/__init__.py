"""The statistics engine of dataset pages: distribution, correlation, preview (no Flask import)."""

from .budget import DatasetTooLarge, MemoryBudget
from .engine import (
    BRIEF_FIELDS,
    ENGINE_VERSION,
    FeatureInfo,
    StatsSettings,
    compute_statistics,
    expand_entry,
    statistics_of,
)
from .source import TableSource, open_table_file

__all__ = [
    "BRIEF_FIELDS",
    "ENGINE_VERSION",
    "DatasetTooLarge",
    "FeatureInfo",
    "MemoryBudget",
    "StatsSettings",
    "TableSource",
    "compute_statistics",
    "expand_entry",
    "open_table_file",
    "statistics_of",
]
