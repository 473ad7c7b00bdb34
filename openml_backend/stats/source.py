"""Where the engine reads a dataset from: an in-memory table, a parquet file or an Arrow IPC file.

A source hands out one column at a time (`column`), row-aligned batches of a few columns
(`batches`) and the first rows (`head`), so the engine never needs the whole table at once.
Files are opened when the source is made: the data stays readable even if its cache folder is
removed afterwards (an open parquet file and a memory map both keep the file alive).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa


class TableSource:
    """An in-memory pyarrow.Table as a source (what `compute_statistics(table)` reads)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema

    @property
    def num_rows(self) -> int:
        return self._table.num_rows

    def column(self, index: int) -> pa.ChunkedArray:
        """Every value of column `index`."""
        return self._table.column(index)

    def column_bytes(self, index: int) -> int:
        """Bytes column `index` takes once read (an estimate for files, see `estimated_bytes`)."""
        return self._table.column(index).nbytes

    def batches(self, indices: list[int], rows: int) -> Iterator[list[pa.Array]]:
        """Columns `indices`, `rows` rows at a time, aligned (the last batch may be shorter)."""
        for batch in self._table.select(indices).to_batches(max_chunksize=max(1, rows)):
            yield list(batch.columns)

    def groups(self, indices: list[int]) -> Iterator[list[pa.ChunkedArray]]:
        """Columns `indices`, row-aligned, in the file's own row groups (here: all rows at once,
        without a copy)."""
        yield [self._table.column(k) for k in indices]

    def largest_group_rows(self) -> int:
        """Rows of the largest group `groups` reads into memory (0: nothing is read, all is there)."""
        return 0

    def row_groups(self) -> list[int]:
        """Rows of each of the file's row groups, in order."""
        return [self.num_rows]

    def column_part(self, index: int, group: int) -> pa.ChunkedArray:
        """Column `index` within row group `group` (one row group is the smallest unit read)."""
        return self.column(index)

    def head(self, rows: int, columns: int) -> pa.Table:
        """The first `rows` rows of the first `columns` columns."""
        return self._table.select(range(min(columns, self._table.num_columns))).slice(0, rows)

    def read_all(self) -> pa.Table:
        return self._table


class ParquetSource(TableSource):
    """A parquet file, read one column (every row group) or one row batch at a time."""

    def __init__(self, path: str | Path) -> None:
        import pyarrow.parquet as pq

        # without pre-buffering, a column read holds its pages one at a time (measured 17 MiB
        # against 27 MiB over 29 columns of 200k rows)
        self._file = pq.ParquetFile(path, pre_buffer=False)
        self._schema = self._file.schema_arrow
        self._metadata = self._file.metadata

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def num_rows(self) -> int:
        return self._metadata.num_rows

    def column(self, index: int) -> pa.ChunkedArray:
        return self._file.read(columns=[self._schema.names[index]], use_threads=False).column(0)

    def column_bytes(self, index: int) -> int:
        stored = 0
        path = self._schema.names[index]
        for group in range(self._metadata.num_row_groups):
            row_group = self._metadata.row_group(group)
            for k in range(row_group.num_columns):
                chunk = row_group.column(k)
                if chunk.path_in_schema == path or chunk.path_in_schema.startswith(path + "."):
                    stored += chunk.total_uncompressed_size
        return estimated_bytes(self._schema.field(index).type, self.num_rows, stored)

    def batches(self, indices: list[int], rows: int) -> Iterator[list[pa.Array]]:
        names = [self._schema.names[k] for k in indices]
        for batch in self._file.iter_batches(batch_size=max(1, rows), columns=names, use_threads=False):
            yield list(batch.columns)

    def groups(self, indices: list[int]) -> Iterator[list[pa.ChunkedArray]]:
        # a row group is the smallest unit pyarrow decodes: iter_batches holds one anyway
        names = [self._schema.names[k] for k in indices]
        for group in range(self._metadata.num_row_groups):
            yield list(self._file.read_row_group(group, columns=names, use_threads=False).columns)

    def largest_group_rows(self) -> int:
        return max(self.row_groups(), default=0)

    def row_groups(self) -> list[int]:
        return [self._metadata.row_group(g).num_rows for g in range(self._metadata.num_row_groups)]

    def column_part(self, index: int, group: int) -> pa.ChunkedArray:
        return self._file.read_row_group(group, columns=[self._schema.names[index]], use_threads=False).column(0)

    def head(self, rows: int, columns: int) -> pa.Table:
        names = self._schema.names[:columns]
        if rows <= 0 or self.num_rows == 0 or not names:
            return self._schema.empty_table().select(names)
        # a column at a time: pyarrow decodes a whole row group of the columns it is asked for
        heads = []
        for name in names:
            batch = next(self._file.iter_batches(batch_size=rows, columns=[name], use_threads=False))
            heads.append(batch.column(0).slice(0, rows))
        return pa.Table.from_arrays(heads, schema=pa.schema([self._schema.field(k) for k in range(len(names))]))

    def read_all(self) -> pa.Table:
        return self._file.read()


class IpcSource(TableSource):
    """An Arrow IPC (feather v2, uncompressed) file, memory-mapped: columns are zero-copy views,
    so a column costs only the pages it touches."""

    def __init__(self, path: str | Path) -> None:
        self._map = pa.memory_map(str(path))
        super().__init__(pa.ipc.open_file(self._map).read_all())

    def read_all(self) -> pa.Table:
        return self._table


def open_table_file(path: str | Path, file_format: str) -> TableSource:
    """A source over a dataset file: "parquet", or "arff" (the Arrow IPC file made from an ARFF)."""
    if file_format == "parquet":
        return ParquetSource(path)
    return IpcSource(path)


def estimated_bytes(arrow_type: pa.DataType, rows: int, stored: int = 0) -> int:
    """Bytes a column of `rows` values of `arrow_type` takes in memory, given `stored` bytes of
    uncompressed parquet data: exact for fixed-width types (values and validity bits), else the
    offsets plus the stored size (text is stored about as long as it is held)."""
    validity = (rows + 7) // 8
    if pa.types.is_dictionary(arrow_type):
        return rows * arrow_type.index_type.bit_width // 8 + validity + stored
    if pa.types.is_boolean(arrow_type):
        return 2 * validity
    try:
        width = arrow_type.bit_width // 8
    except ValueError:  # variable width: strings, binary, nested
        return rows * 8 + validity + stored
    return rows * max(1, width) + validity
