"""Edge cases and the documented rules of the statistics engine (FORMAT.md)."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from openml_backend.stats import (
    ENGINE_VERSION,
    FeatureInfo,
    StatsSettings,
    compute_statistics,
    expand_entry,
)

from .frames import statistics_of_frame
from .jsoncheck import assert_strict_json


def mixed_table(n_rows: int) -> pa.Table:
    return pa.table({
        "x": pa.array(np.arange(n_rows, dtype=np.float64)),
        "k": pa.array(np.full(n_rows, 3, dtype=np.int64)),
        "c": pa.array(["a"] * n_rows).dictionary_encode(),
        "s": pa.array(["t"] * n_rows),
        "d": pa.array([datetime.datetime(2020, 1, 1)] * n_rows, type=pa.timestamp("s")),
    })


@pytest.mark.parametrize("n_rows", [0, 1, 2])
def test_tiny_tables(n_rows):
    stats = compute_statistics(mixed_table(n_rows))
    assert_strict_json(stats)
    x = stats["distribution"]["x"]
    assert x["count"] == n_rows and stats["preview"]["total_rows"] == n_rows
    if n_rows == 0:
        assert x["bins"] == [] and x["quartiles"] is None and x["std"] is None
        assert stats["distribution"]["c"]["categories"] == []
        assert stats["distribution"]["d"]["min"] is None
    if n_rows == 1:
        assert x["bins"] == [0.0, 0.0] and x["counts"] == [1] and x["std"] is None
    assert stats["correlation"]["matrix"][0][1] is None  # k is constant


def test_constant_column_has_one_degenerate_bin_and_zero_std():
    stats = compute_statistics(pa.table({"k": pa.array([2.5] * 4)}))["distribution"]["k"]
    assert (stats["bins"], stats["counts"], stats["std"], stats["quartiles"]) == ([2.5, 2.5], [4], 0.0, [2.5] * 3)


def test_infinite_values_are_counted_apart():
    stats = compute_statistics(pa.table({"x": pa.array([1.0, np.inf, -np.inf, 3.0, None, np.nan])}))
    x = stats["distribution"]["x"]
    assert (x["count"], x["missing"], x["infinite"]) == (4, 2, 2)
    assert (x["min"], x["max"], x["mean"], sum(x["counts"])) == (1.0, 3.0, 2.0, 2)
    assert stats["preview"]["rows"] == [[1.0], [None], [None], [3.0], [None], [None]]
    assert_strict_json(stats)


def test_huge_range_does_not_overflow():
    stats = compute_statistics(pa.table({"x": pa.array([-1.7e308, 0.0, 1.7e308])}))
    x = stats["distribution"]["x"]
    assert_strict_json(stats)
    assert sum(x["counts"]) == 3 and x["bins"][0] == -1.7e308 and x["bins"][-1] == 1.7e308
    assert x["quartiles"][1] == 0.0 and x["mean"] == 0.0
    assert x["std"] == pytest.approx(np.std(np.array([-1.7, 0.0, 1.7]), ddof=1) * 1e308)


def test_tiny_range_of_subnormals():
    x = compute_statistics(pa.table({"x": pa.array([0.0, 5e-324, 5e-324])}))["distribution"]["x"]
    assert x["quartiles"][1:] == [5e-324, 5e-324] and x["min"] == 0.0
    assert sum(x["counts"]) == 3 and (x["bins"][0], x["bins"][-1]) == (0.0, 5e-324)


def test_ignored_and_row_id_are_marked_and_left_out():
    table = pa.table({"id": [1, 2, 3], "x": [1.0, 2.0, 4.0], "y": [2.0, 4.0, 8.5], "junk": [9.0, 8.0, 1.0]})
    features = [
        FeatureInfo("id", "numeric", is_row_id=True),
        FeatureInfo("x", "numeric"),
        FeatureInfo("y", "numeric", is_target=True),
        FeatureInfo("junk", "numeric", is_ignored=True),
    ]
    stats = compute_statistics(table, features)
    distribution = stats["distribution"]
    assert distribution["id"] == {"type": "numeric", "ignored": True, "row_id": True, "is_target": False}
    assert distribution["junk"] == {"type": "numeric", "ignored": True, "row_id": False, "is_target": False}
    assert distribution["y"]["is_target"] is True and distribution["x"]["is_target"] is False
    assert stats["correlation"]["features"] == ["x", "y"]
    assert stats["preview"]["columns"] == ["id", "x", "y", "junk"]


def test_declared_feature_absent_from_the_data_is_marked():
    stats = compute_statistics(pa.table({"x": [1.0]}), [FeatureInfo("x", "numeric"), FeatureInfo("gone", "nominal")])
    assert stats["distribution"]["gone"] == {"type": "nominal", "absent": True, "is_target": False}


def test_ties_follow_declared_order_then_name():
    values = ["b", "a", "c", "c", "a", "b", "d"]
    declared = FeatureInfo("v", "nominal", nominal_values=("c", "b", "a", "d", "never"))
    by_declaration = compute_statistics(pa.table({"v": values}), [declared])["distribution"]["v"]
    assert by_declaration["categories"] == ["c", "b", "a", "d"]
    assert by_declaration["unseen_categories"] == ["never"]
    by_name = compute_statistics(pa.table({"v": values}))["distribution"]["v"]
    assert by_name["categories"] == ["a", "b", "c", "d"]
    by_dictionary = statistics_of_frame(
        pd.DataFrame({"v": pd.Categorical(values, categories=["d", "b", "c", "a"])})
    )["distribution"]["v"]
    assert by_dictionary["categories"] == ["b", "c", "a", "d"]


def test_chunks_with_different_dictionaries_are_merged():
    first = pa.array(["x", "y", "x"]).dictionary_encode()
    second = pa.array(["y", None, "z", "y"]).dictionary_encode()
    table = pa.Table.from_batches([pa.record_batch([first], ["v"]), pa.record_batch([second], ["v"])])
    v = compute_statistics(table)["distribution"]["v"]
    assert list(zip(v["categories"], v["counts"])) == [("y", 3), ("x", 2), ("z", 1)]
    assert v["missing"] == 1


def test_numbers_declared_nominal_are_categories_and_preview_strings():
    table = pa.table({"bore": pa.array([0, 500, 500, None])})
    stats = compute_statistics(table, [FeatureInfo("bore", "nominal", nominal_values=("0", "500", "600"))])
    bore = stats["distribution"]["bore"]
    assert list(zip(bore["categories"], bore["counts"])) == [("500", 2), ("0", 1)]
    assert bore["unseen_categories"] == ["600"] and bore["missing"] == 1
    assert stats["preview"]["rows"] == [["0"], ["500"], ["500"], [None]]


def test_numbers_stored_as_text_but_declared_numeric():
    stats = compute_statistics(pa.table({"n": ["1.5", "2.5", None]}), [FeatureInfo("n", "numeric")])
    assert stats["distribution"]["n"]["mean"] == 2.0
    words = compute_statistics(pa.table({"n": ["one", "two"]}), [FeatureInfo("n", "numeric")])
    assert words["distribution"]["n"]["type"] == "nominal"
    assert words["distribution"]["n"]["declared_type"] == "numeric"


def test_string_and_date_features_have_their_own_types():
    table = pa.table({
        "text": ["hello", "world", "hello", None],
        "when": pa.array([datetime.date(2021, 5, 1), None, datetime.date(2020, 1, 2), datetime.date(2022, 1, 1)]),
    })
    stats = compute_statistics(table, [FeatureInfo("text", "string"), FeatureInfo("when", "date")])
    text, when = stats["distribution"]["text"], stats["distribution"]["when"]
    assert (text["type"], text["categories"], text["counts"], text["missing"]) == (
        "string", ["hello", "world"], [2, 1], 1
    )
    histogram = {key: when.pop(key) for key in ("bins", "counts")}
    assert when == {
        "type": "date", "count": 3, "missing": 1, "min": "2020-01-02", "max": "2022-01-01", "is_target": False
    }
    assert (histogram["bins"][0], histogram["bins"][-1]) == ("2020-01-02T00:00:00", "2022-01-01T00:00:00")
    assert sum(histogram["counts"]) == 3 and len(histogram["counts"]) == 20
    assert stats["preview"]["rows"][0] == ["hello", "2021-05-01"]
    assert_strict_json(stats)


def test_correlation_is_null_with_fewer_than_two_numeric_features():
    assert compute_statistics(pa.table({"x": [1.0, 2.0], "c": ["a", "b"]}))["correlation"] is None
    assert compute_statistics(pa.table({"c": ["a", "b"]}))["correlation"] is None


def test_correlation_selection_rule():
    rng = np.random.default_rng(1)
    n = 50
    columns = {
        "constant": np.ones(n),
        "sparse": np.where(rng.random(n) < 0.5, rng.normal(size=n), np.nan),
        "full_a": rng.normal(size=n),
        "full_b": rng.normal(size=n),
        "target": rng.normal(size=n),
    }
    features = [FeatureInfo(name, "numeric", is_target=name == "target") for name in columns]
    stats = compute_statistics(pa.table(columns), features, StatsSettings(max_correlation_features=3))
    correlation = stats["correlation"]
    # target first, then varying features with the most values, kept in table order
    assert correlation["features"] == ["full_a", "full_b", "target"]
    assert correlation["omitted_features"] == ["constant", "sparse"]


def test_wide_tables_get_brief_entries_after_the_cap():
    table = pa.table({f"f{k}": np.arange(3, dtype=np.float64) * k for k in range(10)} | {"y": ["a", "b", "a"]})
    features = [FeatureInfo(f"f{k}", "numeric") for k in range(10)] + [FeatureInfo("y", "nominal", is_target=True)]
    stats = compute_statistics(table, features, StatsSettings(max_detailed_features=4, max_preview_columns=3))
    distribution = stats["distribution"]
    assert distribution["y"]["is_target"] is True and "categories" in distribution["y"]
    assert [name for name, e in distribution.items() if isinstance(e, list)] == [f"f{k}" for k in range(3, 10)]
    # f9 is 0, 9, 18: every feature keeps its counts and moments, only the histogram goes
    assert distribution["f9"] == ["numeric", 3, 0, 0, 0.0, 18.0, 9.0, 9.0, None]
    assert expand_entry(distribution["f9"]) == {
        "type": "numeric", "count": 3, "missing": 0, "infinite": 0, "min": 0.0, "max": 18.0, "mean": 9.0,
        "std": 9.0, "is_target": False, "detail": False}
    assert stats["meta"]["brief_fields"][:9] == [
        "type", "count", "missing", "infinite", "min", "max", "mean", "std", "distinct"]
    assert stats["preview"]["columns"] == ["f0", "f1", "f2"] and stats["preview"]["truncated_columns"] is True
    assert stats["meta"]["detailed_features"] == 4 and stats["meta"]["total_features"] == 11


def test_settings_are_validated():
    with pytest.raises(ValueError):
        StatsSettings(max_categories=-1)
    with pytest.raises(ValueError):
        StatsSettings(histogram_bins=0)
    with pytest.raises(ValueError):
        StatsSettings(max_preview_rows=True)


def test_result_does_not_depend_on_threads():
    rng = np.random.default_rng(7)
    n = 120_000  # long enough for the threaded path
    table = pa.table({f"x{k}": pa.array(rng.normal(size=n), mask=rng.random(n) < 0.1) for k in range(5)})
    threaded = compute_statistics(table)
    sequential = compute_statistics(table.slice(0, n))
    assert threaded == sequential
    x0 = table.column("x0").to_numpy(zero_copy_only=False)
    finite = x0[~np.isnan(x0)]
    assert threaded["distribution"]["x0"]["quartiles"] == pytest.approx(np.percentile(finite, [25, 50, 75]), rel=1e-12)
    assert threaded["distribution"]["x0"]["counts"] == np.histogram(finite, bins=20)[0].tolist()


def test_engine_version_is_a_string():
    assert isinstance(ENGINE_VERSION, str) and ENGINE_VERSION


@pytest.mark.parametrize(
    "array, kind",
    [
        (pa.array([[1, 2], [3], None, [3]]), "string"),
        (pa.array([b"\xff\x00", b"ab", None, b"ab"]), "string"),
        (pa.array([{"a": 1}, {"a": 2}, None, {"a": 2}]), "string"),
        (pa.array([datetime.time(1, 2), None, datetime.time(3, 4), datetime.time(3, 4)]), "string"),
        (pa.array([2**64 - 1, 0, None, 5], type=pa.uint64()), "numeric"),
        (pa.array([True, False, None, False]), "nominal"),
        (pa.array([1, 2, None, 2]).dictionary_encode(), "nominal"),
        (pa.array([None, None, None, None]), "nominal"),
    ],
    ids=["list", "binary", "struct", "time", "uint64", "bool", "int-dictionary", "null"],
)
def test_any_arrow_type_gives_statistics(array, kind):
    stats = compute_statistics(pa.table({"v": array}))
    assert_strict_json(stats)
    entry = stats["distribution"]["v"]
    assert (entry["type"], entry["missing"]) == (kind, 4 if kind == "nominal" and array.null_count == 4 else 1)
    if kind != "numeric" and array.null_count < 4:
        assert entry["counts"][0] == 2 and sum(entry["counts"]) == 3


def test_dictionary_entries_with_the_same_text_merge_and_nan_is_missing():
    dictionary = pa.array([1.0, float("nan"), 2.0, 1.0])
    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 3, None, 1, 3]), dictionary)
    entry = compute_statistics(pa.table({"d": column}))["distribution"]["d"]
    assert list(zip(entry["categories"], entry["counts"])) == [("1", 3), ("2", 1)]
    assert (entry["missing"], entry["count"], entry["distinct"]) == (3, 4, 2)


def test_many_distinct_strings_against_value_counts():
    rng = np.random.default_rng(3)
    values = [f"id-{v}" for v in rng.integers(0, 20_000, size=50_000)]
    entry = compute_statistics(pa.table({"s": values}))["distribution"]["s"]
    counted = pd.Series(values).value_counts()
    expected = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
    assert list(zip(entry["categories"], entry["counts"])) == expected[:50]
    assert entry["distinct"] == len(counted) and entry["other_count"] == 50_000 - sum(entry["counts"])
