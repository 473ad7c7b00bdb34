"""Statistics of date and timestamp columns: counts, the ISO-8601 range and a histogram over time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_EPOCH = dt.datetime(1970, 1, 1)
# microseconds per tick of each storage unit
_MICROS_PER_TICK = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1e-3}
_MICROS_PER_DAY = 86_400_000_000


def summarize_dates(column: pa.ChunkedArray, n_bins: int = 20) -> dict:
    """count, missing, min/max as ISO-8601 strings (null when there is no value), and a histogram.

    The histogram is numpy.histogram's over the column's integer ticks (days, or the timestamp's
    unit): `n_bins` equal-width bins, half-open, the last one closed; its `counts` are exact and
    its edges `bins` are ISO-8601 date-times rounded to the microsecond. One value repeated:
    one degenerate bin [v, v]; no value (or edges outside years 1-9999): `bins` and `counts` [].
    """
    missing = column.null_count
    extremes = pc.min_max(column) if len(column) > missing else None
    bins, counts = _histogram(column, n_bins) if extremes else ([], [])
    return {
        "type": "date",
        "count": len(column) - missing,
        "missing": missing,
        "min": _iso(extremes["min"]) if extremes else None,
        "max": _iso(extremes["max"]) if extremes else None,
        "bins": bins,
        "counts": counts,
    }


def _histogram(column: pa.ChunkedArray, n_bins: int) -> tuple[list[str], list[int]]:
    kind = column.type
    storage = pa.int32() if pa.types.is_date32(kind) else pa.int64()
    ticks = column.drop_null().cast(storage).to_numpy().astype(np.int64)
    low, high = int(ticks.min()), int(ticks.max())
    if low == high:
        edges, counts = np.array([low, high], dtype=np.float64), np.array([ticks.size])
    else:
        counts, edges = np.histogram(ticks, bins=n_bins)
    if pa.types.is_date32(kind):
        micros = edges * _MICROS_PER_DAY
    elif pa.types.is_date64(kind):
        micros = edges * 1_000
    else:
        micros = edges * _MICROS_PER_TICK[kind.unit]
    suffix = "+00:00" if getattr(kind, "tz", None) else ""
    try:
        iso = [(_EPOCH + dt.timedelta(microseconds=round(float(m)))).isoformat() + suffix for m in micros]
    except (OverflowError, ValueError):  # beyond what datetime can name
        return [], []
    return iso, [int(c) for c in counts]


def _iso(scalar: pa.Scalar) -> str | None:
    value = scalar.as_py()
    return None if value is None else value.isoformat()
