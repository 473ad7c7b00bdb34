"""What bounding a fetch with a child process costs, against the same fetch in-process.

Runs the stand-in OpenML server and loads iris (parquet) and anneal (ARFF) cold, each into a
fresh cache, N times per variant, printing medians and ratios measured in this one run:

* in-process: ``openml.datasets.get_dataset`` + the same file reading, no time bound;
* forkserver (what ``openml_client.load_dataset`` does): first call (starts the forkserver) and later ones;
* spawn (the alternative: a fresh interpreter per fetch);
* warm: ``load_dataset`` when the cache is complete (no child, no network).

Also prints the resident memory of the forkserver process the design keeps per worker.
Run: ``python -m bench.openml_fetch_overhead [N]``.

``python -m bench.openml_fetch_overhead cold [--rows 1000000 5000000] [--repeats 3] [--before DIR]``
measures a cold statistics request through HTTP instead: production gunicorn (one worker,
MariaDB) against the stand-in OpenML serving generated datasets of each size x 29 columns
(``bench_stats.generate``), each request for a dataset never seen (no statistics entry, no
downloaded file). The first request reaches a worker that has just started answering /health
(a pod that just became ready), the others a worker that has served before. The floor,
measured in the same run next to each request, in a fresh process: streaming the same parquet
file from the same stand-in server plus ``pyarrow.parquet.read_table`` of it. Target: a cold
request <= 3x the floor. ``--before DIR`` runs the same against the code in DIR too (e.g.
``git archive <commit> | tar -x -C DIR``), started the same way.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    if sys.argv[1:2] == ["cold"]:
        cold_requests(sys.argv[2:])
        return
    if sys.argv[1:2] == ["floor"]:
        floor(sys.argv[2])
        return
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


# --- a cold statistics request through HTTP, against the floor -----------------------------

BIG_ID_BASE = 8000  # ids of the generated datasets: BIG_ID_BASE + 100 * size index + request number


def cold_requests(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="openml_fetch_overhead cold")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="cold requests per size and server (default 3)")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    args = parser.parse_args(argv)

    from bench.bench_stats import generate
    from tests.standin_openml import StandinOpenML
    from tests.standin_openml.datasets import Catalogue

    trees = [("after", REPO_ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    scratch = Path(tempfile.mkdtemp(prefix="cold-request-"))
    catalogue = Catalogue()
    for index, rows in enumerate(args.rows):
        path = scratch / f"generated-{rows}.parquet"
        generate(path, rows)
        data = path.read_bytes()
        path.unlink()
        for k in range(len(trees) * args.repeats):
            dataset = _big_dataset(BIG_ID_BASE + 100 * index + k, rows, data)
            catalogue.datasets[dataset.dataset_id] = dataset
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    with StandinOpenML(catalogue=catalogue) as server:
        for index, rows in enumerate(args.rows):
            for t, (label, tree) in enumerate(trees):
                ids = [BIG_ID_BASE + 100 * index + t * args.repeats + k for k in range(args.repeats)]
                results[label, rows] = _cold_requests_against(tree, server, ids, scratch / f"{label}-{rows}")
    shutil.rmtree(scratch, ignore_errors=True)

    print("cold statistics request through HTTP (production gunicorn, 1 worker, MariaDB; stand-in OpenML "
          "on loopback); floor = stream the parquet file from the same server + pyarrow read, same run")
    print(f"{'code':<7} {'rows x 29':>10} {'floor s':>8} {'first s':>8} {'ratio':>6} {'later s':>8} {'ratio':>6}")
    for (label, rows), r in results.items():
        base = statistics.median(r["floor"])
        first, later = r["cold"][0], statistics.median(r["cold"][1:] or r["cold"])
        print(f"{label:<7} {rows:>10,} {base:>8.3f} {first:>8.3f} {first / base:>6.2f} "
              f"{later:>8.3f} {later / base:>6.2f}")
    print("first: the worker's first request, just after it answered /health; later: the median of the "
          "others. Target: ratio <= 3.")


def _big_dataset(dataset_id: int, rows: int, parquet: bytes):
    """The stand-in's entry for a generated file: its features read off the file's schema, with
    the nominal values the generator writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.bench_stats import CARDINALITIES
    from tests.standin_openml.datasets import _finish, description_xml, features_from_table

    empty = pq.read_schema(pa.BufferReader(parquet)).empty_table()
    cardinality = {f"nom_{c}": c for c in CARDINALITIES} | {"target": 4}
    features = [
        replace(f, nominal_values=tuple(f"v{v}" for v in range(cardinality[f.name])))
        if f.data_type == "nominal" else f
        for f in features_from_table(empty, target="target")
    ]
    name = f"generated-{rows}"
    description = description_xml(dataset_id, name, with_parquet=True, default_target="target")
    return _finish(dataset_id, name, description, features, arff=None, parquet=parquet)


def _cold_requests_against(tree: Path, server, ids: list[int], scratch: Path) -> dict[str, list[float]]:
    """Start production gunicorn from `tree`, then request each id's statistics once, cold; and
    next to each request, measure the floor."""
    import requests
    from sqlalchemy.engine import make_url

    from tests.helpers import fresh_mariadb_database
    from tests.servers import gunicorn, production_environment
    from tests.standin_openml.datasets import parquet_path_for

    scratch.mkdir(parents=True)
    timings: dict[str, list[float]] = {"cold": [], "floor": []}
    with fresh_mariadb_database("openml_backend_cold") as uri:
        database_uri = make_url(uri).set(drivername="mysql").render_as_string(hide_password=False)
        env = production_environment(scratch, database_uri, server.api_url, OPENML_TIMEOUT="300",
                                     GUNICORN_WORKERS="1", GUNICORN_THREADS="4")
        migration = subprocess.run([str(tree / "docker/entrypoint.sh"), "migrate"], env=env,
                                   capture_output=True, text=True, timeout=300)
        assert migration.returncode == 0, migration.stdout + migration.stderr
        command = ["gunicorn", "--config", str(tree / "docker/gunicorn.conf.py"), "--workers", "1",
                   "--threads", "4", "--timeout", "600", "autoapp:app"]
        # `env -C`: gunicorn imports the app of `tree` from its working directory.
        wrapper = ["env", "-C", str(tree)]
        with gunicorn(env, scratch / "server.log", command=command, wrapper=wrapper) as gunicorn_server:
            for dataset_id in ids:
                started = time.perf_counter()
                answer = requests.get(f"{gunicorn_server.url}/api/v1/datasets/{dataset_id}/stats", timeout=600)
                timings["cold"].append(time.perf_counter() - started)
                assert answer.status_code == 200 and answer.json()["cached"] is False, answer.text[:500]
                timings["floor"].append(_floor_in_fresh_process(server.url + parquet_path_for(dataset_id)))
                print(f"  {tree}: dataset {dataset_id}: cold request {timings['cold'][-1]:.3f} s, "
                      f"floor {timings['floor'][-1]:.3f} s", flush=True)
    return timings


def _floor_in_fresh_process(url: str) -> float:
    completed = subprocess.run([sys.executable, "-m", "bench.openml_fetch_overhead", "floor", url],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        raise SystemExit(f"the floor measurement failed ({completed.returncode}): {completed.stderr[-3000:]}")
    return float(completed.stdout.split()[-1])


def floor(url: str) -> None:
    """Stream `url` into memory and read it with pyarrow; print the seconds both took."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    import requests

    started = time.perf_counter()
    with requests.get(url, stream=True, timeout=600) as response:
        response.raise_for_status()
        buffer = io.BytesIO()
        for chunk in response.iter_content(1 << 20):
            buffer.write(chunk)
    pq.read_table(pa.BufferReader(buffer.getbuffer()))
    print(f"{time.perf_counter() - started:.6f}", flush=True)
    # Without interpreter teardown: pyarrow's threads then sometimes abort the process.
    os._exit(0)


if __name__ == "__main__":
    main()
