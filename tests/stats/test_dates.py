"""The histogram over time of date and timestamp columns, against numpy.histogram on the same
integer ticks (days since 1970 for dates, the timestamp's unit otherwise)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from openml_backend.stats import FeatureInfo, StatsSettings, compute_statistics
from openml_backend.stats.temporal import summarize_dates

RNG = np.random.default_rng(20261201)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamp_histogram_matches_numpy(unit: str) -> None:
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    seconds = RNG.integers(0, 50 * 365 * 86400, size=2000)  # 1970 to 2020
    ticks = seconds * scale + RNG.integers(0, scale, size=seconds.size)
    column = pa.chunked_array([pa.array(ticks[:700], pa.int64()).cast(pa.timestamp(unit)),
                               pa.array([None], pa.timestamp(unit)),
                               pa.array(ticks[700:], pa.int64()).cast(pa.timestamp(unit))])
    entry = summarize_dates(column, 20)
    counts, edges = np.histogram(ticks, bins=20)
    assert entry["counts"] == counts.tolist()
    assert (entry["count"], entry["missing"]) == (2000, 1)
    first = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(ticks.min()) * 10**6 // scale)
    last = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(ticks.max()) * 10**6 // scale)
    # edges are rounded to the microsecond: nanosecond ticks may round to the next one
    assert abs(dt.datetime.fromisoformat(entry["bins"][0]) - first) <= dt.timedelta(microseconds=1)
    assert abs(dt.datetime.fromisoformat(entry["bins"][-1]) - last) <= dt.timedelta(microseconds=1)
    middle = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=float(edges[10]) * 10**6 / scale)
    assert abs(dt.datetime.fromisoformat(entry["bins"][10]) - middle) <= dt.timedelta(microseconds=1)


def test_date_histogram_counts_days() -> None:
    days = RNG.integers(-3000, 20000, size=500)
    dates = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    entry = summarize_dates(pa.chunked_array([pa.array(dates, pa.date32())]), 7)
    counts, edges = np.histogram(days, bins=7)
    assert entry["counts"] == counts.tolist()
    assert entry["bins"][0] == iso(dt.datetime.combine(min(dates), dt.time()))
    assert entry["bins"][-1] == iso(dt.datetime.combine(max(dates), dt.time()))
    assert len(entry["bins"]) == 8


def test_one_value_is_one_degenerate_bin_and_no_value_no_bin() -> None:
    moment = dt.datetime(2021, 3, 4, 5, 6, 7)
    same = summarize_dates(pa.chunked_array([pa.array([moment] * 3 + [None], pa.timestamp("ms"))]))
    assert (same["bins"], same["counts"]) == ([iso(moment), iso(moment)], [3])
    empty = summarize_dates(pa.chunked_array([pa.array([None, None], pa.timestamp("ms"))]))
    assert (empty["bins"], empty["counts"], empty["min"]) == ([], [], None)


def test_the_engine_uses_histogram_bins() -> None:
    table = pa.table({"when": pa.array([dt.date(2020, 1, d) for d in range(1, 29)], pa.date32())})
    entry = compute_statistics(table, [FeatureInfo("when", "date")], StatsSettings(histogram_bins=4))
    assert entry["distribution"]["when"]["counts"] == [7, 7, 7, 7]
