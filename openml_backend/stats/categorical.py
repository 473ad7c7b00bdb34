"""Statistics of nominal and string columns: category counts, top categories, other_count.

Category names are strings. Missing = null (and NaN in a floating column). Ties in count are
broken by declaration order (the feature's nominal values from OpenML's metadata, else the
order of the arrow dictionary, i.e. a pandas Categorical's categories), then by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import strings_of


@dataclass
class CategoryCounts:
    """Observed categories (first-seen declaration order) with their counts, and the missing count."""

    names: list[str]
    counts: list[int]
    missing: int
    dictionary_order: bool  # True when `names` follows an arrow dictionary's order


def count_categories(column: pa.ChunkedArray) -> CategoryCounts:
    """Count every distinct value of the column (rendered as a string); nulls and NaN are missing."""
    totals: dict[str, int] = {}
    missing = 0
    is_dictionary = pa.types.is_dictionary(column.type)
    for chunk in column.chunks:
        if is_dictionary:
            missing += _count_dictionary_chunk(chunk, totals)
        else:
            missing += _count_plain_chunk(chunk, totals)
    seen = [(name, count) for name, count in totals.items() if count > 0]
    return CategoryCounts([n for n, _ in seen], [c for _, c in seen], missing, is_dictionary)


def _count_dictionary_chunk(chunk: pa.DictionaryArray, totals: dict[str, int]) -> int:
    names = strings_of(chunk.dictionary).to_pylist()
    sentinel = len(names)
    indices = pc.fill_null(chunk.indices, sentinel).to_numpy(zero_copy_only=False)
    counts = np.bincount(indices, minlength=sentinel + 1) if indices.size else np.zeros(sentinel + 1, np.int64)
    missing = int(counts[sentinel])
    for name, count in zip(names, counts[:sentinel].tolist()):
        if name is None:  # a null inside the dictionary is a missing value too
            missing += count
        else:
            totals[name] = totals.get(name, 0) + count
    return missing


def _count_plain_chunk(chunk: pa.Array, totals: dict[str, int]) -> int:
    chunk = strings_of(chunk)
    missing = chunk.null_count
    counted = pc.value_counts(chunk)
    names = counted.field("values").to_pylist()
    for name, count in zip(names, counted.field("counts").to_pylist()):
        if name is not None:
            totals[name] = totals.get(name, 0) + count
    return missing


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
    order = _declaration_rank(counted, declared)
    ranked = sorted(
        range(len(counted.names)),
        key=lambda i: (-counted.counts[i], order.get(counted.names[i], len(order)), counted.names[i]),
    )
    top = ranked[:max_categories]
    total = sum(counted.counts)
    top_total = sum(counted.counts[i] for i in top)
    result = {
        "type": kind,
        "categories": [counted.names[i] for i in top],
        "counts": [counted.counts[i] for i in top],
        "count": total,
        "missing": counted.missing,
        "distinct": len(counted.names),
        "other_count": total - top_total,
        "other_distinct": len(ranked) - len(top),
    }
    if declared is not None:
        observed = set(counted.names)
        result["unseen_categories"] = [v for v in declared if v not in observed][:max_categories]
    return result


def _declaration_rank(counted: CategoryCounts, declared: tuple[str, ...] | None) -> dict[str, int]:
    if declared is not None:
        return {name: position for position, name in enumerate(declared)}
    if counted.dictionary_order:
        return {name: position for position, name in enumerate(counted.names)}
    return {}
