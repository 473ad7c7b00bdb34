"""Statistics of one numeric column: counts, moments, exact quartiles and a histogram.

Missing = null or NaN. Infinite values are counted apart and kept out of the histogram,
the moments and the quartiles, which describe the finite values only.
"""

from __future__ import annotations

import math

import numpy as np

from .jsonsafe import finite_float, float_list, int_list

# Each display bin is split into this many sub-bins; the sub-bin counts locate the exact order
# statistics needed for the quartiles, so only one small sub-bin is partitioned per quartile
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
    mean = float(finite.mean())
    std = math.sqrt(float(np.dot(finite - mean, finite - mean)) / (n - 1)) if n > 1 else None
    if low == high:
        bins, counts, quartiles = [low, high], [n], [low, low, low]
    else:
        bins, counts, quartiles = _histogram_and_quartiles(finite, low, high, n_bins)
    if integer_min_max is not None:
        low, high = integer_min_max
    result.update(
        bins=bins, counts=counts, mean=finite_float(mean), std=finite_float(std),
        min=low, max=high, quartiles=quartiles,
    )
    return result


def display_edges(low: float, high: float, n_bins: int) -> np.ndarray:
    """The histogram edges numpy.histogram would use; halves first when max - min overflows."""
    if math.isfinite(high - low):
        return np.linspace(low, high, n_bins + 1)
    edges = np.linspace(low / 2, high / 2, n_bins + 1) * 2
    edges[0], edges[-1] = low, high
    return edges


def _histogram_and_quartiles(finite: np.ndarray, low: float, high: float, n_bins: int):
    edges = display_edges(low, high, n_bins)
    widths = np.diff(edges)
    sub_edges = (edges[:-1, None] + widths[:, None] * (np.arange(_SUB_BINS) / _SUB_BINS)).ravel()
    sub_edges = np.append(sub_edges, high)
    # Rounding can only make neighbouring sub-edges equal, never reversed, but keep it guaranteed.
    np.maximum.accumulate(sub_edges, out=sub_edges)
    sub_index = bin_indices(finite, sub_edges)
    sub_counts = np.bincount(sub_index, minlength=sub_edges.size - 1)
    counts = sub_counts.reshape(n_bins, _SUB_BINS).sum(axis=1)
    quartiles = _exact_quantiles(finite, sub_index, sub_counts, _QUARTILES)
    return float_list(edges), int_list(counts), quartiles


def bin_indices(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index i of the bin with edges[i] <= v < edges[i+1] for each value (last bin closed).

    `edges` must be non-decreasing and span every value. An arithmetic estimate is corrected
    with comparisons against the edges, so the result follows the edges exactly.
    """
    n_bins = edges.size - 1
    span = float(edges[-1] - edges[0])
    if not math.isfinite(span) or span <= 0:
        return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
    index = ((values - edges[0]) * (n_bins / span)).astype(np.intp)
    np.clip(index, 0, n_bins - 1, out=index)
    wrong = np.flatnonzero((values < edges[index]) | (values >= edges[index + 1]))
    if wrong.size:
        stray = values[wrong]
        fixed = np.searchsorted(edges, stray, side="right") - 1
        index[wrong] = np.clip(fixed, 0, n_bins - 1)
    return index


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
