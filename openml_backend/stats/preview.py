"""The first rows of a table as JSON-safe values with their types kept."""

from __future__ import annotations

import base64
import datetime
import decimal
import math

import pyarrow as pa

from .columns import as_strings


def preview_rows(table: pa.Table, max_rows: int, max_columns: int, text_columns: frozenset[int] = frozenset(),
                 total_rows: int | None = None, total_columns: int | None = None) -> dict:
    """First `max_rows` rows of the first `max_columns` columns.

    `table` may be only the head of the data: `total_rows` and `total_columns` then give the
    whole data's size (default: the table's own).
    Integers stay ints, missing values and NaN/inf are null, dates are ISO-8601 strings.
    Columns whose index is in `text_columns` (nominal and string features, bools included) show
    the same strings as their categories. `total_rows` is the table's real row count;
    `total_columns` and `truncated_columns` say when columns were left out.
    """
    head = table.slice(0, max(0, max_rows))
    names = table.column_names[:max_columns]
    columns = []
    for k in range(len(names)):
        column = as_strings(head.column(k)) if k in text_columns else head.column(k)
        columns.append([_json_value(v) for v in column.to_pylist()])
    rows = [list(row) for row in zip(*columns)] if columns else [[] for _ in range(head.num_rows)]
    total_rows = table.num_rows if total_rows is None else total_rows
    total_columns = table.num_columns if total_columns is None else total_columns
    return {
        "columns": names,
        "rows": rows,
        "total_rows": total_rows,
        "total_columns": total_columns,
        "truncated_columns": total_columns > len(names),
    }


def _json_value(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)
