"""The statistics engine of dataset pages: distribution, correlation, preview (no Flask import)."""

from .engine import (
    ENGINE_VERSION,
    FeatureInfo,
    StatsSettings,
    compute_statistics,
)

__all__ = [
    "ENGINE_VERSION",
    "FeatureInfo",
    "StatsSettings",
    "compute_statistics",
]
