"""Regression tests, one per defect of the system this project replaces (the old
Flask backend of openml.org): each test names the defect it holds off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from openml_backend.stats import FeatureInfo, StatsSettings, compute_statistics

from .frames import statistics_of_frame
from .jsoncheck import assert_strict_json


def test_missing_counts_are_not_hidden_by_mode_filling():
    df = pd.DataFrame({
        "x": [1.0, np.nan, 2.0, np.nan, 2.0],
        "colour": pd.Categorical(["red", None, "red", "blue", None]),
    })
    stats = statistics_of_frame(df)["distribution"]
    assert (stats["x"]["missing"], stats["x"]["count"]) == (2, 3)
    assert (stats["colour"]["missing"], stats["colour"]["count"]) == (2, 3)
    # mode filling would have made red 4
    assert dict(zip(stats["colour"]["categories"], stats["colour"]["counts"])) == {"red": 2, "blue": 1}


def test_nan_does_not_become_a_spike_in_the_first_bin():
    values = np.concatenate([np.linspace(0.0, 10.0, 11), np.full(50, np.nan)])
    stats = statistics_of_frame(pd.DataFrame({"x": values}))["distribution"]["x"]
    assert stats["counts"][0] == 1 and sum(stats["counts"]) == 11
    assert stats["min"] == 0.0 and stats["missing"] == 50


def test_mostly_missing_features_are_kept_numeric_and_nominal():
    n = 100
    numeric = np.full(n, np.nan)
    numeric[:5] = [1.0, 2.0, 3.0, 4.0, 5.0]  # 95% missing
    nominal = [None] * n
    nominal[:10] = ["a"] * 10  # 90% missing
    df = pd.DataFrame({"numeric": numeric, "nominal": pd.Categorical(nominal), "empty": np.full(n, np.nan)})
    stats = statistics_of_frame(df)
    assert_strict_json(stats)
    distribution = stats["distribution"]
    assert set(distribution) == {"numeric", "nominal", "empty"}
    assert distribution["numeric"]["missing"] == 95 and distribution["numeric"]["mean"] == 3.0
    assert distribution["nominal"]["missing"] == 90 and distribution["nominal"]["counts"] == [10]
    assert distribution["empty"]["missing"] == n and distribution["empty"]["bins"] == []
    assert distribution["empty"]["mean"] is None


def test_total_rows_is_the_real_row_count_not_a_sample():
    n = 60_000  # the old system subsampled above 50,000 rows
    table = pa.table({"x": np.arange(n, dtype=np.int64)})
    stats = compute_statistics(table)
    assert stats["preview"]["total_rows"] == n and len(stats["preview"]["rows"]) == 100
    assert stats["distribution"]["x"]["count"] == n and sum(stats["distribution"]["x"]["counts"]) == n
    assert stats["meta"]["sampled"] is False


def test_nominal_categories_are_capped_with_other_count():
    values = [f"v{k}" for k in range(200) for _ in range(k % 3 + 1)]
    stats = statistics_of_frame(pd.DataFrame({"c": pd.Categorical(values)}))["distribution"]["c"]
    assert len(stats["categories"]) == 50 and stats["distinct"] == 200
    assert stats["other_count"] == len(values) - sum(stats["counts"]) > 0
    assert StatsSettings().max_categories == 50


def test_integer_preview_values_stay_integers():
    df = pd.DataFrame({"i": np.array([1, 2, 3], dtype=np.int64), "f": [1.5, np.nan, 3.0]})
    preview = statistics_of_frame(df)["preview"]
    assert preview["rows"] == [[1, 1.5], [2, None], [3, 3.0]]
    assert all(type(row[0]) is int for row in preview["rows"])


def test_nullable_integers_with_missing_values_stay_integers():
    table = pa.table({"i": pa.array([7, None, 9], type=pa.int32())})
    stats = compute_statistics(table, [FeatureInfo("i", "numeric")])
    assert stats["preview"]["rows"] == [[7], [None], [9]]
    assert type(stats["distribution"]["i"]["min"]) is int and stats["distribution"]["i"]["missing"] == 1
