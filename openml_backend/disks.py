"""Checks of local directories shared by readiness and the OpenML loader."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def directory_takes_writes(path: str) -> bool:
    """True when a small file can be written and synced in `path` (not read-only, not full).

    An empty file needs no free space, so a full disk would pass without the write.
    """
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-") as probe:
            probe.write(b"probe\n")
            probe.flush()
            os.fsync(probe.fileno())
        return True
    except OSError:
        return False
