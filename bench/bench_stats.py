"""Benchmark of the statistics cold path against reading the parquet file alone.

For each row count (default 1,000,000 and 5,000,000), generates a deterministic parquet file of
N rows x 29 columns: 20 float columns with about 5% missing, 8 nominal columns of cardinalities
2, 3, 5, 10, 20, 50, 100, 1000 and a nominal target. Then measures, each repeat in a fresh
subprocess (so ru_maxrss is that case's own peak):
  (a) pyarrow.parquet.read_table of the file alone (the baseline);
  (b) before: read_table + compute_statistics on the whole table;
  (s) after: statistics_of the file within the default memory budget (a column at a time);
  (c) an old-style pandas computation like the system this project replaces (one run, first
      row count only; --no-pandas skips it).
Prints the best wall time of each (and the best CPU time: steadier on a shared machine), the
ratios to (a) of the same file, and the largest peak RSS of the children (VmHWM; the data is
generated in a child too, so no child inherits a large parent's ru_maxrss).
Targets: (s)/(a) <= 3; peak RSS of (s) at 5M <= 700 MiB and <= 1.5x its figure at 1M.

Usage: python bench/bench_stats.py [--rows N[,N...]] [--repeats K] [--no-pandas] [--no-before]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CARDINALITIES = (2, 3, 5, 10, 20, 50, 100, 1000)


def generate(path: Path, rows: int, seed: int = 20261126) -> None:
    """Write the benchmark parquet file (deterministic for a given seed)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    arrays, names = [], []
    for k in range(20):
        values = rng.normal(loc=k, scale=1 + k, size=rows)
        arrays.append(pa.array(values, mask=rng.random(rows) < 0.05))
        names.append(f"num_{k:02d}")
    for name, cardinality in [(f"nom_{c}", c) for c in CARDINALITIES] + [("target", 4)]:
        indices = rng.integers(0, cardinality, size=rows, dtype=np.int32)
        dictionary = pa.array([f"v{v}" for v in range(cardinality)])
        arrays.append(pa.DictionaryArray.from_arrays(pa.array(indices), dictionary))
        names.append(name)
    pq.write_table(pa.table(arrays, names=names), path)


def child(mode: str, path: str) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    import pyarrow.parquet as pq

    sys.path.insert(0, str(REPO_ROOT))
    from openml_backend.stats import FeatureInfo, compute_statistics

    from openml_backend.stats import MemoryBudget, open_table_file, statistics_of

    def features_of(names):
        return [FeatureInfo(name, "numeric" if name.startswith("num_") else "nominal", is_target=name == "target")
                for name in names]

    size = result = None
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "read":
        table = pq.read_table(path)
    elif mode == "stats":
        table = pq.read_table(path)
        result = compute_statistics(table, features_of(table.column_names))
    elif mode == "stream":
        source = open_table_file(path, "parquet")
        result = statistics_of(source, features_of(source.schema.names), budget=MemoryBudget())
    else:
        _old_style_pandas(path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if result is not None:
        import orjson

        size = len(orjson.dumps(result))
    # ru_maxrss of a child counts its parent's pages from before exec (Linux keeps the value
    # across execve), so a big parent inflates it; VmHWM is this program's own peak.
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status") as status:
        hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mib": hwm_kib / 1024, "maxrss_mib": peak_kib / 1024,
                      "json_bytes": size}))


def _old_style_pandas(path: str) -> dict:
    # Roughly what the replaced backend did: pandas frame, NaN filled with the mode, describe,
    # histograms, value counts of every category, corr.
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(path)
    out = {}
    for name in df.columns:
        column = df[name]
        column = column.fillna(column.mode().iloc[0])
        if pd.api.types.is_numeric_dtype(column):
            counts, edges = np.histogram(column, bins=20)
            out[name] = {"describe": column.describe().to_dict(), "counts": counts.tolist(), "bins": edges.tolist()}
        else:
            out[name] = column.value_counts().to_dict()
        df[name] = column
    out["corr"] = df.select_dtypes("number").corr().to_dict()
    return out


def run_child(mode: str, path: Path) -> dict:
    """One measurement in a fresh interpreter (so its peak RSS is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(modes: list[str], path: Path, repeats: int) -> dict[str, dict]:
    """Best time per mode over `repeats` rounds, the modes interleaved within each round so load
    from other processes hits them alike; and the largest peak RSS seen per mode."""
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            runs[mode].append(run_child(mode, path))
    return {
        mode: {
            "seconds": min(r["seconds"] for r in results),
            "cpu": min(r["cpu"] for r in results),
            "peak_mib": max(r["peak_mib"] for r in results),
            "json_bytes": results[-1]["json_bytes"],
        }
        for mode, results in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000000,5000000", help="row counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-before", action="store_true", help="skip the whole-table path (b)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("ROWS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.generate:
        generate(Path(args.generate[1]), int(args.generate[0]))
        return
    row_counts = [int(n) for n in args.rows.split(",")]
    peaks: dict[int, float] = {}
    for rows in row_counts:
        with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
            path = Path(tmp) / "bench.parquet"
            started = time.perf_counter()
            # in a child: generating 5M rows in this process would leave it large
            subprocess.run([sys.executable, __file__, "--generate", str(rows), str(path)], check=True, timeout=600)
            print(f"\n== {rows} rows x 29 columns ({path.stat().st_size / 2**20:.1f} MiB), generated in "
                  f"{time.perf_counter() - started:.1f} s; cpus={os.cpu_count()}")
            modes = ["read", "stream"] + ([] if args.no_before else ["stats"])
            measured = measure(modes, path, args.repeats)
            read = measured["read"]
            print(f"(a) read_table                  best {read['seconds']:.3f} s (CPU {read['cpu']:.3f} s)"
                  f"   peak RSS {read['peak_mib']:.0f} MiB")
            labels = {"stats": "(b) before: read + whole table", "stream": "(s) after: streamed, budgeted"}
            for mode in modes[1:]:
                got = measured[mode]
                print(f"{labels[mode]:31s} best {got['seconds']:.3f} s (CPU {got['cpu']:.3f} s)"
                      f"   peak RSS {got['peak_mib']:.0f} MiB   JSON {got['json_bytes'] / 1024:.0f} KiB"
                      f"   time ratio to (a) {got['seconds'] / read['seconds']:.2f}"
                      f" (CPU {got['cpu'] / read['cpu']:.2f})   RSS ratio to (a) {got['peak_mib'] / read['peak_mib']:.2f}")
            peaks[rows] = measured["stream"]["peak_mib"]
            if not args.no_pandas and rows == row_counts[0]:
                old = measure(["pandas"], path, 1)["pandas"]
                print(f"(c) old-style pandas            once {old['seconds']:.3f} s   peak RSS {old['peak_mib']:.0f} MiB"
                      f"   time ratio to (a) {old['seconds'] / read['seconds']:.2f}")
    print("\ntargets: (s)/(a) <= 3 at every size; peak RSS of (s) <= 700 MiB")
    if len(peaks) > 1:
        low, high = min(peaks), max(peaks)
        print(f"peak RSS of (s): {peaks[high]:.0f} MiB at {high} rows = {peaks[high] / peaks[low]:.2f}x "
              f"its {peaks[low]:.0f} MiB at {low} rows (target <= 1.5x)")


if __name__ == "__main__":
    main()
