"""Statistics of date and timestamp columns: counts and the ISO-8601 range."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def summarize_dates(column: pa.ChunkedArray) -> dict:
    """count, missing, and min/max as ISO-8601 strings (null when there is no value)."""
    missing = column.null_count
    extremes = pc.min_max(column) if len(column) > missing else None
    return {
        "type": "date",
        "count": len(column) - missing,
        "missing": missing,
        "min": _iso(extremes["min"]) if extremes else None,
        "max": _iso(extremes["max"]) if extremes else None,
    }


def _iso(scalar: pa.Scalar) -> str | None:
    value = scalar.as_py()
    return None if value is None else value.isoformat()
