"""Exactness at 5 million rows: the budgeted engine reading a parquet file against numpy on the
same columns (no sampling, no approximation: quartiles and histogram counts are exact)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openml_backend.stats import FeatureInfo, MemoryBudget, open_table_file, statistics_of

ROWS = 5_000_000


@pytest.mark.slow  # 5M rows: about 10-30 s on a busy machine
def test_five_million_rows_against_numpy(tmp_path):
    rng = np.random.default_rng(5_000_000)
    normal = rng.normal(10.0, 3.0, ROWS)
    normal[rng.random(ROWS) < 0.05] = np.nan
    heavy = rng.standard_cauchy(ROWS)
    heavy[rng.random(ROWS) < 0.001] = np.inf
    related = 0.5 * np.nan_to_num(normal, nan=10.0) + rng.normal(0.0, 1.0, ROWS)
    counts = rng.integers(-1000, 1000, ROWS)
    path = tmp_path / "five_million.parquet"
    pq.write_table(pa.table({"normal": normal, "heavy": heavy, "related": related, "counts": counts}), path,
                   row_group_size=1_000_000)
    features = [FeatureInfo(name, "numeric") for name in ("normal", "heavy", "related", "counts")]
    stats = statistics_of(open_table_file(path, "parquet"), features, budget=MemoryBudget())
    assert stats["meta"]["total_rows"] == ROWS
    for name, values in (("normal", normal), ("heavy", heavy), ("related", related), ("counts", counts)):
        entry = stats["distribution"][name]
        values = values.astype(np.float64)
        finite = values[np.isfinite(values)]
        assert entry["count"] == ROWS - int(np.isnan(values).sum()), name
        assert entry["infinite"] == int(np.isinf(values).sum()), name
        assert (entry["min"], entry["max"]) == (finite.min(), finite.max()), name
        assert entry["mean"] == pytest.approx(finite.mean(), rel=1e-12, abs=1e-12), name
        assert entry["std"] == pytest.approx(finite.std(ddof=1), rel=1e-10), name
        assert entry["quartiles"] == pytest.approx(np.percentile(finite, [25, 50, 75]), rel=1e-15, abs=0), name
        histogram, edges = np.histogram(finite, bins=20)
        assert entry["counts"] == histogram.tolist(), name
        assert entry["bins"] == pytest.approx(edges.tolist(), rel=1e-15), name
    assert type(stats["distribution"]["counts"]["min"]) is int
    correlation = stats["correlation"]
    assert correlation["features"] == ["normal", "heavy", "related", "counts"]
    columns = {"normal": normal, "heavy": heavy, "related": related, "counts": counts.astype(np.float64)}
    for i, a in enumerate(correlation["features"]):
        for j, b in enumerate(correlation["features"]):
            both = np.isfinite(columns[a]) & np.isfinite(columns[b])
            expected = np.corrcoef(columns[a][both], columns[b][both])[0, 1]
            assert correlation["matrix"][i][j] == pytest.approx(expected, abs=1e-10), (a, b)
