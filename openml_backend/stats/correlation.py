"""Pairwise-complete Pearson correlation of many numeric columns at once.

Each pair (i, j) uses only the rows where both values are finite (NaN, null and +-inf count as
missing here). All pairs come from four matrix products over row blocks, with values shifted by
a column centre and zero-filled where missing, and a 0/1 presence mask M:
n = M'M, sum_x = X'M, sum_x2 = (X*X)'M, sum_xy = X'X. Columns are converted block by block, so
memory stays O(block * features) on top of the arrow table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from .columns import to_float64
from .jsonsafe import finite_float

_BLOCK_ROWS = 1 << 15
# A pairwise variance at or below this share of its sum of squares is indistinguishable from
# zero in float64 after the subtraction; such a pair is reported as undefined (null).
_RELATIVE_ZERO_VARIANCE = 1e-10


def pearson_pairwise(columns: Sequence[pa.ChunkedArray]) -> list[list[float | None]]:
    """Matrix of Pearson r for every pair of equally long numeric arrow columns; null where
    undefined (fewer than two common rows, or a constant column over the common rows). Diagonal:
    1.0 when the column varies, else null."""
    p = len(columns)
    n_rows = len(columns[0]) if p else 0
    # Pearson r does not depend on the shift; shifting by the mean of the first block's finite
    # values (a sample of the column mean) keeps the sums of squares well conditioned.
    centres = np.zeros(p)
    both = np.zeros((p, p))
    sums = np.zeros((p, p))
    squares = np.zeros((p, p))
    products = np.zeros((p, p))
    for start in range(0, n_rows, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n_rows)
        # column-major blocks: filling a column is a contiguous copy and BLAS takes X' directly
        block = np.empty((stop - start, p), order="F")
        for k, column in enumerate(columns):
            block[:, k] = to_float64(column.slice(start, stop - start))
        present = np.isfinite(block)
        if start == 0:
            centres = _first_block_centres(block, present)
        block -= centres
        block[~present] = 0.0
        mask = np.asfortranarray(present, dtype=np.float64)
        both += mask.T @ mask
        sums += block.T @ mask
        squares += np.square(block).T @ mask
        products += block.T @ block
    return _coefficients(both, sums, squares, products)


def _first_block_centres(block: np.ndarray, present: np.ndarray) -> np.ndarray:
    counts = present.sum(axis=0)
    totals = np.where(present, block, 0.0).sum(axis=0)
    return np.divide(totals, counts, out=np.zeros(block.shape[1]), where=counts > 0)


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
