"""The OpenML cache directory or the data directory read-only or full, under a production
gunicorn: statistics still answer (computed; the database keeps the result), and readiness
answers 503 naming each failed check.

We run as root, for whom chmod changes nothing, so the directories are real mounts made in a
private mount namespace of the server alone (`unshare -m`): a read-only tmpfs, or a 64 KiB
tmpfs filled to the last byte. Where mounting is not permitted the test skips and says why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import migrate, production_environment

IRIS = 61
ANNEAL = 2
IRIS_ROWS = 150
ANNEAL_ROWS = 898
# Mounts $1 as described by $2 (ro | full) and $3 likewise, then execs the rest: the PID stays
# gunicorn's master, and the mounts exist for it and its workers only.
MOUNT_AND_EXEC = r"""
set -e
mount_as() {
    case "$2" in
        ro) mount -t tmpfs -o ro,size=64k tmpfs "$1" ;;
        full) mount -t tmpfs -o size=64k tmpfs "$1"
              dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null || true ;;
    esac
}
mount_as "$1" "$2"; mount_as "$3" "$4"; shift 4
exec "$@"
"""


def mount_wrapper(first: Path, first_kind: str, second: Path, second_kind: str) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_EXEC, "mount-and-exec",
            str(first), first_kind, str(second), second_kind]


@pytest.fixture(scope="module")
def mounting_permitted(tmp_path_factory: pytest.TempPathFactory) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed: cannot make a read-only or full directory as root")
    target = tmp_path_factory.mktemp("probe")
    probe = subprocess.run(mount_wrapper(target, "ro", target, "full") + ["true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"mounting a tmpfs in a private mount namespace is not permitted here: {probe.stderr.strip()}")


@pytest.mark.parametrize(("cache_kind", "data_kind"), [("ro", "full"), ("full", "ro")],
                         ids=["cache-read-only,data-full", "cache-full,data-read-only"])
def test_statistics_answer_and_readiness_names_the_failed_checks(
        mounting_permitted, cache_kind: str, data_kind: str, openml, mariadb_uri: str, tmp_path: Path, start_gunicorn) -> None:
    env = production_environment(tmp_path, mariadb_uri, openml.api_url, OPENML_TIMEOUT="30")
    migrate(env)
    wrapper = mount_wrapper(Path(env["OPENML_CACHE_DIR"]), cache_kind, Path(env["DATA_DIR"]), data_kind)
    server = start_gunicorn(env, tmp_path / "server.log", wrapper=wrapper)
    ready = server.http("GET", "/health/ready")
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"] == {"database": "ok", "data_dir": "failed", "cache_dir": "failed"}
    assert ready.json()["code"] == "not_ready"
    for dataset, rows in ((IRIS, IRIS_ROWS), (ANNEAL, ANNEAL_ROWS)):
        answer = server.http("GET", f"/api/v1/datasets/{dataset}/stats", timeout=60)
        assert answer.status_code == 200, (dataset, answer.text)
        assert answer.json()["statistics"]["preview"]["total_rows"] == rows
    assert server.http("GET", "/health").status_code == 200
