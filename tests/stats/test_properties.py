"""Property tests: the engine against a plain, independent pandas/numpy computation.

Random frames mix NaN, +-inf, constant, empty (0 rows), all-missing and high-cardinality
columns. The expected values are computed here with the simplest pandas/numpy calls.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openml_backend.stats import StatsSettings

from .frames import statistics_of_frame
from .jsoncheck import assert_strict_json

NUMBERS = st.one_of(
    # pandas' own corr warns and fails on squares that underflow, so the reference needs
    # magnitudes whose squares are normal floats
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).filter(
        lambda v: v == 0 or abs(v) > 1e-100
    ),
    st.sampled_from([0.0, 1.0, -2.5, 3.0, 1e-3]),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
)
CATEGORY_POOL = [f"c{k:03d}" for k in range(80)]


@st.composite
def numeric_column(draw, n_rows):
    flavour = draw(st.sampled_from(["mixed", "mixed", "constant", "all_missing", "integers"]))
    if flavour == "constant":
        value = draw(st.floats(-100, 100, allow_nan=False))
        return np.full(n_rows, value)
    if flavour == "all_missing":
        return np.full(n_rows, np.nan)
    if flavour == "integers":
        return np.array(draw(st.lists(st.integers(-5, 5), min_size=n_rows, max_size=n_rows)), dtype=np.int64)
    return np.array(draw(st.lists(NUMBERS, min_size=n_rows, max_size=n_rows)), dtype=np.float64)


@st.composite
def nominal_column(draw, n_rows):
    pool = CATEGORY_POOL[: draw(st.sampled_from([1, 2, 5, 80]))]
    values = draw(st.lists(st.one_of(st.none(), st.sampled_from(pool)), min_size=n_rows, max_size=n_rows))
    if draw(st.booleans()):
        return pd.Categorical(values, categories=pool)
    return pd.Series(values, dtype=object)


@st.composite
def frames(draw):
    n_rows = draw(st.integers(0, 30))
    data = {}
    for k in range(draw(st.integers(1, 4))):
        data[f"num{k}"] = draw(numeric_column(n_rows))
    for k in range(draw(st.integers(0, 3))):
        data[f"nom{k}"] = draw(nominal_column(n_rows))
    return pd.DataFrame(data)


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(frames(), st.integers(1, 6), st.integers(1, 8))
def test_distribution_matches_plain_pandas(df, max_categories, bins):
    stats = statistics_of_frame(
        df, settings=StatsSettings(max_categories=max_categories, histogram_bins=bins)
    )
    assert_strict_json(stats)
    assert list(stats["distribution"]) == list(df.columns)
    for name in df.columns:
        entry = stats["distribution"][name]
        if name.startswith("num"):
            check_numeric(entry, df[name], bins)
        else:
            check_nominal(entry, df[name], max_categories)


def check_numeric(entry, series: pd.Series, bins: int) -> None:
    values = series.to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    assert entry["type"] == "numeric"
    assert entry["count"] == int(series.count())
    assert entry["missing"] == int(series.isna().sum())
    assert entry["infinite"] == int(np.isinf(values).sum())
    if finite.size == 0:
        assert (entry["bins"], entry["counts"]) == ([], [])
        assert entry["mean"] is entry["std"] is entry["min"] is entry["max"] is entry["quartiles"] is None
        return
    assert entry["min"] == finite.min() and entry["max"] == finite.max()
    assert entry["mean"] == pytest.approx(finite.mean(), rel=1e-9, abs=1e-9)
    if finite.size > 1:
        assert entry["std"] == pytest.approx(np.std(finite, ddof=1), rel=1e-7, abs=1e-9)
    else:
        assert entry["std"] is None
    assert entry["quartiles"] == pytest.approx(np.percentile(finite, [25, 50, 75]), rel=1e-12, abs=1e-12)
    if finite.min() == finite.max():
        assert entry["bins"] == [finite.min(), finite.max()] and entry["counts"] == [finite.size]
    else:
        counts, edges = np.histogram(finite, bins=bins)
        assert entry["counts"] == counts.tolist()
        assert entry["bins"] == pytest.approx(edges.tolist(), rel=1e-12)


def check_nominal(entry, series: pd.Series, max_categories: int) -> None:
    counted = series.astype(object).value_counts(dropna=True)
    declared = list(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype) else []
    position = {name: k for k, name in enumerate(declared)}
    ordered = sorted(counted.items(), key=lambda kv: (-kv[1], position.get(kv[0], len(position)), kv[0]))
    top = ordered[:max_categories]
    assert entry["type"] == "nominal"
    assert entry["categories"] == [name for name, _ in top]
    assert entry["counts"] == [int(count) for _, count in top]
    assert entry["count"] == int(series.count())
    assert entry["missing"] == int(series.isna().sum())
    assert entry["distinct"] == len(counted)
    assert entry["other_count"] == int(sum(count for _, count in ordered[max_categories:]))


@SETTINGS
@given(frames())
def test_correlation_is_pairwise_complete_pearson(df):
    stats = statistics_of_frame(df)
    assert_strict_json(stats)
    numeric = [name for name in df.columns if name.startswith("num")]
    correlation = stats["correlation"]
    if len(numeric) < 2:
        assert correlation is None
        return
    assert correlation["features"] == numeric and correlation["omitted_features"] == []
    for i, a in enumerate(numeric):
        for j, b in enumerate(numeric):
            check_pair(correlation["matrix"][i][j], df[a].to_numpy(float), df[b].to_numpy(float))


def check_pair(actual, x: np.ndarray, y: np.ndarray) -> None:
    both = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[both], y[both]
    defined = xs.size >= 2 and np.ptp(xs) > 0 and np.ptp(ys) > 0
    if not defined:
        assert actual is None
        return
    expected = pd.Series(xs).corr(pd.Series(ys))
    # The engine centres on each column's overall finite mean; its precision (and its rule that
    # a pairwise variance under 1e-10 of that sum of squares is zero) depends on this ratio.
    conditioning = max(_conditioning(x, xs), _conditioning(y, ys))
    if actual is None:
        assert conditioning > 1e9, (expected, conditioning)
        return
    assert actual == pytest.approx(expected, abs=1e-9 + 1e-13 * conditioning)


def _conditioning(column: np.ndarray, subset: np.ndarray) -> float:
    centred = subset - column[np.isfinite(column)].mean()
    variance = float(np.sum((subset - subset.mean()) ** 2))
    return float(np.sum(centred**2)) / variance if variance > 0 else math.inf


@SETTINGS
@given(frames(), st.integers(0, 40))
def test_preview_is_the_head_with_types_kept(df, max_rows):
    stats = statistics_of_frame(df, settings=StatsSettings(max_preview_rows=max_rows))
    assert_strict_json(stats)
    preview = stats["preview"]
    assert preview["total_rows"] == len(df)
    assert preview["columns"] == list(df.columns)
    head = df.head(max_rows)
    assert len(preview["rows"]) == len(head)
    for r, row in enumerate(preview["rows"]):
        for c, name in enumerate(df.columns):
            original = head[name].iloc[r]
            shown = row[c]
            if pd.isna(original) or (isinstance(original, float) and math.isinf(original)):
                assert shown is None
            elif isinstance(original, (np.integer,)):
                assert type(shown) is int and shown == int(original)
            elif isinstance(original, (float, np.floating)):
                assert type(shown) is float and shown == float(original)
            else:
                assert shown == str(original)
