"""Tell CSV, ARFF and Parquet apart by content, never by file name."""

from __future__ import annotations

from pathlib import Path

from .problems import InvalidFile, UnsupportedFormat

CSV, ARFF, PARQUET = "csv", "arff", "parquet"
FORMATS = (CSV, ARFF, PARQUET)
PARQUET_MAGIC = b"PAR1"
SNIFF_BYTES = 64 * 1024


def sniff(path: Path) -> str:
    """The format of the file at `path`: PARQUET when it starts with Parquet's magic bytes,
    ARFF when its first line that is neither blank nor a `%` comment is `@relation`, CSV for
    other UTF-8 text. Raise InvalidFile for an empty file, UnsupportedFormat for binary data."""
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
    if not head.strip():
        raise InvalidFile("The file is empty.")
    if head.startswith(PARQUET_MAGIC):
        return PARQUET
    if b"\x00" in head or not _is_utf8_prefix(head):
        raise UnsupportedFormat("The file is neither CSV, ARFF nor Parquet (it is binary and not Parquet).")
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        return ARFF if stripped.lower().startswith("@relation") else CSV
    return CSV  # only comments in the first block: a CSV check will say what is wrong


def _is_utf8_prefix(data: bytes) -> bool:
    # The cut at SNIFF_BYTES may split a character: allow up to 3 trailing bytes to be partial.
    for trim in range(4):
        try:
            data[: len(data) - trim].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False
