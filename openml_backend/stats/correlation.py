"""Pairwise-complete Pearson correlation of many numeric columns at once.

Each pair (i, j) uses only the rows where both values are finite (NaN, null and +-inf count as
missing here). All pairs come from four matrix products over row blocks, with values centred on
their column mean and zero-filled where missing, and a 0/1 presence mask M:
n = M'M, sum_x = X'M, sum_x2 = (X*X)'M, sum_xy = X'X. Memory stays O(block * features).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .jsonsafe import finite_float

_BLOCK_ROWS = 1 << 15
# A pairwise variance at or below this share of its sum of squares is indistinguishable from
# zero in float64 after the subtraction; such a pair is reported as undefined (null).
_RELATIVE_ZERO_VARIANCE = 1e-10


def pearson_pairwise(columns: Sequence[np.ndarray]) -> list[list[float | None]]:
    """Matrix of Pearson r for every pair of equally long float64 columns; null where undefined
    (fewer than two common rows, or a constant column over the common rows). Diagonal: 1.0 when the
    column has a non-zero variance, else null."""
    p = len(columns)
    n_rows = columns[0].size if p else 0
    means = np.zeros(p)
    for k, values in enumerate(columns):
        finite = values[np.isfinite(values)]
        means[k] = finite.mean() if finite.size else 0.0
    both = np.zeros((p, p))
    sums = np.zeros((p, p))
    squares = np.zeros((p, p))
    products = np.zeros((p, p))
    for start in range(0, n_rows, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n_rows)
        # column-major blocks: filling a column is a contiguous copy and BLAS takes X' directly
        block = np.empty((stop - start, p), order="F")
        for k, values in enumerate(columns):
            np.subtract(values[start:stop], means[k], out=block[:, k])
        present = np.isfinite(block)
        block[~present] = 0.0
        mask = np.asfortranarray(present, dtype=np.float64)
        both += mask.T @ mask
        sums += block.T @ mask
        squares += np.square(block).T @ mask
        products += block.T @ block
    return _coefficients(both, sums, squares, products)


def _coefficients(both, sums, squares, products) -> list[list[float | None]]:
    p = both.shape[0]
    matrix: list[list[float | None]] = [[None] * p for _ in range(p)]
    for i in range(p):
        for j in range(i, p):
            r = _one_coefficient(both[i, j], sums[i, j], sums[j, i], squares[i, j], squares[j, i], products[i, j])
            matrix[i][j] = matrix[j][i] = r
    return matrix


def _one_coefficient(n, sum_x, sum_y, sum_x2, sum_y2, sum_xy) -> float | None:
    if n < 2:
        return None
    var_x = sum_x2 - sum_x * sum_x / n
    var_y = sum_y2 - sum_y * sum_y / n
    if var_x <= _RELATIVE_ZERO_VARIANCE * sum_x2 or var_y <= _RELATIVE_ZERO_VARIANCE * sum_y2:
        return None
    r = (sum_xy - sum_x * sum_y / n) / math.sqrt(var_x * var_y)
    return finite_float(min(1.0, max(-1.0, r)))
