"""The engine reads arrow tables; tests that build their data with pandas convert it here."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from openml_backend.stats import StatsSettings, compute_statistics


def statistics_of_frame(df: pd.DataFrame, features=None, settings: StatsSettings = StatsSettings()) -> dict:
    """compute_statistics of `df` as arrow (categoricals become dictionaries, NaN becomes null)."""
    return compute_statistics(pa.Table.from_pandas(df, preserve_index=False), features, settings)
