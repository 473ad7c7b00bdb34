"""A dataset too large for the statistics budget: 422 `dataset_too_large`, stored like any answer;
and a worker process under a real memory limit (RLIMIT_AS) whose peak RSS stays within the
budget on a big file, that refuses a too-large one and keeps serving.

Expected values (sizes, limits) come from the data and the settings given here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask import Flask
from sqlalchemy import func, select

from openml_backend.datasets.models import StatsEntry
from openml_backend.extensions import db
from tests.helpers import PROBLEM_KEYS
from tests.paths import REPO_ROOT

IRIS = 61  # 150 rows x 5 columns = 750 cells
ANNEAL = 2  # 898 rows x 39 columns


@pytest.fixture
def build_app(make_app: Callable[..., Flask], openml) -> Callable[..., Flask]:
    def build(**env: str) -> Flask:
        return make_app(env={"OPENML_SERVER_URL": openml.api_url, "OPENML_TIMEOUT": "15", **env})

    return build


def stored_entries(app: Flask, dataset_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatsEntry).where(StatsEntry.dataset_id == dataset_id))


def test_more_cells_than_the_limit_answers_422_and_is_stored(build_app, openml) -> None:
    app = build_app(STATS_MAX_CELLS="749")
    response = app.test_client().get(f"/api/v1/datasets/{IRIS}/stats")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert set(body) >= PROBLEM_KEYS
    assert (body["code"], body["limit_name"], body["limit"], body["size"]) == ("dataset_too_large", "cells", 749, 750)
    assert "750 cells" in body["detail"]
    assert stored_entries(app, IRIS) == 1
    downloads = openml.data_downloads(IRIS)
    # another worker on the same database answers from the stored entry, without OpenML
    again = build_app(STATS_MAX_CELLS="749").test_client().get(f"/api/v1/datasets/{IRIS}/stats")
    assert (again.status_code, again.json["size"]) == (422, 750)
    assert openml.data_downloads(IRIS) == downloads
    # the page says the same, as HTML
    page = app.test_client().get(f"/datasets/{IRIS}")
    assert page.status_code == 422 and page.mimetype == "text/html"
    # the same worker goes on: another dataset is refused too (35,022 cells)
    assert app.test_client().get(f"/api/v1/datasets/{ANNEAL}/stats").status_code == 422
    # and a stored refusal is refreshed like any entry: with a higher limit, statistics
    raised = build_app(STATS_REFRESH_INTERVAL="0.001")
    refreshed = raised.test_client().get(f"/api/v1/datasets/{IRIS}/stats?force_refresh=true")
    assert refreshed.status_code == 200 and refreshed.json["statistics"]["meta"]["total_rows"] == 150


WORKER = textwrap.dedent("""
    import json, resource, sys
    sys.path.insert(0, sys.argv[1])
    from openml_backend.stats import DatasetTooLarge, MemoryBudget, open_table_file, statistics_of

    def rss_mib():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

    def status_mib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024

    def vm_mib():
        return status_mib("VmSize")

    big, small, budget_mib = sys.argv[2], sys.argv[3], int(sys.argv[4])
    # the limit: what the process maps now, plus twice the budget and room for thread stacks
    limit = int((vm_mib() + 2 * budget_mib + 256) * 2**20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    report = {"limit_mib": limit / 2**20}
    budget = MemoryBudget(budget_bytes=budget_mib * 2**20)
    report["baseline_mib"] = rss_mib()
    stats = statistics_of(open_table_file(big, "parquet"), budget=budget)
    # VmHWM: this program's peak RSS (ru_maxrss would also count the forked parent's before exec)
    report["peak_mib"] = status_mib("VmHWM")
    report["x0_mean"] = stats["distribution"]["x0"]["mean"]
    try:
        statistics_of(open_table_file(big, "parquet"), budget=MemoryBudget(budget_bytes=16 * 2**20))
        report["too_large"] = None
    except DatasetTooLarge as error:
        report["too_large"] = error.as_dict()
    report["small_rows"] = statistics_of(open_table_file(small, "parquet"), budget=budget)["meta"]["total_rows"]
    try:  # the control: the whole table does not fit under this limit
        open_table_file(big, "parquet").read_all().combine_chunks()
        report["whole_table"] = "fits"
    except MemoryError:
        report["whole_table"] = "MemoryError"
    print(json.dumps(report))
""")


@pytest.mark.slow  # writes and reads a 4M-row file
def test_peak_rss_stays_within_the_budget_under_a_real_memory_limit(tmp_path: Path) -> None:
    rows, columns, budget_mib = 4_000_000, 12, 160
    rng = np.random.default_rng(12)
    big = tmp_path / "big.parquet"
    writer = None
    for start in range(0, rows, 1_000_000):  # written in row groups, never whole in memory here
        part = pa.table({f"x{k}": rng.normal(k, 1.0, 1_000_000) for k in range(columns)})
        writer = writer or pq.ParquetWriter(big, part.schema)
        writer.write_table(part)
    writer.close()
    small = tmp_path / "small.parquet"
    pq.write_table(pa.table({"a": np.arange(10.0), "b": np.arange(10.0) ** 2}), small)
    done = subprocess.run([sys.executable, "-c", WORKER, str(REPO_ROOT), str(big), str(small), str(budget_mib)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # 384 MiB of values: the budgeted computation stays within its budget above the baseline
    assert report["peak_mib"] - report["baseline_mib"] <= budget_mib, report
    assert report["x0_mean"] == pytest.approx(0.0, abs=0.01)
    assert report["too_large"]["limit_name"] == "memory_bytes" and report["too_large"]["feature"] == "x0"
    assert report["too_large"]["size"] >= rows * 8
    assert report["small_rows"] == 10  # the worker survived and keeps computing
    assert report["whole_table"] == "MemoryError", report  # the limit is real
