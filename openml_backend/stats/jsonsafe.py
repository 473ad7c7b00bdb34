"""Conversions that keep the statistics strictly JSON-safe (no NaN, no Infinity, no numpy scalars)."""

from __future__ import annotations

import math


def finite_float(value) -> float | None:
    """Return `value` as a Python float, or None when it is missing, NaN or infinite."""
    if value is None:
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def float_list(values) -> list[float | None]:
    """Return a list of Python floats (None for NaN/inf) from any iterable of numbers."""
    return [finite_float(v) for v in values]


def int_list(values) -> list[int]:
    """Return a list of Python ints from any iterable of integers (numpy or not)."""
    return [int(v) for v in values]
