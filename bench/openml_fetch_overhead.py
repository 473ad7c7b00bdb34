"""What bounding a fetch with a child process costs, against the same fetch in-process.

Runs the stand-in OpenML server and loads iris (parquet) and anneal (ARFF) cold, each into a
fresh cache, N times per variant, printing medians and ratios measured in this one run:

* in-process: ``openml.datasets.get_dataset`` + the same file reading, no time bound;
* forkserver (what ``openml_client.load_dataset`` does): first call (starts the forkserver) and later ones;
* spawn (the alternative: a fresh interpreter per fetch);
* warm: ``load_dataset`` when the cache is complete (no child, no network).

Also prints the resident memory of the forkserver process the design keeps per worker.
Run: ``python -m bench.openml_fetch_overhead [N]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    scratch = Path(tempfile.mkdtemp(prefix="fetch-overhead-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")  # keep the in-process client's side effects here
    os.environ["OPENML_CACHE_DIR"] = str(scratch / "client")

    import openml
    import pyarrow.parquet as pq

    from openml_backend import openml_client
    from openml_backend.openml_client.child import arff_to_table
    from tests.standin_openml import StandinOpenML

    server = StandinOpenML().start()
    counter = iter(range(10**6))

    def fresh_settings() -> openml_client.OpenMLSettings:
        return openml_client.OpenMLSettings(server.api_url, str(scratch / f"cache-{next(counter)}"), timeout=60.0)

    def in_process(dataset_id: int) -> None:
        settings = fresh_settings()
        openml.config.server = settings.server_url
        openml.config.set_root_cache_directory(settings.cache_dir)
        openml.config.connection_n_retries = 1
        dataset = openml.datasets.get_dataset(
            dataset_id, download_data=True, download_qualities=False, download_features_meta_data=True
        )
        if dataset.parquet_file:
            pq.read_table(dataset.parquet_file)
        else:
            arff_to_table(Path(dataset.data_file))

    def timed(action, dataset_id: int) -> float:
        started = time.perf_counter()
        action(dataset_id)
        return time.perf_counter() - started

    def via_child(dataset_id: int, start_method: str = "forkserver") -> None:
        settings = fresh_settings()
        openml_client.load_dataset(dataset_id, openml_client.OpenMLSettings(
            settings.server_url, settings.cache_dir, timeout=60.0, fetch_start_method=start_method))

    first_forkserver = timed(via_child, 61)
    results: dict[str, dict[int, float]] = {}
    for label, action in (("in-process", in_process), ("forkserver", via_child)):
        results[label] = {d: statistics.median(timed(action, d) for _ in range(repeats)) for d in (61, 2)}

    warm_settings = fresh_settings()
    openml_client.load_dataset(61, warm_settings)
    openml_client.load_dataset(2, warm_settings)
    results["warm"] = {
        d: statistics.median(timed(lambda i: openml_client.load_dataset(i, warm_settings), d) for _ in range(repeats))
        for d in (61, 2)
    }

    forkserver_rss = _forkserver_rss_mib()
    results["spawn"] = {d: statistics.median(timed(lambda i: via_child(i, "spawn"), d) for _ in range(max(2, repeats // 2))) for d in (61, 2)}
    server.stop()

    base = results["in-process"]
    print(f"cold fetch, median of {repeats} (seconds; ratio to in-process)")
    for label, by_id in results.items():
        cells = "  ".join(f"{name} {by_id[d]:.3f} s ({by_id[d] / base[d]:.2f}x)" for d, name in ((61, "iris/parquet"), (2, "anneal/ARFF")))
        print(f"  {label:<11} {cells}")
    print(f"  first fetch in a process (starts the forkserver, imports openml): {first_forkserver:.2f} s")
    print(f"  forkserver resident memory: {forkserver_rss}")


def _forkserver_rss_mib() -> str:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.forkserver" in cmdline and f"PPid:\t{os.getpid()}\n" in status:
            rss_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            return f"{rss_kib / 1024:.0f} MiB"
    return "not found"


if __name__ == "__main__":
    main()
