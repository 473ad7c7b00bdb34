"""The statistics engine: distribution, correlation and preview of one dataset (no Flask here).

Input is a source (source.py: a pyarrow.Table, or a parquet or Arrow IPC file read a column at
a time) plus OpenML's feature metadata when known. Output is plain JSON-safe Python:
dict/list/str/int/float/bool/None, never NaN or Infinity. The format and its rules are
described in FORMAT.md next to this module.

Memory: one pass reads one column at a time (a few at once on threads, as many as fit in the
budget) and summarises it completely, exactly, in memory; a second pass streams the correlation
features in row blocks into sufficient statistics; the preview comes from the first rows. So
the peak is about the largest column's working memory, whatever the number of rows or columns
(budget.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
import os
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from . import columns as kinds
from .budget import TEXT_WORKING_FACTOR, WORKING_FACTOR, DatasetTooLarge, MemoryBudget
from .categorical import count_categories, summarize_categories
from .columns import as_strings, can_be_numeric, inferred_kind, is_temporal, to_float64
from .correlation import PairwiseCorrelation
from .numeric import summarize_numeric
from .preview import preview_rows
from .source import TableSource
from .temporal import summarize_dates

# Bump whenever the output for the same input changes; stored statistics are keyed on it.
ENGINE_VERSION = "3"
# Below this many rows a thread per column costs more than it saves.
_ROWS_WORTH_A_THREAD = 50_000
_ONE_BUDGETED_COMPUTATION = threading.Lock()
# Rows per correlation block: at most this many, fewer when the budget needs it.
_CORRELATION_BLOCK_ROWS = 1 << 16
_PRODUCT_ROWS_MIN = 1 << 12
# The fields of a brief entry (a feature beyond max_detailed_features), in order; see FORMAT.md.
BRIEF_FIELDS = ("type", "count", "missing", "infinite", "min", "max", "mean", "std", "distinct",
                "is_target", "declared_type")


@dataclass(frozen=True)
class StatsSettings:
    """Bounds of the output. Every field must be a non-negative int (histogram_bins >= 1)."""

    max_categories: int = 50
    max_correlation_features: int = 100
    histogram_bins: int = 20
    max_preview_rows: int = 100
    # Features after this many (target first, then table order) get a brief entry (a list of
    # BRIEF_FIELDS: counts and moments, no histogram or categories) so very wide data stays
    # small (about 55 bytes each).
    max_detailed_features: int = 500
    max_preview_columns: int = 100

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"StatsSettings.{name} must be a non-negative int, got {value!r}")
        if self.histogram_bins < 1:
            raise ValueError("StatsSettings.histogram_bins must be at least 1")


@dataclass(frozen=True)
class FeatureInfo:
    """One feature of OpenML's features/description (data_type in OpenML's words)."""

    name: str
    data_type: str  # "numeric" | "nominal" | "string" | "date"
    is_target: bool = False
    is_ignored: bool = False
    is_row_id: bool = False
    nominal_values: tuple[str, ...] | None = None


@dataclass
class _Column:
    position: int
    name: str
    kind: str
    arrow_type: pa.DataType
    info: FeatureInfo | None
    declared_type: str | None
    is_target: bool = False
    excluded: bool = False
    detailed: bool = True
    parsed: bool = False  # numbers stored as text, parsed to float64
    # filled while summarizing numeric columns; used to choose and scale correlation features
    finite_count: int = 0
    varies: bool = False
    centre: float | None = None
    low: float | None = None
    high: float | None = None


def compute_statistics(
    table: pa.Table,
    features: Sequence[FeatureInfo] | None = None,
    settings: StatsSettings = StatsSettings(),
    budget: MemoryBudget | None = None,
) -> dict:
    """Statistics of `table` as it is (no imputation, no dropped rows, no sampling).

    Returns {"distribution": {feature: entry}, "correlation": {...} or None, "preview": {...},
    "meta": {...}}, strictly JSON-safe. `features=None` infers each column's type from the
    arrow schema. Every column appears in "distribution"; declared features absent from the
    table appear too, marked "absent": true. Never raises for any values in the columns; raises
    DatasetTooLarge only when a `budget` is given and the table exceeds it.
    """
    return statistics_of(TableSource(table), features, settings, budget)


def statistics_of(
    source: TableSource,
    features: Sequence[FeatureInfo] | None = None,
    settings: StatsSettings = StatsSettings(),
    budget: MemoryBudget | None = None,
) -> dict:
    """`compute_statistics` of a source (a table, or a parquet or Arrow file read a column at a
    time). With a `budget`, at most as many columns are held at once as fit in it, the
    correlation is streamed in row blocks sized to it, and a dataset that cannot fit raises
    DatasetTooLarge before anything large is read. Budgeted computations run one at a time in
    a process, so a process's peak stays its baseline plus one budget."""
    # BLAS on one thread throughout: the same sums in the same order whatever the threads and
    # the budget, and no BLAS threads fighting the column threads for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        if budget is None:
            return _statistics_of(source, features, settings, None)
        with _ONE_BUDGETED_COMPUTATION:
            return _statistics_of(source, features, settings, budget)


def _statistics_of(source: TableSource, features, settings: StatsSettings, budget: MemoryBudget | None) -> dict:
    # Reading a file leaves freed buffers cached in arrow's allocator; returning them first
    # keeps the numpy work below under the read's own peak RSS.
    pa.default_memory_pool().release_unused()
    n_rows = source.num_rows
    plan = _plan(source.schema, features, settings)
    included = [c for c in plan if not c.excluded]
    needs = {c.position: _working_bytes(source, c) for c in included}
    if budget is not None:
        _check_budget(budget, n_rows, plan, needs)
    limit = budget.budget_bytes if budget is not None else None
    with _pool_for(n_rows, included, needs, limit) as pool:
        summaries = _map(pool, lambda column: _entry(source, column, settings, limit), included)
    eligible = [c for c in included if c.kind == kinds.NUMERIC]
    correlation = _correlation(source, *_choose(eligible, settings), n_rows, limit)
    distribution = {}
    for column in plan:
        distribution[column.name] = _excluded_entry(column) if column.excluded else summaries[column.position]
    for info in _absent_features(source.schema.names, features):
        distribution.setdefault(info.name, _absent_entry(info))
    text_columns = frozenset(c.position for c in plan if c.kind in (kinds.NOMINAL, kinds.STRING))
    head = source.head(settings.max_preview_rows, settings.max_preview_columns)
    return {
        "distribution": distribution,
        "correlation": correlation,
        "preview": preview_rows(head, settings.max_preview_rows, settings.max_preview_columns, text_columns,
                                total_rows=n_rows, total_columns=len(plan)),
        "meta": {
            "engine_version": ENGINE_VERSION,
            "total_rows": n_rows,
            "total_features": len(distribution),
            "detailed_features": sum(1 for c in plan if c.detailed and not c.excluded),
            "brief_fields": list(BRIEF_FIELDS),
            "sampled": False,
        },
    }


def _plan(schema: pa.Schema, features, settings: StatsSettings) -> list[_Column]:
    by_name: dict[str, FeatureInfo] = {}
    for info in features or ():
        by_name.setdefault(info.name, info)
    plan = []
    for position, field in enumerate(schema):
        info = by_name.get(field.name)
        declared = info.data_type.lower() if info else None
        plan.append(_Column(
            position, field.name, _kind_of_type(declared, field.type), field.type, info, declared,
            is_target=bool(info and info.is_target),
            excluded=bool(info and (info.is_ignored or info.is_row_id)),
        ))
    included = sorted((c for c in plan if not c.excluded), key=lambda c: (not c.is_target, c.position))
    for column in included[settings.max_detailed_features:]:
        column.detailed = False
    return plan


def _kind_of_type(declared: str | None, arrow_type: pa.DataType) -> str:
    """The kind a column gets from its type alone (a declared numeric stored as text is settled
    when it is read: numeric when every value parses)."""
    if declared == kinds.NUMERIC:
        return kinds.NUMERIC
    if declared in (kinds.NOMINAL, kinds.STRING):
        return declared
    if declared == kinds.DATE:
        return kinds.DATE if is_temporal(arrow_type) else kinds.STRING
    return inferred_kind(arrow_type)


def _working_bytes(source: TableSource, column: _Column) -> int:
    factor = WORKING_FACTOR if column.kind in (kinds.NUMERIC, kinds.DATE) else TEXT_WORKING_FACTOR
    needed = source.column_bytes(column.position) * factor
    if column.kind == kinds.NUMERIC and not can_be_numeric(column.arrow_type):
        needed += source.num_rows * 8 * WORKING_FACTOR  # the parsed float64 copy
    return needed


def _check_budget(budget: MemoryBudget, n_rows: int, plan: list[_Column], needs: dict[int, int]) -> None:
    cells = n_rows * len(plan)
    if cells > budget.max_cells:
        raise DatasetTooLarge("cells", budget.max_cells, cells)
    for column in plan:
        if needs.get(column.position, 0) > budget.budget_bytes:
            raise DatasetTooLarge("memory_bytes", budget.budget_bytes, needs[column.position], column.name)


def _read(source: TableSource, column: _Column, limit: int | None) -> pa.ChunkedArray:
    """The column's values as its kind needs them (a declared numeric stored as text parsed,
    when every value parses; else the column is nominal)."""
    data = source.column(column.position)
    if limit is not None and data.nbytes > limit:  # text the estimate did not foresee
        raise DatasetTooLarge("memory_bytes", limit, data.nbytes, column.name)
    if column.kind == kinds.NUMERIC and not can_be_numeric(data.type):
        parsed = _parsed_numbers(data)
        if parsed is None:
            column.kind = kinds.NOMINAL
        else:
            column.parsed = True
            return parsed
    return data


def _parsed_numbers(data: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array | None:
    """Numbers stored as text or as a dictionary of numbers, as float64; None when one does not parse."""
    try:
        if isinstance(data, pa.Array):
            return pc.cast(as_strings(pa.chunked_array([data])), pa.float64()).combine_chunks()
        return pc.cast(as_strings(data), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


class _NoPool:
    """Stands in for a thread pool where threads would cost more than they save."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _pool_for(n_rows: int, included: list[_Column], needs: dict[int, int], limit: int | None):
    """Threads over columns: as many as there are cores (at most 4), and only as many columns at
    once as fit in the memory budget."""
    workers = min(4, os.cpu_count() or 1, len(included) + 1)
    if limit is not None and needs:
        workers = min(workers, max(1, limit // max(1, max(needs.values()))))
    if workers < 2 or n_rows < _ROWS_WORTH_A_THREAD:
        return _NoPool()
    return _ColumnPool(workers)


class _ColumnPool(ThreadPoolExecutor):
    """Threads over columns: numpy, BLAS and arrow release the GIL in their loops, so long
    columns are summarized side by side (the result is the same as in sequential order).
    BLAS is held to one thread meanwhile (statistics_of): its own threads competing with these
    ones for the same cores made the whole computation slower (measured 0.98 s against 0.57 s)."""


def _map(pool, function, columns: list[_Column]) -> dict[int, dict | list]:
    results = map(function, columns) if pool is None else pool.map(function, columns)
    return dict(zip((c.position for c in columns), results))


def _entry(source: TableSource, column: _Column, settings: StatsSettings, limit: int | None) -> dict | list:
    if column.kind == kinds.NUMERIC and can_be_numeric(column.arrow_type):
        data = _numeric_values(source, column)
    else:
        data = _read(source, column, limit)
    # the data is handed over, not kept here: _summarize lets it go once converted
    if not column.detailed:
        return _brief(column, data, settings)
    entry = _summarize(column, data, settings)
    entry["is_target"] = column.is_target
    if column.declared_type and column.declared_type != entry["type"]:
        entry["declared_type"] = column.declared_type
    return entry


@dataclass
class _Numbers:
    """A numeric column already converted: float64 values, and exact int extremes for integers."""

    values: np.ndarray
    integer_min_max: tuple[int, int] | None


def _numeric_values(source: TableSource, column: _Column) -> _Numbers:
    """The column as float64, filled row group by row group: only one row group's arrow data
    (and pyarrow's decoding buffers, about 2.7x a group's size) is held beside the result."""
    values = np.empty(source.num_rows, dtype=np.float64)
    lows, highs = [], []
    start = 0
    for group in range(len(source.row_groups())):
        part = source.column_part(column.position, group)
        extremes = _integer_min_max(part)
        if extremes is not None:
            lows.append(extremes[0])
            highs.append(extremes[1])
        converted = to_float64(part)
        values[start : start + converted.size] = converted
        start += converted.size
        del part, converted
    if start != values.size:  # a source whose groups do not add up: trust the groups
        values = values[:start]
    return _Numbers(values, (min(lows), max(highs)) if lows else None)


def _summarize(column: _Column, data: pa.ChunkedArray, settings: StatsSettings, detailed: bool = True) -> dict:
    if column.kind == kinds.NUMERIC:
        if isinstance(data, _Numbers):
            values, integer_min_max = data.values, data.integer_min_max
        else:
            integer_min_max = _integer_min_max(data)
            values = to_float64(data)
        del data  # the float64 copy is all that is needed from here on
        entry = summarize_numeric(values, settings.histogram_bins, integer_min_max, detailed=detailed)
        del values
        column.finite_count = entry["count"] - entry["infinite"]
        column.varies = entry["min"] is not None and entry["min"] != entry["max"]
        if entry["mean"] is not None:
            column.centre, column.low, column.high = entry["mean"], float(entry["min"]), float(entry["max"])
        return entry
    if column.kind == kinds.DATE:
        return summarize_dates(data, settings.histogram_bins if detailed else 1)
    declared = column.info.nominal_values if column.info and column.kind == kinds.NOMINAL else None
    counted = count_categories(data)
    del data
    if not detailed:
        total = int(pc.sum(counted.table["count"]).as_py() or 0)
        return {"type": column.kind, "count": total, "missing": counted.missing,
                "distinct": counted.table.num_rows}
    return summarize_categories(counted, column.kind, settings.max_categories, declared)


def _brief(column: _Column, data: pa.ChunkedArray, settings: StatsSettings) -> list:
    """A feature beyond max_detailed_features: its BRIEF_FIELDS as a list (no histogram, no
    category list); is_target and declared_type only when they say something."""
    entry = _summarize(column, data, settings, detailed=False)
    del data
    row = [entry.get(name) for name in BRIEF_FIELDS[:9]]
    declared = column.declared_type if column.declared_type and column.declared_type != entry["type"] else None
    if column.is_target or declared:
        row.append(column.is_target)
    if declared:
        row.append(declared)
    return row


def expand_entry(entry: dict | list) -> dict:
    """A distribution entry as a dict: a brief (list) entry becomes {field: value} over
    BRIEF_FIELDS, without the fields that do not apply to its type, with "detail": false."""
    if isinstance(entry, dict):
        return entry
    expanded = {name: value for name, value in zip(BRIEF_FIELDS, entry) if value is not None}
    expanded.setdefault("is_target", False)
    expanded["detail"] = False
    return expanded


def _integer_min_max(data: pa.ChunkedArray) -> tuple[int, int] | None:
    if not pa.types.is_integer(data.type) or len(data) == data.null_count:
        return None
    extremes = pc.min_max(data)
    return extremes["min"].as_py(), extremes["max"].as_py()


def _excluded_entry(column: _Column) -> dict:
    info = column.info
    return {
        "type": column.kind,
        "ignored": True,
        "row_id": bool(info and info.is_row_id),
        "is_target": column.is_target,
    }


def _absent_features(names: list[str], features) -> list[FeatureInfo]:
    present = set(names)
    return [info for info in features or () if info.name not in present]


def _absent_entry(info: FeatureInfo) -> dict:
    return {"type": info.data_type.lower(), "absent": True, "is_target": bool(info.is_target)}


def _choose(eligible: list[_Column], settings: StatsSettings) -> tuple[list[_Column], list[_Column]]:
    """Correlation features when more than `max_correlation_features` qualify: the target, then
    features whose finite values vary, then those with the most finite values, then table order.
    Returns (chosen, omitted), both in table order."""
    ranked = sorted(eligible, key=lambda c: (not c.is_target, not c.varies, -c.finite_count, c.position))
    limit = settings.max_correlation_features
    return sorted(ranked[:limit], key=lambda c: c.position), sorted(ranked[limit:], key=lambda c: c.position)


def _correlation(source: TableSource, chosen: list[_Column], omitted: list[_Column], n_rows: int,
                 limit: int | None) -> dict | None:
    """Pearson over numeric, non-excluded features (the target included); null below two
    features. The chosen columns are streamed into sufficient statistics in row blocks: straight
    from memory for a table; from a file, read again a column chunk at a time, row group by row
    group (pyarrow decodes whole row groups, and a row group of many columns read at once
    measured 2.5x its values' size)."""
    if len(chosen) < 2:
        return None
    correlation = _accumulator(chosen)
    p = len(chosen)
    # (BLAS is on one thread here: with its own threads these small products took 9 s instead
    # of 0.2 s for 200k rows x 20 columns on 2 busy cores)
    if limit is None or source.largest_group_rows() == 0:
        block_rows = _block_rows(p, limit)
        for group in source.groups([c.position for c in chosen]):
            correlation.add(_as_numbers(chosen, group), block_rows)
    else:
        _correlation_by_column_groups(source, chosen, correlation, limit)
    return {
        "method": "pearson",
        "pairwise_complete": True,
        "features": [c.name for c in chosen],
        "matrix": correlation.matrix(),
        "omitted_features": [c.name for c in omitted],
    }


def _accumulator(columns: list[_Column]) -> PairwiseCorrelation:
    return PairwiseCorrelation([c.centre for c in columns], [c.low for c in columns], [c.high for c in columns])


def _block_rows(p: int, limit: int | None) -> int:
    # a block holds the float64 copies and the [values, mask] matrix of its rows
    if limit is None:
        return _CORRELATION_BLOCK_ROWS
    return max(_PRODUCT_ROWS_MIN, min(_CORRELATION_BLOCK_ROWS, limit // (p * 8 * 6)))


def _as_numbers(columns: list[_Column], arrays: list) -> list:
    return [_parsed_numbers(values) if column.parsed else values for column, values in zip(columns, arrays)]


def _correlation_by_column_groups(source: TableSource, chosen: list[_Column], correlation: PairwiseCorrelation,
                                  limit: int) -> None:
    """The sums from a file, row group by row group, each column chunk read on its own. Within a
    row group the columns go in groups of which two fit in the budget at once; every pair of
    groups meets once. When the row group's chosen columns fit
    together, as usual, each chunk is read exactly once."""
    for group, rows in enumerate(source.row_groups()):
        # a chunk held costs its float64 values and pyarrow's decoding buffers: 4x, measured 3.5x
        per_group = max(1, limit // (2 * max(1, rows) * 8 * 4))
        parts = [list(range(k, min(k + per_group, len(chosen)))) for k in range(0, len(chosen), per_group)]

        def read(indices: list[int]) -> list:
            columns = [chosen[k] for k in indices]
            return _as_numbers(columns, [source.column_part(c.position, group) for c in columns])

        for a, first in enumerate(parts):
            first_data = read(first)
            for second in parts[a:]:
                members = first if second is first else first + second
                data = first_data if second is first else first_data + read(second)
                partial = _accumulator([chosen[k] for k in members])
                partial.add(data, _block_rows(len(members), limit))
                local_first = list(range(len(first)))
                local_second = local_first if second is first else list(range(len(first), len(members)))
                correlation.absorb(partial, members, local_first, local_second)
                del data
            del first_data
            pa.default_memory_pool().release_unused()
