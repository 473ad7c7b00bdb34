"""Statistics of nominal and string columns: category counts, top categories, other_count.

Category names are strings. Missing = null (and NaN in a floating column). Ties in count are
broken by declaration order (the feature's nominal values from OpenML's metadata, else the
order of the arrow dictionary, i.e. a pandas Categorical's categories), then by name.
Counting and ranking stay in arrow/numpy (a million distinct strings: about 0.8 s instead of 1.7-3.4 s
with Python dicts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import strings_of


@dataclass
class CategoryCounts:
    """Observed categories with their counts (a table: name, count, position) and missing values.

    `position` is the first position in the arrow dictionary for dictionary columns, else 0.
    """

    table: pa.Table
    missing: int


def count_categories(column: pa.ChunkedArray) -> CategoryCounts:
    """Count every distinct value of the column (rendered as a string); nulls and NaN are missing."""
    if pa.types.is_dictionary(column.type):
        return _count_dictionary(column)
    text = pa.chunked_array([strings_of(chunk) for chunk in column.chunks], type=pa.string())
    counted = pc.value_counts(text)
    names, counts = counted.field("values"), counted.field("counts")
    present = pc.is_valid(names)
    table = pa.table({
        "name": names.filter(present),
        "count": counts.filter(present),
        "position": pa.array(np.zeros(len(names) - names.null_count, dtype=np.int64)),
    })
    return CategoryCounts(table, text.null_count)


def _count_dictionary(column: pa.ChunkedArray) -> CategoryCounts:
    unified = column.unify_dictionaries() if column.num_chunks > 1 else column
    if unified.num_chunks == 0:
        empty = pa.table({"name": pa.array([], pa.string()), "count": pa.array([], pa.int64()),
                          "position": pa.array([], pa.int64())})
        return CategoryCounts(empty, 0)
    dictionary = unified.chunk(0).dictionary
    sentinel = len(dictionary)
    counts = np.zeros(sentinel + 1, dtype=np.int64)
    for chunk in unified.chunks:
        indices = pc.fill_null(chunk.indices, sentinel).to_numpy(zero_copy_only=False)
        counts += np.bincount(indices, minlength=sentinel + 1)
    missing = int(counts[sentinel])
    names = strings_of(dictionary)
    # Different dictionary entries can render to the same text (and NaN renders as null):
    # merge them by name, keeping the first dictionary position.
    table = pa.table({
        "name": names,
        "count": pa.array(counts[:sentinel]),
        "position": pa.array(np.arange(sentinel, dtype=np.int64)),
    })
    missing += int(pc.sum(table.filter(pc.is_null(table["name"]))["count"]).as_py() or 0)
    table = table.filter(pc.and_(pc.is_valid(table["name"]), pc.greater(table["count"], 0)))
    if pc.count_distinct(table["name"]).as_py() < table.num_rows:
        grouped = table.group_by("name").aggregate([("count", "sum"), ("position", "min")])
        table = pa.table({
            "name": grouped["name"], "count": grouped["count_sum"], "position": grouped["position_min"],
        })
    return CategoryCounts(table, missing)


def summarize_categories(
    counted: CategoryCounts,
    kind: str,
    max_categories: int,
    declared: tuple[str, ...] | None = None,
) -> dict:
    """Top `max_categories` categories by count, the rest summed in `other_count`.

    `declared` (OpenML's nominal values) sets the tie order and lets unseen declared values be
    listed in `unseen_categories` (declared order, at most `max_categories` names).
    """
    table = counted.table
    if declared is not None:
        rank = pc.fill_null(pc.index_in(table["name"], value_set=pa.array(declared, pa.string())), len(declared))
        table = table.set_column(2, "position", pc.cast(rank, pa.int64()))
    ranked = table.sort_by([("count", "descending"), ("position", "ascending"), ("name", "ascending")])
    top = ranked.slice(0, max_categories)
    total = int(pc.sum(table["count"]).as_py() or 0)
    top_counts = top["count"].to_pylist()
    result = {
        "type": kind,
        "categories": top["name"].to_pylist(),
        "counts": top_counts,
        "count": total,
        "missing": counted.missing,
        "distinct": table.num_rows,
        "other_count": total - sum(top_counts),
        "other_distinct": table.num_rows - top.num_rows,
    }
    if declared is not None:
        seen = pc.is_in(pa.array(declared, pa.string()), value_set=table["name"]).to_pylist()
        result["unseen_categories"] = [v for v, was_seen in zip(declared, seen) if not was_seen][:max_categories]
    return result
