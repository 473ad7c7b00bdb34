"""The memory budget of one statistics computation, and the error of a dataset that cannot fit it.

The engine holds at most a few columns at a time (see engine.py), so its peak memory is about
the largest column times a working factor, whatever the number of rows or columns. A dataset
whose single column would not fit in the budget, or with more cells than `max_cells`, is
refused before anything large is read: `DatasetTooLarge`.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
# Bytes the engine works with per byte of an 8-byte numeric column: its float64 copy, the
# finite values, the histogram's bucket numbers and masks, and pyarrow's buffers for decoding
# one row group (measured peak 4.3x for 4M rows in 1M-row groups), rounded up.
WORKING_FACTOR = 5
# A text column's counting (hash table, rendered strings) costs about twice the column.
TEXT_WORKING_FACTOR = 2


@dataclass(frozen=True)
class MemoryBudget:
    """How much memory one computation may use, and how many cells it may read at all."""

    budget_bytes: int = 512 * MIB
    max_cells: int = 2_000_000_000

    def __post_init__(self):
        if self.budget_bytes < MIB or self.max_cells < 1:
            raise ValueError("MemoryBudget needs at least 1 MiB and 1 cell")


class DatasetTooLarge(Exception):
    """The dataset cannot be summarised within the budget.

    `limit_name` is "cells" (rows x columns against `max_cells`) or "memory_bytes" (one column's
    working memory against the budget); `limit` and `size` are in those units, `feature` names
    the column when one column is the reason.
    """

    def __init__(self, limit_name: str, limit: int, size: int, feature: str | None = None) -> None:
        self.limit_name = limit_name
        self.limit = int(limit)
        self.size = int(size)
        self.feature = feature
        if limit_name == "cells":
            message = f"The dataset has {self.size} cells; statistics are computed for at most {self.limit}."
        else:
            message = (f"Feature {feature!r} needs about {self.size // MIB} MiB to summarise; the memory "
                       f"budget of a computation is {self.limit // MIB} MiB.")
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict:
        """The limit and the dataset's size, JSON-safe, for the error body."""
        body = {"limit_name": self.limit_name, "limit": self.limit, "size": self.size}
        if self.feature is not None:
            body["feature"] = self.feature
        return body
