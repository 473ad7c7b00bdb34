"""The engine reading files a column at a time within a memory budget: the same answers as the
whole-table path, a typed error for data that cannot fit, every feature summarised, and a
correlation that survives tiny and huge magnitudes.

Expected values come from numpy and pandas on the generated data, computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from openml_backend.stats import (
    DatasetTooLarge,
    FeatureInfo,
    MemoryBudget,
    StatsSettings,
    compute_statistics,
    expand_entry,
    open_table_file,
    statistics_of,
)

from .jsoncheck import assert_strict_json

MIB = 1024 * 1024


def mixed_table(n_rows: int, seed: int = 5) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "x": pa.array(rng.normal(3.0, 2.0, n_rows), mask=rng.random(n_rows) < 0.1),
        "y": pa.array(rng.normal(-1.0, 5.0, n_rows)),
        "k": pa.array(rng.integers(-50, 50, n_rows)),
        "colour": pa.array(rng.choice(["red", "green", "blue"], n_rows)).dictionary_encode(),
        "word": pa.array([f"w{v}" for v in rng.integers(0, 40, n_rows)]),
        "text_number": pa.array([str(v) for v in rng.integers(0, 9, n_rows)]),
    })


FEATURES = [FeatureInfo("x", "numeric"), FeatureInfo("y", "numeric"), FeatureInfo("k", "numeric"),
            FeatureInfo("colour", "nominal", is_target=True), FeatureInfo("word", "string"),
            FeatureInfo("text_number", "numeric")]


@pytest.mark.parametrize("file_format", ["parquet", "arff"])
@pytest.mark.parametrize("budget_mib", [6, 512])
def test_a_file_gives_the_same_statistics_as_the_whole_table(tmp_path, file_format, budget_mib):
    table = mixed_table(60_000)  # long enough for threads; three row groups
    path = tmp_path / "data"
    if file_format == "parquet":
        pq.write_table(table, path, row_group_size=25_000)
    else:  # what the fetch child writes for an ARFF
        feather.write_feather(table, path, compression="uncompressed", chunksize=25_000)
    # 6 MiB: the correlation's four columns in two groups (3 + 1), met pair of groups by pair
    streamed = statistics_of(open_table_file(path, file_format), FEATURES,
                             budget=MemoryBudget(budget_bytes=budget_mib * MIB))
    whole = compute_statistics(table, FEATURES)
    assert_strict_json(streamed)
    assert streamed["distribution"] == whole["distribution"]
    assert streamed["preview"] == whole["preview"]
    assert streamed["correlation"]["features"] == ["x", "y", "k", "text_number"]
    assert np.allclose(np.array(streamed["correlation"]["matrix"], dtype=float),
                       np.array(whole["correlation"]["matrix"], dtype=float), rtol=0, atol=1e-14)
    frame = table.to_pandas()
    expected = frame[["x", "y", "k"]].assign(text_number=frame["text_number"].astype(float)).corr().to_numpy()
    assert np.allclose(np.array(streamed["correlation"]["matrix"], dtype=float), expected, atol=1e-12)


def test_more_cells_than_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "data.parquet"
    pq.write_table(mixed_table(1000), path)
    with pytest.raises(DatasetTooLarge) as raised:
        statistics_of(open_table_file(path, "parquet"), FEATURES, budget=MemoryBudget(max_cells=5999))
    assert (raised.value.limit_name, raised.value.limit, raised.value.size) == ("cells", 5999, 6000)
    assert "6000 cells" in raised.value.message
    statistics_of(open_table_file(path, "parquet"), FEATURES, budget=MemoryBudget(max_cells=6000))


def test_a_column_larger_than_the_budget_is_refused(tmp_path):
    n_rows = 300_000  # 2.3 MiB of float64, more than 1 MiB once worked on
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"x": np.arange(n_rows, dtype=np.float64)}), path)
    with pytest.raises(DatasetTooLarge) as raised:
        statistics_of(open_table_file(path, "parquet"), budget=MemoryBudget(budget_bytes=1 * MIB))
    error = raised.value
    assert (error.limit_name, error.limit, error.feature) == ("memory_bytes", MIB, "x")
    assert error.size >= n_rows * 8
    assert error.as_dict() == {"limit_name": "memory_bytes", "limit": MIB, "size": error.size, "feature": "x"}
    ok = statistics_of(open_table_file(path, "parquet"), budget=MemoryBudget(budget_bytes=64 * MIB))
    assert ok["distribution"]["x"]["max"] == n_rows - 1


def test_753_features_every_numeric_one_has_min_max_mean_std(tmp_path):
    rng = np.random.default_rng(753)
    n_rows = 40
    values = rng.normal(size=(n_rows, 753)) * rng.uniform(0.1, 100, size=753)
    values[rng.random(values.shape) < 0.05] = np.nan
    columns = {f"f{k}": values[:, k] for k in range(753)} | {"target": rng.choice(["a", "b"], n_rows)}
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table(columns), path)
    features = [FeatureInfo(f"f{k}", "numeric") for k in range(753)] + [FeatureInfo("target", "nominal", True)]
    stats = statistics_of(open_table_file(path, "parquet"), features, budget=MemoryBudget())
    assert_strict_json(stats)
    distribution = stats["distribution"]
    assert stats["meta"]["detailed_features"] == 500
    detailed = [name for name, entry in distribution.items() if isinstance(entry, dict)]
    assert len(detailed) == 500 and detailed[-1] == "target"  # the target first, then table order
    for k in range(753):
        entry = expand_entry(distribution[f"f{k}"])
        finite = values[:, k][~np.isnan(values[:, k])]
        assert entry["type"] == "numeric" and entry["count"] == finite.size, k
        assert entry["missing"] == n_rows - finite.size and entry["infinite"] == 0, k
        assert (entry["min"], entry["max"]) == (finite.min(), finite.max()), k
        assert entry["mean"] == pytest.approx(finite.mean(), rel=1e-12), k
        assert entry["std"] == pytest.approx(finite.std(ddof=1), rel=1e-9), k
        assert ("bins" in entry) == (k < 499), k  # the heavy parts only for the detailed ones
    target = expand_entry(distribution["target"])
    assert target["is_target"] is True and target["distinct"] == 2


def test_brief_nominal_and_date_entries_keep_their_counts():
    table = pa.table({
        "x": [1.0, 2.0, 3.0],
        "c": pa.array(["a", None, "b"]),
        "d": pa.array([None, 5, 9], type=pa.date32()),
    })
    stats = compute_statistics(table, settings=StatsSettings(max_detailed_features=1))
    assert stats["distribution"]["c"] == ["nominal", 2, 1, None, None, None, None, None, 2]
    assert stats["distribution"]["d"] == ["date", 2, 1, None, "1970-01-06", "1970-01-10", None, None, None]
    assert expand_entry(stats["distribution"]["c"]) == {
        "type": "nominal", "count": 2, "missing": 1, "distinct": 2, "is_target": False, "detail": False}


@pytest.mark.parametrize("magnitude", [1e-94, 1e-200, 1e-310, 1e150, 1e300])
def test_correlation_of_tiny_and_huge_magnitudes(magnitude):
    # once: var_x * var_y underflowed to 0 at 1e-94 and pearson_pairwise divided by zero
    rng = np.random.default_rng(94)
    base = rng.normal(size=(200, 3))
    base[:, 1] += base[:, 0]  # correlated
    base[rng.random(base.shape) < 0.1] = np.nan
    scaled = base * magnitude
    stats = compute_statistics(pa.table({f"c{k}": scaled[:, k] for k in range(3)}))
    assert_strict_json(stats)
    # Pearson r does not depend on the scale: the reference works on the unscaled values
    expected = pd.DataFrame(base).corr().to_numpy()
    assert np.allclose(np.array(stats["correlation"]["matrix"], dtype=float), expected,
                       atol=1e-9 if magnitude > 1e-300 else 1e-6)


def test_correlation_with_values_near_the_float_limit():
    x = np.array([-1.7e308, 0.0, 1.7e308, 1.0e308])
    y = np.array([1.0, 2.0, 3.0, 2.9])
    matrix = compute_statistics(pa.table({"x": x, "y": y}))["correlation"]["matrix"]
    expected = np.corrcoef(x / 1e308, y)[0, 1]
    assert matrix[0][1] == pytest.approx(expected, abs=1e-12)
