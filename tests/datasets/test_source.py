"""The OpenML loader against the stand-in server, through the real ``openml`` client over HTTP.

Expected values come from the fixture files themselves (parsed here with plain string
handling) or from scikit-learn's iris, never from the loader's output.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openml_backend.openml_client import (
    DatasetForbidden,
    DatasetNotFound,
    DatasetUnparseable,
    OpenMLError,
    OpenMLSettings,
    OpenMLUnavailable,
    load_dataset,
)
from openml_backend.openml_client import local_cache
from tests.paths import REPO_ROOT, openml_fixture
from tests.standin_openml.datasets import IRIS_CLASSES

# Generous: the bound under test is the settings' timeout; this only absorbs a busy machine.
SLACK_SECONDS = 5.0


def with_timeout(settings: OpenMLSettings, timeout: float) -> OpenMLSettings:
    return OpenMLSettings(settings.server_url, settings.cache_dir, timeout=timeout, retries=settings.retries)


def dataset_dir(settings: OpenMLSettings, dataset_id: int) -> Path:
    return local_cache.dataset_dir(settings.cache_dir, settings.server_url, dataset_id)


def lock_files(settings: OpenMLSettings) -> list[str]:
    """The names of the lock files in the cache (one per dataset folder, at most)."""
    return sorted(path.name for path in Path(settings.cache_dir, ".locks").rglob("*.lock"))


def arff_rows(path: Path) -> list[list[str]]:
    """The data lines of a dense ARFF without quoting (anneal), split on commas."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.lower().startswith("@data"))
    return [line.split(",") for line in lines[start + 1 :] if line.strip() and not line.startswith("%")]


# --- the real fixtures ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("dataset_id", "name", "rows", "columns", "source_format"),
    [
        (2, "anneal", 898, 39, "arff"),
        (30, "abalone", 4177, 9, "parquet"),
        (61, "iris", 150, 5, "parquet"),
        pytest.param(4136, "dexter", 2, 20001, "arff", marks=pytest.mark.slow),  # 20,001 columns
    ],
)
def test_fixture_datasets_load_with_their_shape(openml_settings, dataset_id, name, rows, columns, source_format):
    dataset = load_dataset(dataset_id, openml_settings)

    assert (dataset.dataset_id, dataset.name, dataset.version) == (dataset_id, name, 1)
    assert (dataset.table.num_rows, dataset.table.num_columns) == (rows, columns)
    assert dataset.source_format == source_format
    assert [f.name for f in dataset.features] == dataset.table.column_names


def test_anneal_missing_values_types_and_target_match_the_arff(openml_settings):
    arff_path = openml_fixture("datasets", "2", "dataset.arff")
    rows = arff_rows(arff_path)
    expected_missing = [sum(row[i] == "?" for row in rows) for i in range(39)]

    dataset = load_dataset(2, openml_settings)

    assert [dataset.table.column(i).null_count for i in range(39)] == expected_missing
    assert expected_missing[0] == 898 - sum(row[0] != "?" for row in rows) and expected_missing[0] > 0
    by_name = {f.name: f for f in dataset.features}
    assert [f.name for f in dataset.features if f.is_target] == ["class"]
    assert by_name["family"].data_type == "nominal"
    assert by_name["family"].nominal_values == ("GB", "GK", "GS", "TN", "ZA", "ZF", "ZH", "ZM", "ZS")
    assert pa.types.is_dictionary(dataset.table.schema.field("family").type)
    assert dataset.table.schema.field("carbon").type == pa.float64()
    expected_thick = [float(row[32]) for row in rows]
    assert dataset.table.column("thick").to_pylist() == expected_thick
    expected_class = [row[38] for row in rows]
    assert dataset.table.column("class").cast(pa.string()).to_pylist() == expected_class
    assert dataset.checksum == "4eaed8b6ec9d8211024b6c089b064761"  # the md5 in the fixture's description


def test_iris_is_fishers_data_with_openml_names(openml_settings):
    from sklearn.datasets import load_iris

    bunch = load_iris()
    dataset = load_dataset(61, openml_settings)

    assert dataset.table.column_names == ["sepallength", "sepalwidth", "petallength", "petalwidth", "class"]
    for i, name in enumerate(dataset.table.column_names[:4]):
        assert dataset.table.column(name).to_pylist() == pytest.approx(list(bunch.data[:, i]))
    classes = dataset.table.column("class").cast(pa.string()).to_pylist()
    assert classes == [IRIS_CLASSES[t] for t in bunch.target]
    assert {c: classes.count(c) for c in IRIS_CLASSES} == {c: 50 for c in IRIS_CLASSES}
    target = [f for f in dataset.features if f.is_target]
    assert [(f.name, f.nominal_values) for f in target] == [("class", IRIS_CLASSES)]


def test_abalone_is_the_fixture_parquet_unchanged(openml_settings):
    expected = pq.read_table(openml_fixture("datasets", "30", "dataset_30.pq"))

    dataset = load_dataset(30, openml_settings)

    assert dataset.table.equals(expected)
    nominal = {f.name: f.nominal_values for f in dataset.features if f.data_type == "nominal"}
    assert set(nominal) == {"Sex", "Class_number_of_rings"}
    assert nominal["Sex"] == ("M", "F", "I")


@pytest.mark.slow  # 20,001 columns
def test_dexter_sparse_values_land_in_their_columns(openml_settings):
    text = openml_fixture("datasets", "dexter", "dataset.arff").read_text(encoding="utf-8")
    sparse_rows = [line.strip() for line in text.split("@data", 1)[1].splitlines() if line.strip().startswith("{")]
    expected = []
    for line in sparse_rows:
        pairs = [item.split() for item in line.strip("{}").split(",")]
        expected.append({int(index): value for index, value in pairs})

    dataset = load_dataset(4136, openml_settings)

    assert len(expected) == dataset.table.num_rows == 2
    for row_number, entries in enumerate(expected):
        for index, value in list(entries.items())[:50]:
            cell = dataset.table.column(index)[row_number].as_py()
            assert (str(cell) if index == 20000 else cell) == (value if index == 20000 else float(value))
        untouched = next(i for i in range(20000) if i not in entries)
        assert dataset.table.column(untouched)[row_number].as_py() == 0.0


# --- generated edge cases --------------------------------------------------------------------

def test_empty_and_one_row_datasets(openml_settings):
    empty = load_dataset(9001, openml_settings)
    one = load_dataset(9002, openml_settings)

    assert (empty.table.num_rows, empty.table.num_columns) == (0, 3)
    assert (one.table.num_rows, one.table.column("colour").cast(pa.string()).to_pylist()) == (1, ["red"])


def test_all_missing_columns_are_all_null(openml_settings):
    dataset = load_dataset(9004, openml_settings)

    assert dataset.table.column("nothing_numeric").null_count == 10
    assert dataset.table.column("nothing_nominal").null_count == 10
    assert dataset.table.column("x").null_count == 0


def test_infinities_survive(openml_settings):
    values = load_dataset(9005, openml_settings).table.column("x").to_pylist()

    assert values.count(math.inf) == 2 and values.count(-math.inf) == 1 and values.count(None) == 1


def test_string_and_date_features(openml_settings):
    strings = load_dataset(9006, openml_settings)
    dates = load_dataset(9007, openml_settings)

    assert strings.table.column("text").to_pylist() == ["alpha", "beta gamma", None, "it's", "delta, epsilon"]
    assert {f.name: f.data_type for f in strings.features} == {"text": "string", "x": "numeric"}
    assert pa.types.is_timestamp(dates.table.schema.field("day").type)
    assert {f.name: f.data_type for f in dates.features} == {"day": "date", "x": "numeric"}


def test_target_ignore_and_row_id_roles(openml_settings):
    dataset = load_dataset(9008, openml_settings)

    roles = {f.name: (f.is_target, f.is_ignored, f.is_row_id) for f in dataset.features}
    assert roles == {
        "row_id": (False, False, True),
        "x": (False, False, False),
        "secret": (False, True, False),
        "comment": (False, True, False),
        "outcome": (True, False, False),
    }
    assert dataset.table.num_columns == 5  # ignored and row-id columns are kept, only marked


def test_high_cardinality_nominal(openml_settings):
    dataset = load_dataset(9009, openml_settings)

    city = [f for f in dataset.features if f.name == "city"][0]
    assert len(city.nominal_values) == 120
    assert len(set(dataset.table.column("city").cast(pa.string()).to_pylist())) == 120


def test_arff_integers_stay_integers_with_missing_values(openml_settings):
    dataset = load_dataset(9014, openml_settings)

    assert dataset.source_format == "arff"
    assert dataset.table.schema.field("gappy").type == pa.int64()
    assert dataset.table.column("gappy").to_pylist() == [10, None, 30, None, 50]
    assert dataset.table.column("count").to_pylist() == [1, 2, 300, 4, 5]


def test_corrupt_parquet_falls_back_to_a_good_arff(openml_settings):
    dataset = load_dataset(9013, openml_settings)

    assert dataset.source_format == "arff"
    assert dataset.table.column("x").to_pylist() == [0.0, 0.5, 1.0, 1.5]


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("dataset_id", "error"),
    [
        (9901, DatasetNotFound),  # 412, code 111
        (9902, DatasetNotFound),  # 412, code 352 (the fixture error body)
        (987654, DatasetNotFound),  # not in the catalogue: 111, as OpenML answers
        (9010, DatasetForbidden),  # private: 112
        (9908, DatasetForbidden),
        (9903, OpenMLUnavailable),  # HTTP 500
        (9011, DatasetUnparseable),  # garbage ARFF
        (9012, DatasetUnparseable),  # corrupt parquet and garbage ARFF
    ],
)
def test_openml_errors_map_to_dataset_errors(openml_settings, dataset_id, error):
    with pytest.raises(error) as raised:
        load_dataset(dataset_id, openml_settings)

    assert type(raised.value) is error
    assert raised.value.dataset_id == dataset_id
    assert "http" not in str(raised.value)  # messages never carry URLs


@pytest.mark.parametrize("dataset_id", [0, -1, "2", None, 2.0, True, 10**30 * -1])
def test_invalid_ids_are_not_found_without_asking_openml(standin_openml, openml_settings, dataset_id):
    before = len(standin_openml.requests)

    with pytest.raises(DatasetNotFound):
        load_dataset(dataset_id, openml_settings)

    assert len(standin_openml.requests) == before


def test_refused_connection_is_unavailable(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = OpenMLSettings(f"http://127.0.0.1:{port}/api/v1/xml", str(tmp_path / "cache"), timeout=20.0)

    with pytest.raises(OpenMLUnavailable):
        load_dataset(61, settings)


@pytest.mark.parametrize(
    ("dataset_id", "what"),
    [(9904, "hang on the description"), (9906, "hang on the data download"), (9905, "3 s late description")],
)
def test_a_silent_or_slow_server_is_cut_off_at_the_timeout(openml_settings, dataset_id, what):
    settings = with_timeout(openml_settings, 1.5)
    started = time.monotonic()

    with pytest.raises(OpenMLUnavailable, match="did not answer within 1.5 s"):
        load_dataset(dataset_id, settings)

    assert time.monotonic() - started < 1.5 + SLACK_SECONDS, what


def test_a_slow_server_within_the_timeout_is_waited_for(standin_openml, openml_settings):
    standin_openml.set_fault(61, "slow", on="description", seconds=1.0)

    dataset = load_dataset(61, with_timeout(openml_settings, 30.0))

    assert dataset.table.num_rows == 150


def test_runtime_fault_then_recovery_refetches_the_killed_fetch(standin_openml, openml_settings):
    load_dataset(9002, openml_settings)  # the fetch process server is up: 1.5 s is all network
    standin_openml.set_fault(30, "hang", on="data")
    with pytest.raises(OpenMLUnavailable):
        load_dataset(30, with_timeout(openml_settings, 1.5))
    # The killed fetch got as far as the description; it leaves neither a folder nor a lock.
    assert standin_openml.count("GET", "/api/v1/xml/data/30") >= 1
    assert not dataset_dir(openml_settings, 30).exists()
    assert lock_files(openml_settings) == ["9002.lock"]  # the folder of 9002 is still there
    descriptions_before = standin_openml.count("GET", "/api/v1/xml/data/30")

    standin_openml.clear_faults()
    dataset = load_dataset(30, openml_settings)

    assert dataset.table.num_rows == 4177
    # Nothing was left to reuse, so the description was fetched again.
    assert standin_openml.count("GET", "/api/v1/xml/data/30") == descriptions_before + 1


def test_a_folder_without_marker_is_wiped_before_fetching(openml_settings):
    folder = dataset_dir(openml_settings, 61)
    folder.mkdir(parents=True)
    (folder / "dataset_61.pq").write_bytes(b"half a parquet file")
    (folder / "stray.tmp").write_bytes(b"")

    dataset = load_dataset(61, openml_settings)

    assert dataset.table.num_rows == 150
    assert not (folder / "stray.tmp").exists()
    assert (folder / local_cache.MARKER_NAME).exists()


def test_the_api_key_never_reaches_logs_messages_or_the_server_log(standin_openml, openml_settings, caplog, capfd):
    secret = "SECRET-KEY-4f1c9b"
    settings = OpenMLSettings(openml_settings.server_url, openml_settings.cache_dir, timeout=20.0, apikey=secret)
    before = len(standin_openml.requests)

    for dataset_id in (9903, 9011, 9901):
        with pytest.raises(OpenMLError) as raised:
            load_dataset(dataset_id, settings)
        assert secret not in str(raised.value)
    load_dataset(61, settings)

    out, err = capfd.readouterr()
    assert secret not in caplog.text + out + err
    assert secret not in repr(settings)
    served = standin_openml.requests[before:]
    assert served and all("?" not in path for _, path in served)


# --- cache and concurrency ---------------------------------------------------------------------

def test_a_warm_load_makes_no_request(standin_openml, openml_settings):
    load_dataset(2, openml_settings)
    before = len(standin_openml.requests)

    again = load_dataset(2, openml_settings)

    assert again.table.num_rows == 898
    assert len(standin_openml.requests) == before


def test_an_unreadable_complete_cache_fails_once_then_is_fetched_again(standin_openml, openml_settings):
    load_dataset(61, openml_settings)
    (dataset_dir(openml_settings, 61) / "dataset_61.pq").write_bytes(b"PAR1 damaged on disk PAR1")

    with pytest.raises(DatasetUnparseable):
        load_dataset(61, openml_settings)
    dataset = load_dataset(61, openml_settings)

    assert dataset.table.num_rows == 150


_LOADER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from openml_backend.openml_client import OpenMLSettings, load_dataset
    if __name__ == "__main__":
        server_url, cache_dir, dataset_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
        dataset = load_dataset(dataset_id, OpenMLSettings(server_url, cache_dir, timeout=60.0))
        print(json.dumps([dataset.table.num_rows, dataset.table.num_columns, dataset.source_format]))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(("dataset_id", "shape"), [(2, [898, 39, "arff"]), (30, [4177, 9, "parquet"])])
def test_processes_loading_one_cold_dataset_at_once_all_succeed_and_download_once(
    standin_openml, openml_settings, tmp_path, dataset_id, shape
):
    script = tmp_path / "load_one.py"
    script.write_text(_LOADER_SCRIPT, encoding="utf-8")
    downloads_before = standin_openml.data_downloads(dataset_id)
    # Slow the description down so that all processes are waiting while the first one fetches.
    standin_openml.set_fault(dataset_id, "slow", on="description", seconds=1.0)
    command = [sys.executable, str(script), openml_settings.server_url, openml_settings.cache_dir, str(dataset_id)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert results == [shape] * 3
    assert standin_openml.data_downloads(dataset_id) == downloads_before + 1


def _processes_with_environment_token(token: str) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if token.encode() in (entry / "environ").read_bytes():
                pids.add(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc to find the processes")
def test_a_killed_worker_leaves_no_fetch_process_behind(standin_openml, openml_settings, tmp_path):
    token = f"OPENML_BACKEND_TEST_TOKEN={time.time_ns()}"
    script = tmp_path / "load_one.py"
    script.write_text(_LOADER_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), token.split("=")[0]: token.split("=")[1]}
    before = standin_openml.count("GET", "/api/v1/xml/data/9904")
    worker = subprocess.Popen(
        [sys.executable, str(script), openml_settings.server_url, openml_settings.cache_dir, "9904"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while standin_openml.count("GET", "/api/v1/xml/data/9904") == before:  # the fetch is hanging
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.05)
        assert len(_processes_with_environment_token(token)) >= 3  # worker, forkserver, fetch

        worker.kill()
        worker.wait(timeout=10)

        deadline = time.monotonic() + 20
        while _processes_with_environment_token(token) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_with_environment_token(token) == set()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)


@pytest.mark.slow
def test_the_spawn_start_method_loads_too(openml_settings):
    settings = OpenMLSettings(openml_settings.server_url, openml_settings.cache_dir, timeout=60.0, fetch_start_method="spawn")

    dataset = load_dataset(61, settings)

    assert (dataset.table.num_rows, dataset.source_format) == (150, "parquet")


@pytest.mark.parametrize(
    "bad", [{"timeout": 0}, {"timeout": -1.0}, {"retries": 0}, {"fetch_start_method": "fork"}]
)
def test_settings_reject_unusable_values(tmp_path, bad):
    with pytest.raises(ValueError):
        OpenMLSettings("http://127.0.0.1:1/api/v1/xml", str(tmp_path), **bad)


_SIDE_EFFECT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from openml_backend.openml_client import OpenMLSettings, load_dataset
    if __name__ == "__main__":
        dataset = load_dataset(61, OpenMLSettings(sys.argv[1], sys.argv[2], timeout=60.0))
        print(json.dumps([dataset.table.num_rows, "openml" in sys.modules]))
    """
)


@pytest.mark.slow
def test_the_worker_never_imports_openml_and_nothing_is_written_to_home(openml_settings, tmp_path):
    # A short TMPDIR: the forkserver's unix socket lives there, and AF_UNIX paths stop at 108
    # bytes (pytest-xdist's tmp_path is longer than that allows).
    short_temp = tempfile.TemporaryDirectory(prefix="owk-")
    home, temp = tmp_path / "home", Path(short_temp.name)
    home.mkdir()
    script = tmp_path / "load_iris.py"
    script.write_text(_SIDE_EFFECT_SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "OPENML_"))}
    env.update(HOME=str(home), TMPDIR=str(temp), PYTHONPATH=str(REPO_ROOT))

    result = subprocess.run(
        [sys.executable, str(script), openml_settings.server_url, openml_settings.cache_dir],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [150, False]
    assert list(home.iterdir()) == []  # no ~/.config/openml, no ~/.cache/openml
    assert [p.name for p in temp.iterdir()] == [f"openml-backend-client-{os.getuid()}"]
    short_temp.cleanup()


def test_threads_loading_one_cold_dataset_share_one_download(standin_openml, openml_settings):
    from concurrent.futures import ThreadPoolExecutor

    downloads_before = standin_openml.data_downloads(2)
    standin_openml.set_fault(2, "slow", on="description", seconds=0.5)

    with ThreadPoolExecutor(max_workers=4) as pool:
        shapes = list(pool.map(lambda _: load_dataset(2, openml_settings).table.shape, range(4)))

    assert shapes == [(898, 39)] * 4
    assert standin_openml.data_downloads(2) == downloads_before + 1


# --- the size of the download cache --------------------------------------------------------

# Sizes on disk, about: 9003 4.3 KB, 9002 3.5 KB, 9008 5.2 KB. This limit holds any two of
# them, not all three.
SMALL_A, SMALL_B, SMALL_C = 9003, 9002, 9008
TWO_OF_THREE = 11_000


def with_cache_limit(settings: OpenMLSettings, limit: int) -> OpenMLSettings:
    return OpenMLSettings(settings.server_url, settings.cache_dir, timeout=settings.timeout,
                          retries=settings.retries, cache_max_bytes=limit)


def cached_ids(settings: OpenMLSettings) -> set[int]:
    datasets = dataset_dir(settings, 0).parent
    return {int(p.name) for p in datasets.iterdir()}


def test_the_least_recently_used_dataset_is_pruned_first(openml_settings):
    settings = with_cache_limit(openml_settings, TWO_OF_THREE)
    load_dataset(SMALL_A, settings)
    time.sleep(0.05)
    load_dataset(SMALL_B, settings)
    time.sleep(0.05)
    load_dataset(SMALL_A, settings)  # a use from the cache: A is now more recent than B
    time.sleep(0.05)

    load_dataset(SMALL_C, settings)

    assert cached_ids(settings) == {SMALL_A, SMALL_C}
    assert lock_files(settings) == [f"{SMALL_A}.lock", f"{SMALL_C}.lock"]
    sizes = [sum(f.stat().st_size for f in dataset_dir(settings, d).rglob("*") if f.is_file())
             for d in (SMALL_A, SMALL_C)]
    assert sum(sizes) <= TWO_OF_THREE


HOLD_SHARED_LOCK = textwrap.dedent("""
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_SH)
    print("held", flush=True)
    time.sleep(60)
""")


def test_a_folder_another_process_holds_is_never_pruned(openml_settings):
    settings = with_cache_limit(openml_settings, TWO_OF_THREE)
    load_dataset(SMALL_B, settings)  # the least recently used from here on
    time.sleep(0.05)
    load_dataset(SMALL_A, settings)
    time.sleep(0.05)
    (lock_path,) = Path(settings.cache_dir, ".locks").rglob(f"{SMALL_B}.lock")
    reader = subprocess.Popen([sys.executable, "-c", HOLD_SHARED_LOCK, str(lock_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "held"  # another process reads B now

        load_dataset(SMALL_C, settings)

        # B is held: the next least recently used went instead, and B is still complete.
        assert cached_ids(settings) == {SMALL_B, SMALL_C}
        assert local_cache.read_marker(dataset_dir(settings, SMALL_B)) is not None
    finally:
        reader.kill()
        reader.wait(timeout=10)
        reader.stdout.close()
    assert load_dataset(SMALL_B, settings).table.num_rows == 1


def test_removing_lock_files_keeps_the_lock_exclusive(openml_settings):
    # Holders remove the lock file as they release it (as a failed fetch or prune does) while
    # others wait on it: at no moment may two threads hold the exclusive lock.
    import threading

    inside, overlaps, errors = [0], [], []
    guard = threading.Lock()

    def worker(number: int) -> None:
        try:
            for round_number in range(150):
                with local_cache.dataset_lock(openml_settings, 61, exclusive=True,
                                              deadline=time.monotonic() + 30) as held:
                    with guard:
                        inside[0] += 1
                        if inside[0] > 1:
                            overlaps.append(round_number)
                    time.sleep(0.0005)
                    with guard:
                        inside[0] -= 1
                    if (round_number + number) % 2:
                        held.discard()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and overlaps == []
