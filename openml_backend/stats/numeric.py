"""Statistics of one numeric column: counts, moments, exact quartiles and a histogram.

Missing = null or NaN. Infinite values are counted apart and kept out of the histogram,
the moments and the quartiles, which describe the finite values only.
"""

from __future__ import annotations

import math

import numpy as np

from .jsonsafe import finite_float, float_list, int_list

# Each display bin is split into this many monotone buckets. Bucket counts locate the order
# statistics the quartiles need and the values next to each edge, so only those few values are
# compared or partitioned, never the whole column.
_SUB_BINS = 64
_QUARTILES = (0.25, 0.5, 0.75)
# Long columns are worked on in slices of this many values, so temporaries stay small.
_SLICE = 1 << 18


def missing_and_infinite(values: np.ndarray) -> tuple[int, int, np.ndarray | None]:
    """(missing, infinite, finite mask or None when every value is finite)."""
    finite = np.isfinite(values)
    n_finite = int(np.count_nonzero(finite))
    if n_finite == values.size:
        return 0, 0, None
    missing = int(np.count_nonzero(np.isnan(values)))
    return missing, values.size - n_finite - missing, finite


def summarize_numeric(values: np.ndarray, n_bins: int, integer_min_max: tuple | None = None,
                      detailed: bool = True) -> dict:
    """Summary of a float64 column (NaN = missing).

    `detailed=False` leaves out the histogram and the quartiles (the keys too).
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
        result.update(mean=None, std=None, min=None, max=None)
        if detailed:
            result.update(bins=[], counts=[], quartiles=None)
        return result
    low, high = float(finite.min()), float(finite.max())
    mean, std = _mean_and_std(finite, max(abs(low), abs(high)))
    if not detailed:
        if integer_min_max is not None:
            low, high = integer_min_max
        result.update(mean=mean, std=std, min=low, max=high)
        return result
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
        # in slices: the deviations of a long column are never all in memory at once
        squares = 0.0
        for start in range(0, values.size, _SLICE):
            deviations = values[start : start + _SLICE] - mean
            squares += float(np.dot(deviations, deviations))
        std = math.sqrt(squares / (values.size - 1)) * scale
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
    n_buckets = n_bins * _SUB_BINS
    bucket_of = _monotone_buckets(low, high, n_buckets)
    buckets = bucket_of(finite)
    bucket_counts = np.bincount(buckets, minlength=n_buckets)
    edge_buckets = bucket_of(edges[1:-1].copy())
    ranks = sorted({r for p in _QUARTILES for r in _ranks(p, finite.size)})
    cumulative = np.cumsum(bucket_counts)
    rank_buckets = np.searchsorted(cumulative, ranks, side="right")
    # one pass over the column gathers every value in a bucket that an edge or a quartile
    # falls into; everything after works on those few values
    wanted = np.zeros(n_buckets, dtype=bool)
    wanted[edge_buckets] = True
    wanted[rank_buckets] = True
    near = wanted[buckets]
    near_values, near_buckets = finite[near], buckets[near]

    def values_in(bucket: int) -> np.ndarray:
        return near_values[near_buckets == bucket]

    counts = _counts_between_edges(finite.size, bucket_counts, edges, edge_buckets, values_in)
    order_statistics = _order_statistics(ranks, rank_buckets, cumulative, values_in)
    quartiles = [_interpolated(p, finite.size, order_statistics) for p in _QUARTILES]
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
        return lambda values: (values > low).astype(np.int32) * (n_buckets - 1)

    def bucket_of(values: np.ndarray) -> np.ndarray:
        index = np.empty(values.size, dtype=np.int32)
        for start in range(0, values.size, _SLICE):  # slices: no float64 temporary of the column
            part = values[start : start + _SLICE]
            shifted = (part / 2 - low / 2) if halve else (part - low)
            shifted *= scale
            index[start : start + _SLICE] = shifted
        np.minimum(index, n_buckets - 1, out=index)
        return index

    return bucket_of


def _counts_between_edges(n, bucket_counts, edges, edge_buckets, values_in) -> np.ndarray:
    """Histogram counts with numpy.histogram's semantics: edges[i] <= v < edges[i+1], the last
    bin closed. Buckets are monotone, so a value in a later bucket than an edge's is above the
    edge, one in an earlier bucket below it; only the edge's own bucket needs comparisons."""
    in_later_buckets = np.concatenate([np.cumsum(bucket_counts[::-1])[::-1][1:], [0]])
    at_least = np.empty(edges.size, dtype=np.int64)  # at_least[i] = count of v >= edges[i]
    at_least[0], at_least[-1] = n, 0
    for i, (edge, bucket) in enumerate(zip(edges[1:-1], edge_buckets), start=1):
        at_least[i] = in_later_buckets[bucket] + int(np.count_nonzero(values_in(bucket) >= edge))
    return at_least[:-1] - at_least[1:]


def _order_statistics(ranks, rank_buckets, cumulative, values_in) -> dict[int, float]:
    """The k-th smallest finite value for each k in `ranks`, found inside its bucket."""
    by_bucket: dict[int, list[int]] = {}
    for rank, bucket in zip(ranks, rank_buckets.tolist()):
        by_bucket.setdefault(bucket, []).append(rank)
    result = {}
    for bucket, bucket_ranks in by_bucket.items():
        before = int(cumulative[bucket - 1]) if bucket else 0
        members = values_in(bucket)
        local = [rank - before for rank in bucket_ranks]
        members.partition(local)
        for rank, position in zip(bucket_ranks, local):
            result[rank] = float(members[position])
    return result


def _interpolated(probability: float, n: int, order_statistics: dict[int, float]) -> float | None:
    below, above = _ranks(probability, n)
    fraction = probability * (n - 1) - below
    return finite_float(_lerp(order_statistics[below], order_statistics[above], fraction))


def _ranks(probability: float, n: int) -> tuple[int, int]:
    position = probability * (n - 1)
    below = int(math.floor(position))
    return below, min(below + 1, n - 1)


def _lerp(a: float, b: float, t: float) -> float:
    # The same two-sided form numpy uses, so results agree with numpy.percentile to the last bit
    # in most cases and stay inside [a, b].
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t
