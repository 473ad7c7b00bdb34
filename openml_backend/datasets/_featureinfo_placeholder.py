"""Stand-in for ``openml_backend.stats.engine.FeatureInfo`` until the statistics engine lands.

Same shape as the engine's class; once it is merged, ``source.py`` imports it from
``openml_backend.stats`` and this module goes away.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureInfo:
    """One feature of a dataset as OpenML describes it."""

    name: str
    data_type: str  # "numeric" | "nominal" | "string" | "date"
    is_target: bool = False
    is_ignored: bool = False
    is_row_id: bool = False
    nominal_values: tuple[str, ...] | None = None
