"""Check an uploaded data file with bounded memory, and say where it is wrong.

CSV is read in blocks by pyarrow's streaming reader (every column as text: the structure is
checked here, the types are OpenML's business); ARFF by a small line-by-line parser; Parquet
only through its footer metadata. No check holds more than about one block or one line.
The limits (MAX_COLUMNS, MAX_LINE_BYTES) refuse files built to exhaust memory, such as a
header of a million columns.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .formats import ARFF, CSV, PARQUET
from .problems import FileLimitExceeded, InvalidFile, InvalidMetadata

MAX_COLUMNS = 10_000
MAX_LINE_BYTES = 1024 * 1024  # one CSV record or ARFF line, and the CSV reader's block
CSV_BLOCK_BYTES = MAX_LINE_BYTES


@dataclass(frozen=True)
class Inspection:
    """What the checks learnt about a valid file."""

    format: str
    columns: list[str]
    rows: int


def inspect(path: Path, file_format: str) -> Inspection:
    """Check the file at `path` as `file_format` (formats.sniff); return its columns and row
    count, or raise InvalidFile / FileLimitExceeded naming the line or column at fault."""
    if file_format == CSV:
        return check_csv(path)
    if file_format == ARFF:
        return check_arff(path)
    if file_format == PARQUET:
        return check_parquet(path)
    raise ValueError(f"unknown format {file_format!r}")


def require_columns(fields: dict[str, Iterable[str]], columns: Iterable[str]) -> None:
    """Raise InvalidMetadata for the first name in `fields` (metadata field -> column names)
    that is not one of `columns`."""
    known = set(columns)
    for field, names in fields.items():
        for name in names:
            if name not in known:
                raise InvalidMetadata(f"metadata.{field}: the file has no column named {name!r}.", column=name)


# CSV


def check_csv(path: Path) -> Inspection:
    """A header of unique, non-empty names, at most MAX_COLUMNS, then at least one row, every
    row with as many fields as the header."""
    header = _csv_header(path)
    invalid: list[pa_csv.InvalidRow] = []

    def refuse_row(row: pa_csv.InvalidRow) -> str:
        invalid.append(row)
        return "error"

    rows = 0
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=refuse_row),
            convert_options=pa_csv.ConvertOptions(column_types={name: pa.string() for name in header},
                                                  strings_can_be_null=False),
        )
        for batch in reader:
            rows += batch.num_rows
    except (pa.ArrowInvalid, OSError) as error:
        if invalid:
            row = invalid[0]
            line = _line_of_record(path, row.number) if row.number is not None else None
            where = f"line {line}: " if line else ""
            raise InvalidFile(f"{where}expected {row.expected_columns} fields, got {row.actual_columns}.",
                              line=line) from None
        raise InvalidFile(f"The CSV cannot be read: {_arrow_reason(error)}") from None
    if rows == 0:
        raise InvalidFile("The CSV has a header but no data rows.", line=2)
    return Inspection(CSV, header, rows)


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as file:
        head = file.read(MAX_LINE_BYTES + 1)
    end = head.find(b"\n")
    if end < 0 and len(head) > MAX_LINE_BYTES:
        if head.count(b",") >= MAX_COLUMNS:
            raise FileLimitExceeded(f"line 1: the header has more than {MAX_COLUMNS} columns, the limit.", line=1)
        raise FileLimitExceeded(f"line 1: the header is longer than {MAX_LINE_BYTES} bytes, the limit.", line=1)
    line = head if end < 0 else head[:end]
    try:
        text = line.decode("utf-8").lstrip("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        raise InvalidFile("line 1: the header is not UTF-8 text.", line=1) from None
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as error:
        raise InvalidFile(f"line 1: {error}.", line=1) from None
    if len(names) > MAX_COLUMNS:
        raise FileLimitExceeded(f"line 1: the header has {len(names)} columns; at most {MAX_COLUMNS} are accepted.",
                                line=1)
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise InvalidFile(f"line 1: column {position} has no name.", line=1, column=str(position))
        if name in seen:
            raise InvalidFile(f"line 1: the column name {name!r} appears twice.", line=1, column=name)
        seen.add(name)
    return names


def _line_of_record(path: Path, record_number: int) -> int | None:
    """The line where the `record_number`-th non-empty CSV record (the header is 1) starts,
    counted as pyarrow counts records; None when the file cannot be walked that far."""
    csv.field_size_limit(MAX_LINE_BYTES)
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as file:
            reader = csv.reader(file)
            count = 0
            while True:
                start = reader.line_num + 1
                record = next(reader, None)
                if record is None:
                    return None
                if record:
                    count += 1
                    if count == record_number:
                        return start
    except csv.Error:
        return None


def _arrow_reason(error: Exception) -> str:
    # pyarrow prefixes messages with its C++ source location on some builds; keep the sentence
    return str(error).splitlines()[0][:300]


# ARFF

_ATTRIBUTE = re.compile(r"""@attribute\s+('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s{]+)\s*(.*)$""", re.IGNORECASE)
_SIMPLE_TYPES = ("numeric", "real", "integer", "string")


def check_arff(path: Path) -> Inspection:
    """An ARFF header (`@relation`, one or more `@attribute name type`, `@data`) then data rows,
    dense with one value per attribute or sparse `{index value, ...}` with indices in range."""
    columns: list[str] = []
    relation_seen = False
    lines = _lines(path)
    for number, line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        keyword = stripped.split(None, 1)[0].lower()
        if not relation_seen:
            if keyword != "@relation" or len(stripped.split(None, 1)) < 2:
                raise InvalidFile(f"line {number}: expected '@relation <name>' first.", line=number)
            relation_seen = True
        elif keyword == "@attribute":
            columns.append(_attribute_name(stripped, number))
            if len(columns) > MAX_COLUMNS:
                raise FileLimitExceeded(f"line {number}: more than {MAX_COLUMNS} attributes, the limit.", line=number)
        elif keyword == "@data":
            if not columns:
                raise InvalidFile(f"line {number}: @data before any @attribute.", line=number)
            rows = _check_arff_rows(lines, len(columns))
            if rows == 0:
                raise InvalidFile("The ARFF file has no data rows after @data.", line=number + 1)
            return Inspection(ARFF, columns, rows)
        else:
            raise InvalidFile(f"line {number}: expected @attribute or @data, found {stripped[:40]!r}.", line=number)
    raise InvalidFile("The ARFF header has no @data line.")


def _attribute_name(line: str, number: int) -> str:
    match = _ATTRIBUTE.match(line)
    if not match or not match.group(2).strip():
        raise InvalidFile(f"line {number}: expected '@attribute <name> <type>'.", line=number)
    name, kind = match.group(1), match.group(2).strip()
    if name[0] in "'\"":
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    lowered = kind.lower()
    if lowered in _SIMPLE_TYPES or lowered.split(None, 1)[0] == "date":
        return name
    if kind.startswith("{"):
        if not kind.endswith("}"):
            raise InvalidFile(f"line {number}: the nominal values of {name!r} do not end with '}}'.", line=number)
        return name
    raise InvalidFile(f"line {number}: unknown type {kind[:40]!r} for attribute {name!r}.", line=number, column=name)


def _check_arff_rows(lines: Iterator[tuple[int, str]], width: int) -> int:
    rows = 0
    for number, line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        if stripped.startswith("{"):
            _check_sparse_row(stripped, width, number)
        else:
            fields = _split_arff_row(stripped, number)
            if len(fields) != width:
                raise InvalidFile(f"line {number}: expected {width} fields, got {len(fields)}.", line=number)
        rows += 1
    return rows


def _check_sparse_row(row: str, width: int, number: int) -> None:
    if not row.endswith("}"):
        raise InvalidFile(f"line {number}: a sparse row must end with '}}'.", line=number)
    for pair in _split_arff_row(row[1:-1], number):
        if not pair.strip():
            continue
        index = pair.strip().split(None, 1)[0]
        if not index.isdigit() or int(index) >= width:
            raise InvalidFile(f"line {number}: sparse index {index!r} is not an attribute index below {width}.",
                              line=number)


def _split_arff_row(row: str, number: int) -> list[str]:
    """Split on commas outside single or double quotes (backslash escapes inside quotes)."""
    fields, current, quote, escaped = [], [], None, False
    for char in row:
        if escaped:
            current.append(char)
            escaped = False
        elif quote:
            if char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            current.append(char)
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == ",":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    if quote:
        raise InvalidFile(f"line {number}: a quoted value is not closed.", line=number)
    fields.append("".join(current))
    return fields


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, refusing one over MAX_LINE_BYTES or not UTF-8."""
    with path.open("rb") as file:
        number = 0
        while True:
            raw = file.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise FileLimitExceeded(f"line {number}: longer than {MAX_LINE_BYTES} bytes, the limit.", line=number)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidFile(f"line {number}: not UTF-8 text.", line=number) from None
            yield number, text.lstrip("\ufeff") if number == 1 else text


# Parquet


def check_parquet(path: Path) -> Inspection:
    """A readable Parquet footer with at most MAX_COLUMNS columns and at least one row."""
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        rows = parquet.metadata.num_rows
    except (pa.ArrowException, OSError) as error:
        raise InvalidFile(f"The file starts like Parquet but is not a valid Parquet file: {_arrow_reason(error)}") \
            from None
    finally:
        if "parquet" in locals():
            parquet.close()
    if len(schema.names) > MAX_COLUMNS:
        raise FileLimitExceeded(f"The Parquet file has {len(schema.names)} columns; at most {MAX_COLUMNS} are accepted.")
    if rows == 0:
        raise InvalidFile("The Parquet file has no rows.")
    return Inspection(PARQUET, list(schema.names), rows)
