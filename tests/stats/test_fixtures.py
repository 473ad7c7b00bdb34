"""Exact expectations on real OpenML data: anneal (ARFF + features.xml), abalone (parquet),
iris (regenerated) and dexter (sparse ARFF, 20,000 features).

Expected values come from the raw files read here independently (liac-arff, pandas, numpy),
from OpenML's own metadata (features.xml missing counts), and from well-known facts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import arff
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openml_backend.stats import FeatureInfo, StatsSettings, compute_statistics, expand_entry
from tests.paths import openml_fixture

from .frames import statistics_of_frame
from .jsoncheck import assert_strict_json

OML = {"oml": "http://openml.org/openml"}


def read_arff_frame(path):
    """The ARFF file as a DataFrame the way the openml client builds it (nominal -> Categorical)."""
    with open(path) as handle:
        decoded = arff.load(handle)
    by_column = list(zip(*decoded["data"])) if decoded["data"] else [()] * len(decoded["attributes"])
    columns = {}
    for (name, kind), values in zip(decoded["attributes"], by_column):
        if isinstance(kind, list):
            columns[name] = pd.Categorical(values, categories=kind)
        else:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return pd.DataFrame(columns), decoded


def read_features_xml(path) -> tuple[list[FeatureInfo], dict[str, int]]:
    """FeatureInfo list and OpenML's own number_of_missing_values per feature."""
    root = ET.parse(path).getroot()
    features, missing = [], {}
    for node in root.findall("oml:feature", OML):
        name = node.findtext("oml:name", namespaces=OML)
        nominal = [v.text for v in node.findall("oml:nominal_value", OML)]
        features.append(FeatureInfo(
            name=name,
            data_type=node.findtext("oml:data_type", namespaces=OML),
            is_target=node.findtext("oml:is_target", namespaces=OML) == "true",
            is_ignored=node.findtext("oml:is_ignore", namespaces=OML) == "true",
            is_row_id=node.findtext("oml:is_row_identifier", namespaces=OML) == "true",
            nominal_values=tuple(nominal) or None,
        ))
        missing[name] = int(node.findtext("oml:number_of_missing_values", namespaces=OML))
    return features, missing


# ----------------------------------------------------------------------------- anneal (id 2)

@pytest.fixture(scope="module")
def anneal():
    df, decoded = read_arff_frame(openml_fixture("datasets", "2", "dataset.arff"))
    features, missing = read_features_xml(openml_fixture("datasets", "2", "features.xml"))
    stats = compute_statistics(pa.Table.from_pandas(df, preserve_index=False), features)
    return df, decoded, features, missing, stats


def test_anneal_missing_counts_equal_openml_metadata(anneal):
    df, _, features, missing_by_openml, stats = anneal
    assert len(df) == 898 and stats["preview"]["total_rows"] == 898
    assert list(stats["distribution"]) == [f.name for f in features]
    for name, expected in missing_by_openml.items():
        entry = stats["distribution"][name]
        assert entry["missing"] == expected, name
        assert entry["count"] == 898 - expected, name
    assert sum(missing_by_openml.values()) > 0


def test_anneal_features_mostly_missing_are_present(anneal):
    df, _, _, missing_by_openml, stats = anneal
    mostly_missing = [n for n, m in missing_by_openml.items() if m >= 0.8 * len(df)]
    assert len(mostly_missing) >= 10  # the fixture's point: many features 80-99% missing
    for name in mostly_missing:
        entry = stats["distribution"][name]
        observed = Counter(v for v in df[name].astype(object) if not pd.isna(v))
        assert dict(zip(entry["categories"], entry["counts"])) == dict(observed), name


def test_anneal_nominal_counts_and_order(anneal):
    df, decoded, features, _, stats = anneal
    declared = {name: kind for name, kind in decoded["attributes"] if isinstance(kind, list)}
    for name, categories in declared.items():
        entry = stats["distribution"][name]
        observed = Counter(v for v in df[name].astype(object) if not pd.isna(v))
        expected = sorted(observed.items(), key=lambda kv: (-kv[1], categories.index(kv[0])))
        assert entry["type"] == "nominal"
        assert list(zip(entry["categories"], entry["counts"])) == expected, name
        assert entry["distinct"] == len(observed) and entry["other_count"] == 0
        assert entry["unseen_categories"] == [c for c in categories if c not in observed]
    target = [f.name for f in features if f.is_target]
    assert target == ["class"] and stats["distribution"]["class"]["is_target"] is True
    assert sum(1 for e in stats["distribution"].values() if e["is_target"]) == 1


def test_anneal_numeric_summaries(anneal):
    df, decoded, _, _, stats = anneal
    numeric = [name for name, kind in decoded["attributes"] if not isinstance(kind, list)]
    assert numeric == ["carbon", "hardness", "strength", "thick", "width", "len"]
    for name in numeric:
        values = np.array([row[[a for a, _ in decoded["attributes"]].index(name)] for row in decoded["data"]],
                          dtype=float)
        finite = values[~np.isnan(values)]
        entry = stats["distribution"][name]
        assert entry["min"] == finite.min() and entry["max"] == finite.max()
        assert entry["mean"] == pytest.approx(finite.mean(), rel=1e-12)
        assert entry["std"] == pytest.approx(finite.std(ddof=1), rel=1e-12)
        assert entry["quartiles"] == pytest.approx(np.percentile(finite, [25, 50, 75]), rel=1e-12)
        counts, edges = np.histogram(finite, bins=20)
        assert entry["counts"] == counts.tolist() and sum(entry["counts"]) == finite.size


def test_anneal_correlation_pairwise(anneal):
    df, _, _, _, stats = anneal
    correlation = stats["correlation"]
    assert correlation["features"] == ["carbon", "hardness", "strength", "thick", "width", "len"]
    for i, a in enumerate(correlation["features"]):
        for j, b in enumerate(correlation["features"]):
            both = df[[a]].assign(other=df[b]).dropna()
            expected = both[a].corr(both["other"])
            actual = correlation["matrix"][i][j]
            if np.isnan(expected):
                assert actual is None
            else:
                assert actual == pytest.approx(expected, abs=1e-12)


def test_anneal_preview_and_json(anneal):
    df, _, _, _, stats = anneal
    preview = stats["preview"]
    assert len(preview["rows"]) == 100
    first = preview["rows"][0]
    # the first data line: ?,C,A,8,0,?,S,?,0,...,COIL,0.7,610,0,?,0,?,3
    assert first[:5] == [None, "C", "A", 8.0, 0.0]
    assert first[-8:] == ["COIL", 0.7, 610.0, 0.0, None, "0", None, "3"]
    assert_strict_json(stats)


# ---------------------------------------------------------------------------- abalone (id 30)

@pytest.fixture(scope="module")
def abalone():
    table = pq.read_table(openml_fixture("datasets", "30", "dataset_30.pq"))
    return table, table.to_pandas()


def test_abalone_inferred_types(abalone):
    table, df = abalone
    stats = compute_statistics(table)
    assert_strict_json(stats)
    distribution = stats["distribution"]
    assert [distribution[n]["type"] for n in table.column_names] == (
        ["nominal"] + ["numeric"] * 7 + ["nominal"]
    )
    # well-known abalone facts: 4177 rows, Sex M 1528, I 1342, F 1307
    assert stats["preview"]["total_rows"] == 4177
    sex = distribution["Sex"]
    assert list(zip(sex["categories"], sex["counts"])) == [("M", 1528), ("I", 1342), ("F", 1307)]
    for name in table.column_names[1:8]:
        values = df[name].to_numpy(float)
        entry = distribution[name]
        assert entry["missing"] == 0 and entry["count"] == 4177
        assert entry["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert entry["quartiles"] == pytest.approx(np.percentile(values, [25, 50, 75]), rel=1e-12)
        assert entry["counts"] == np.histogram(values, bins=20)[0].tolist()
    matrix = pd.DataFrame(df[table.column_names[1:8]]).corr().to_numpy()
    assert np.allclose(np.array(stats["correlation"]["matrix"], dtype=float), matrix, atol=1e-12)


def test_abalone_rings_capped_with_other_count(abalone):
    table, df = abalone
    features = [FeatureInfo(n, "nominal" if n in ("Sex", "Class_number_of_rings") else "numeric",
                            is_target=n == "Class_number_of_rings") for n in table.column_names]
    stats = compute_statistics(table, features, StatsSettings(max_categories=5))
    rings = stats["distribution"]["Class_number_of_rings"]
    counted = df["Class_number_of_rings"].astype(str).value_counts()
    assert rings["is_target"] is True
    assert rings["distinct"] == len(counted) > 5
    assert rings["counts"] == sorted(counted.tolist(), reverse=True)[:5]
    assert rings["other_count"] == 4177 - sum(rings["counts"])
    assert rings["other_distinct"] == len(counted) - 5


# ------------------------------------------------------------------------------- iris (id 61)

@pytest.fixture(scope="module")
def iris_stats():
    from sklearn.datasets import load_iris

    bunch = load_iris()
    df = pd.DataFrame(bunch.data, columns=["sepallength", "sepalwidth", "petallength", "petalwidth"])
    names = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    df["class"] = pd.Categorical([names[k] for k in bunch.target], categories=names)
    features = [FeatureInfo(n, "numeric") for n in df.columns[:4]] + [
        FeatureInfo("class", "nominal", is_target=True, nominal_values=tuple(names))
    ]
    return statistics_of_frame(df, features)


def test_iris_known_facts(iris_stats):
    sepal = iris_stats["distribution"]["sepallength"]
    assert sepal["count"] == 150 and sepal["missing"] == 0
    assert round(sepal["mean"], 3) == 5.843 and round(sepal["std"], 3) == 0.828
    assert (sepal["min"], sepal["max"]) == (4.3, 7.9)
    assert sepal["quartiles"] == pytest.approx([5.1, 5.8, 6.4])
    assert len(sepal["bins"]) == 21 and len(sepal["counts"]) == 20 and sum(sepal["counts"]) == 150
    target = iris_stats["distribution"]["class"]
    assert target["categories"] == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert target["counts"] == [50, 50, 50] and target["distinct"] == 3 and target["is_target"] is True
    correlation = iris_stats["correlation"]
    k = correlation["features"].index
    # Fisher's iris: r(sepal length, petal length) = 0.872, r(sepal length, sepal width) = -0.118
    assert correlation["matrix"][k("sepallength")][k("petallength")] == pytest.approx(0.8718, abs=1e-4)
    assert correlation["matrix"][k("sepallength")][k("sepalwidth")] == pytest.approx(-0.1176, abs=1e-4)
    assert iris_stats["preview"]["rows"][0] == [5.1, 3.5, 1.4, 0.2, "Iris-setosa"]
    assert_strict_json(iris_stats)


# ----------------------------------------------------------------------- dexter (20,000 wide)

@pytest.fixture(scope="module")
def dexter():
    df, decoded = read_arff_frame(openml_fixture("datasets", "dexter", "dataset.arff"))
    features = [FeatureInfo(n, "numeric") for n in df.columns[:-1]] + [
        FeatureInfo("class", "nominal", is_target=True, nominal_values=("-1", "1"))
    ]
    return df, compute_statistics(pa.Table.from_pandas(df, preserve_index=False), features)


@pytest.mark.slow  # 20,001 columns
def test_dexter_json_is_small_and_complete(dexter):
    df, stats = dexter
    encoded = assert_strict_json(stats)
    assert len(encoded) < 2 * 1024 * 1024
    assert df.shape == (2, 20001)
    assert list(stats["distribution"]) == list(df.columns)
    values = df.iloc[:, :-1].to_numpy(float)
    for k, name in enumerate(df.columns[:-1]):
        entry = expand_entry(stats["distribution"][name])
        assert (entry["type"], entry["count"], entry["missing"], entry["infinite"]) == ("numeric", 2, 0, 0), name
        assert (entry["min"], entry["max"]) == (values[:, k].min(), values[:, k].max()), name
        assert entry["mean"] == pytest.approx(values[:, k].mean()) and entry["std"] == pytest.approx(
            values[:, k].std(ddof=1)), name
    assert stats["distribution"]["class"]["counts"] == [1, 1]
    assert stats["meta"]["detailed_features"] == 500
    assert sum(isinstance(entry, dict) for entry in stats["distribution"].values()) == 500


@pytest.mark.slow  # 20,001 columns
def test_dexter_detailed_and_brief_entries(dexter):
    df, stats = dexter
    # from the sparse rows: a_9 is 105 in the first row and absent (0) in the second
    a9 = stats["distribution"]["a_9"]
    assert (a9["min"], a9["max"], a9["mean"]) == (0.0, 105.0, 52.5)
    assert a9["counts"][0] == 1 and a9["counts"][-1] == 1
    k = list(df.columns).index("a_19998")
    first, second = df.iloc[0, k], df.iloc[1, k]
    brief = stats["distribution"]["a_19998"]
    # type, count, missing, infinite, min, max, mean, std, distinct (none for a numeric feature)
    assert brief == ["numeric", 2, 0, 0, min(first, second), max(first, second), (first + second) / 2,
                     pytest.approx(abs(first - second) / np.sqrt(2)), None]


@pytest.mark.slow  # 20,001 columns
def test_dexter_correlation_prefers_varying_features(dexter):
    df, stats = dexter
    values = df.iloc[:, :-1].to_numpy(float)
    varying = [name for k, name in enumerate(df.columns[:-1]) if values[0, k] != values[1, k]]
    correlation = stats["correlation"]
    assert correlation["features"] == varying[:100]
    assert len(correlation["omitted_features"]) == 20000 - 100
    difference = {name: values[0, k] - values[1, k] for k, name in enumerate(df.columns[:-1])}
    for i, a in enumerate(correlation["features"]):
        for j, b in enumerate(correlation["features"]):
            # two rows: r is the sign of the product of the differences
            assert correlation["matrix"][i][j] == pytest.approx(np.sign(difference[a] * difference[b]))
