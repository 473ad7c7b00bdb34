"""Receive an uploaded file onto disk with a byte limit, never whole in memory.

`UploadDirectory` is one upload's private directory, removed with everything in it when the
`with` block ends, however it ends. `LimitedFile` is a file in it that refuses to grow past
the limit, so a body that lies about its length (or sends none) is stopped while streaming.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from .problems import UploadTooLarge

COPY_CHUNK_BYTES = 64 * 1024


def check_declared_length(content_length: int | None, limit_bytes: int) -> None:
    """Refuse, before reading anything, a body whose declared length is over `limit_bytes`."""
    if content_length is not None and content_length > limit_bytes:
        raise UploadTooLarge(limit_bytes)


class UploadDirectory:
    """A fresh directory under `parent` for one upload; `with` removes it and its files."""

    def __init__(self, parent: str | Path) -> None:
        Path(parent).mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="upload-", dir=parent))

    def __enter__(self) -> "UploadDirectory":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Delete the directory and whatever is in it (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)


class LimitedFile:
    """A binary file opened for writing that raises `UploadTooLarge` once more than
    `limit_bytes` are written to it (the bytes over the limit are never written)."""

    def __init__(self, path: Path, limit_bytes: int) -> None:
        self.path = path
        self.limit_bytes = limit_bytes
        self.written = 0
        self._file: BinaryIO = path.open("w+b")

    def write(self, data: bytes) -> int:
        if self.written + len(data) > self.limit_bytes:
            raise UploadTooLarge(self.limit_bytes)
        self.written += len(data)
        return self._file.write(data)

    def __getattr__(self, name: str):
        # seek, read, flush, close, ...: what a reader of the finished file needs
        return getattr(self._file, name)


def copy_limited(source: BinaryIO, target: Path, limit_bytes: int) -> int:
    """Copy `source` into the new file `target` in chunks; return the byte count, or raise
    `UploadTooLarge` as soon as more than `limit_bytes` have come."""
    sink = LimitedFile(target, limit_bytes)
    try:
        while chunk := source.read(COPY_CHUNK_BYTES):
            sink.write(chunk)
    finally:
        sink.close()
    return sink.written
