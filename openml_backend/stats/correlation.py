"""Pairwise-complete Pearson correlation of many numeric columns, streamed over row blocks.

Each pair (i, j) uses only the rows where both values are finite (NaN, null and +-inf count as
missing here). `PairwiseCorrelation` keeps sufficient statistics only: for every pair the
common count n, the sums of x and y over the common rows, of x*x, y*y and x*y. Blocks of rows are
added one at a time, so memory is O(block * features) whatever the number of rows. All pairs come
from matrix products over each block, with values shifted, scaled and zero-filled where missing
(X) and a 0/1 presence mask (M): [X M]'[X M] gives n = M'M, sum_x = X'M, sum_xy = X'X at once;
sum_x2 = (X*X)'M.

Shift and scale. Pearson r does not depend on either, so each column is shifted by its centre
(the mean of its finite values) and scaled by powers of two (exact in floating point) until its
deviations lie within [-1, 1]: sums of squares neither overflow for huge magnitudes nor
underflow for tiny ones (columns of about 1e-94 once made var_x * var_y underflow to 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .jsonsafe import finite_float

# The products run on sub-blocks of _PRODUCT_ROWS rows, small enough to stay in cache (measured
# 176 ms against 250 ms of CPU for 32k-row products on 1M rows x 20 columns).
_PRODUCT_ROWS = 1 << 12
# A pairwise variance at or below this share of its sum of squares is indistinguishable from
# zero in float64 after the subtraction; such a pair is reported as undefined (null).
_RELATIVE_ZERO_VARIANCE = 1e-10


def _power_of_two_below(magnitude: float) -> float:
    """2**-e with magnitude * 2**-e in [0.5, 1) (subnormal magnitudes are scaled by at most
    2**1000, which leaves them far from overflow); 1.0 for 0 or a non-finite magnitude."""
    if not math.isfinite(magnitude) or magnitude == 0:
        return 1.0
    return math.ldexp(1.0, min(1000, -math.frexp(magnitude)[1]))


class PairwiseCorrelation:
    """Sufficient statistics of the pairwise-complete Pearson matrix of p columns.

    `centres`, `lows` and `highs` are each column's finite mean, min and max (None when it has
    no finite value); they only choose the shift and scale, never the result.
    """

    def __init__(self, centres: Sequence[float | None], lows: Sequence[float | None],
                 highs: Sequence[float | None]) -> None:
        p = len(centres)
        self.p = p
        self._centres = np.zeros(p)
        self._first_scale = np.ones(p)
        self._second_scale = np.ones(p)
        for k, (centre, low, high) in enumerate(zip(centres, lows, highs)):
            if centre is None or low is None or high is None:
                continue
            first = _power_of_two_below(max(abs(low), abs(high), abs(centre)))
            shifted = first * centre
            spread = max(abs(high * first - shifted), abs(low * first - shifted))
            self._centres[k] = shifted
            self._first_scale[k] = first
            self._second_scale[k] = _power_of_two_below(spread)
        self._gram = np.zeros((2 * p, 2 * p))
        self._squares = np.zeros((p, p))

    def add(self, columns: Sequence[pa.Array | pa.ChunkedArray], block_rows: int = 1 << 16) -> None:
        """Add rows: the p columns' values for the same rows, in column order, converted and
        multiplied `block_rows` rows at a time."""
        rows = len(columns[0]) if self.p else 0
        for start in range(0, rows, block_rows):
            self._add_block([column.slice(start, block_rows) for column in columns])

    def absorb(self, other: PairwiseCorrelation, mine: Sequence[int], rows_of: Sequence[int],
               cols_of: Sequence[int]) -> None:
        """Add `other`'s sums for the pairs (rows_of x cols_of) and (cols_of x rows_of) of its
        columns, where `mine[k]` is this accumulator's index of `other`'s column k (rows_of and
        cols_of are the same list, or disjoint)."""
        p, q = self.p, other.p
        orientations = ((rows_of, cols_of),) if rows_of is cols_of else ((rows_of, cols_of), (cols_of, rows_of))
        for first, second in orientations:
            here = np.ix_([mine[k] for k in first], [mine[k] for k in second])
            there = np.ix_(list(first), list(second))
            for offset_i, offset_j in ((0, 0), (0, 1), (1, 1)):
                block_here = self._gram[offset_i * p:, offset_j * p:][:p, :p]
                block_there = other._gram[offset_i * q:, offset_j * q:][:q, :q]
                block_here[here] += block_there[there]
            self._squares[here] += other._squares[there]

    def _add_block(self, columns: Sequence[pa.Array | pa.ChunkedArray]) -> None:
        p = self.p
        rows = len(columns[0]) if p else 0
        if rows == 0:
            return
        # column-major: filling a column is a contiguous copy, and BLAS takes the transposes as is
        both = np.empty((rows, 2 * p), order="F")
        values, mask = both[:, :p], both[:, p:]
        for k, column in enumerate(columns):
            values[:, k] = block_float64(column)
        present = np.isfinite(values)
        # (x * first - centre * first) * second: powers of two, so the only rounding is the
        # subtraction's, as in x - centre
        values *= self._first_scale
        values -= self._centres
        values *= self._second_scale
        values[~present] = 0.0
        mask[...] = present
        for sub in range(0, rows, _PRODUCT_ROWS):
            part = both[sub : sub + _PRODUCT_ROWS]
            self._gram += part.T @ part
            self._squares += np.square(part[:, :p]).T @ part[:, p:]

    def matrix(self) -> list[list[float | None]]:
        """Pearson r for every pair; null where undefined (fewer than two common rows, or a
        constant column over the common rows). Diagonal: 1.0 when the column varies, else null."""
        p = self.p
        products, sums, counts = self._gram[:p, :p], self._gram[:p, p:], self._gram[p:, p:]
        squares = self._squares
        matrix: list[list[float | None]] = [[None] * p for _ in range(p)]
        for i in range(p):
            for j in range(i, p):
                r = _one_coefficient(counts[i, j], sums[i, j], sums[j, i], squares[i, j], squares[j, i],
                                     products[i, j])
                matrix[i][j] = matrix[j][i] = r
        return matrix


def block_float64(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Values of a block as float64 (nulls as NaN); unsafe casts, as in columns.to_float64."""
    if column.type != pa.float64():
        column = pc.cast(column, pa.float64(), safe=False)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column.to_numpy(zero_copy_only=False)


def pearson_pairwise(columns: Sequence[pa.ChunkedArray], block_rows: int = 1 << 16) -> list[list[float | None]]:
    """The matrix of `PairwiseCorrelation` over equally long in-memory columns."""
    centres, lows, highs = [], [], []
    for column in columns:
        values = block_float64(column)
        finite = values[np.isfinite(values)]
        centres.append(float(finite.mean()) if finite.size else None)
        lows.append(float(finite.min()) if finite.size else None)
        highs.append(float(finite.max()) if finite.size else None)
    correlation = PairwiseCorrelation(centres, lows, highs)
    n_rows = len(columns[0]) if columns else 0
    for start in range(0, n_rows, block_rows):
        correlation.add([column.slice(start, block_rows) for column in columns])
    return correlation.matrix()


def _one_coefficient(n, sum_x, sum_y, sum_x2, sum_y2, sum_xy) -> float | None:
    if n < 2:
        return None
    var_x = sum_x2 - sum_x * sum_x / n
    var_y = sum_y2 - sum_y * sum_y / n
    if var_x <= _RELATIVE_ZERO_VARIANCE * sum_x2 or var_y <= _RELATIVE_ZERO_VARIANCE * sum_y2:
        return None
    # square roots first: their product cannot underflow where var_x * var_y could
    r = (sum_xy - sum_x * sum_y / n) / (math.sqrt(var_x) * math.sqrt(var_y))
    return finite_float(min(1.0, max(-1.0, r)))
