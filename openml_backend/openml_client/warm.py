"""What a serving process does once, as it starts, so that its first cold load pays for the
data only: start the fetch server and wait until it has imported the client (1-3 s), and
import what reading the data needs (pyarrow imports pandas on its first ``read_table``:
0.5-2 s). gunicorn calls ``prepare_worker`` as a worker boots (docker/gunicorn.conf.py); elsewhere
(flask run, the CLI) the first load pays for both.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from .fetcher import warm_up


def prepare_worker(timeout: float = 60.0) -> bool:
    """Prepare this process to load datasets: True once the fetch server is ready (at once
    after the first time), False when it was not ready within ``timeout`` seconds (the first
    fetch then waits for the rest)."""
    ready = warm_up(timeout=timeout)
    _read_a_parquet_file()
    return ready


def _read_a_parquet_file() -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"x": [1.0]}), sink)
    pq.read_table(pa.BufferReader(sink.getvalue()))
