"""Arrow column helpers: which kind of statistics a column gets, and numeric conversion to numpy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NUMERIC = "numeric"
NOMINAL = "nominal"
STRING = "string"
DATE = "date"
KINDS = (NUMERIC, NOMINAL, STRING, DATE)


def inferred_kind(arrow_type: pa.DataType) -> str:
    """The OpenML data type a column of `arrow_type` is treated as when no metadata is given.

    int/float/decimal -> numeric; dictionary, string, bool and null (a column with no value,
    e.g. an all-None pandas object column) -> nominal; date/timestamp -> date; anything else
    (binary, nested) -> string.
    """
    if pa.types.is_null(arrow_type):
        return NOMINAL
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return NUMERIC
    if pa.types.is_dictionary(arrow_type) or pa.types.is_boolean(arrow_type):
        return NOMINAL
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return NOMINAL
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return DATE
    return STRING


def can_be_numeric(arrow_type: pa.DataType) -> bool:
    """True when a column of this type converts to float64 without parsing text."""
    return (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_null(arrow_type)
    )


def is_temporal(arrow_type: pa.DataType) -> bool:
    """True for date and timestamp columns."""
    return pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type)


def to_float64(column: pa.ChunkedArray) -> np.ndarray:
    """The column as a contiguous float64 array; nulls (and NaN already present) become NaN.

    Converted a chunk at a time into one array: no combined copy of the whole column."""
    if column.num_chunks == 1 and column.type == pa.float64():
        return column.chunk(0).to_numpy(zero_copy_only=False)
    values = np.empty(len(column), dtype=np.float64)
    start = 0
    for chunk in column.chunks:
        if chunk.type != pa.float64():
            # unsafe: integers beyond 2**53 (e.g. uint64) become the nearest float instead of failing
            chunk = pc.cast(chunk, pa.float64(), safe=False)
        values[start : start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        start += len(chunk)
    return values


def without_nan(array: pa.Array) -> pa.Array:
    """A floating array with NaN turned into null, so NaN counts as missing everywhere."""
    if pa.types.is_floating(array.type):
        return pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
    return array


def as_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column's values rendered as category names (the same text the category counts use)."""
    chunks = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_decode()
        chunks.append(strings_of(chunk))
    return pa.chunked_array(chunks, type=chunks[0].type if chunks else pa.string())


def strings_of(array: pa.Array) -> pa.Array:
    """A plain (non-dictionary) array as utf8 text: arrow's rendering where it has one (numbers, bools,
    dates), Python's str() for nested values, bytes decoded as UTF-8 with replacement.
    NaN becomes null."""
    array = without_nan(array)
    if pa.types.is_string(array.type):
        return array
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else _text(v) for v in array.to_pylist()], type=pa.string())


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
