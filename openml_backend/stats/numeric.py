"""Statistics of one numeric column: counts, moments, exact quartiles and a histogram.

Missing = null or NaN. Infinite values are counted apart and kept out of the histogram,
the moments and the quartiles, which describe the finite values only.
"""

from __future__ import annotations

import math

import numpy as np

from .jsonsafe import finite_float, float_list, int_list

# The range is split into this many sub-bins per display bin; their counts locate the exact
# order statistics the quartiles need, so only a small sub-bin is partitioned per quartile
# instead of the whole column.
_SUB_BINS = 64
_QUARTILES = (0.25, 0.5, 0.75)


def missing_and_infinite(values: np.ndarray) -> tuple[int, int, np.ndarray | None]:
    """(missing, infinite, finite mask or None when every value is finite)."""
    finite = np.isfinite(values)
    n_finite = int(np.count_nonzero(finite))
    if n_finite == values.size:
        return 0, 0, None
    missing = int(np.count_nonzero(np.isnan(values)))
    return missing, values.size - n_finite - missing, finite


def summarize_numeric(values: np.ndarray, n_bins: int, integer_min_max: tuple | None = None) -> dict:
    """Summary of a float64 column (NaN = missing).

    `integer_min_max`, given for integer columns, reports min/max exactly as ints.
    Histogram: `n_bins` equal-width bins over [min, max] of the finite values, numpy.histogram
    semantics (half-open bins, the last one closed). A constant column gets one degenerate bin
    [v, v]; no finite value gives empty bins and counts and null summaries.
    Quartiles: exact, linear interpolation between order statistics (numpy's default method).
    std is the sample standard deviation (ddof=1), null below two finite values.
    """
    missing, infinite, finite_mask = missing_and_infinite(values)
    finite = values if finite_mask is None else values[finite_mask]
    result = {
        "type": "numeric",
        "count": int(values.size - missing),
        "missing": missing,
        "infinite": infinite,
    }
    n = finite.size
    if n == 0:
        result.update(bins=[], counts=[], mean=None, std=None, min=None, max=None, quartiles=None)
        return result
    low, high = float(finite.min()), float(finite.max())
    mean, std = _mean_and_std(finite, max(abs(low), abs(high)))
    if low == high:
        bins, counts, quartiles = [low, high], [n], [low, low, low]
    else:
        bins, counts, quartiles = _histogram_and_quartiles(finite, low, high, n_bins)
    if integer_min_max is not None:
        low, high = integer_min_max
    result.update(
        bins=bins, counts=counts, mean=mean, std=std,
        min=low, max=high, quartiles=quartiles,
    )
    return result


def _mean_and_std(finite: np.ndarray, magnitude: float) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1); values near the float64 limit are scaled down first so the
    sums do not overflow."""
    scale = magnitude if magnitude > 1e150 else 1.0
    values = finite / scale if scale != 1.0 else finite
    mean = float(values.mean())
    std = None
    if values.size > 1:
        deviations = values - mean
        std = math.sqrt(float(np.dot(deviations, deviations)) / (values.size - 1)) * scale
    return finite_float(mean * scale), finite_float(std)


def display_edges(low: float, high: float, n_bins: int) -> np.ndarray:
    """The histogram edges numpy.histogram uses; computed on halves when max - min overflows."""
    if math.isfinite(high - low):
        return np.linspace(low, high, n_bins + 1)
    edges = np.linspace(low / 2, high / 2, n_bins + 1) * 2
    edges[0], edges[-1] = low, high
    return edges


def _histogram_and_quartiles(finite: np.ndarray, low: float, high: float, n_bins: int):
    edges = display_edges(low, high, n_bins)
    np.maximum.accumulate(edges, out=edges)  # a no-op unless rounding met subnormal widths
    bucket_of = _monotone_buckets(low, high, n_bins * _SUB_BINS)
    sub_index = bucket_of(finite)
    sub_counts = np.bincount(sub_index, minlength=n_bins * _SUB_BINS)
    counts = _counts_between_edges(finite, sub_index, sub_counts, bucket_of, edges)
    quartiles = _exact_quantiles(finite, sub_index, sub_counts, _QUARTILES)
    return float_list(edges), int_list(counts), quartiles


def _monotone_buckets(low: float, high: float, n_buckets: int):
    """A function giving each value a bucket number that never decreases as the value grows.

    floor((v - low) * scale) is monotone in v under rounding, so buckets can locate order
    statistics and split values around any edge exactly (see _counts_between_edges). When
    max - min overflows the values are halved first.
    """
    halve = not math.isfinite(high - low)
    scale = n_buckets / ((high / 2 - low / 2) if halve else (high - low))
    if not math.isfinite(scale):  # a range of a few subnormals: two buckets are still monotone
        return lambda values: (values > low).astype(np.intp) * (n_buckets - 1)

    def bucket_of(values: np.ndarray) -> np.ndarray:
        shifted = (values / 2 - low / 2) if halve else (values - low)
        shifted *= scale
        index = shifted.astype(np.intp)
        np.minimum(index, n_buckets - 1, out=index)
        return index

    return bucket_of


def _counts_between_edges(finite, sub_index, sub_counts, bucket_of, edges) -> np.ndarray:
    """Histogram counts with numpy.histogram's semantics: edges[i] <= v < edges[i+1], the last
    bin closed. Buckets are monotone, so only values in the bucket an edge falls into need to be
    compared with that edge."""
    inner = edges[1:-1]
    edge_buckets = bucket_of(inner.copy())
    on_edge_bucket = np.zeros(sub_counts.size, dtype=bool)
    on_edge_bucket[edge_buckets] = True
    near = on_edge_bucket[sub_index]
    near_values, near_buckets = finite[near], sub_index[near]
    above_bucket = np.concatenate([np.cumsum(sub_counts[::-1])[::-1][1:], [0]])  # values in later buckets
    at_least = np.empty(edges.size, dtype=np.int64)  # at_least[i] = count of v >= edges[i]
    at_least[0], at_least[-1] = finite.size, 0
    for i, (edge, bucket) in enumerate(zip(inner, edge_buckets), start=1):
        in_bucket = near_values[near_buckets == bucket]
        at_least[i] = above_bucket[bucket] + int(np.count_nonzero(in_bucket >= edge))
    return at_least[:-1] - at_least[1:]


def _exact_quantiles(finite, sub_index, sub_counts, probabilities) -> list[float]:
    n = finite.size
    cumulative = np.cumsum(sub_counts)
    needed = sorted({r for p in probabilities for r in _ranks(p, n)})
    by_sub_bin: dict[int, list[int]] = {}
    for rank in needed:
        by_sub_bin.setdefault(int(np.searchsorted(cumulative, rank, side="right")), []).append(rank)
    order_statistic = {}
    for sub_bin, ranks in by_sub_bin.items():
        before = int(cumulative[sub_bin - 1]) if sub_bin else 0
        members = finite[sub_index == sub_bin]
        local = [rank - before for rank in ranks]
        members.partition(local)
        for rank, position in zip(ranks, local):
            order_statistic[rank] = float(members[position])
    result = []
    for p in probabilities:
        below, above = _ranks(p, n)
        fraction = p * (n - 1) - below
        result.append(finite_float(_lerp(order_statistic[below], order_statistic[above], fraction)))
    return result


def _ranks(probability: float, n: int) -> tuple[int, int]:
    position = probability * (n - 1)
    below = int(math.floor(position))
    return below, min(below + 1, n - 1)


def _lerp(a: float, b: float, t: float) -> float:
    # The same two-sided form numpy uses, so results agree with numpy.percentile to the last bit
    # in most cases and stay inside [a, b].
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t
