"""docker/gunicorn_workers.py: 2 x CPUs + 1 from the container's CPU limit, capped by memory
and a maximum, read from fake cgroup v1 and v2 files (CGROUP_ROOT) and run as entrypoint.sh
runs it (with the validated GUNICORN_WORKER_MEMORY_MB and GUNICORN_MAX_WORKERS as arguments).
The CPUs the process may use are pinned per case (sched_setaffinity), so the expectations
hold on any host with at least two CPUs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import kube

GIB = 1024**3
DEFAULTS = {"memory_mb": "1024", "max_workers": "12"}  # the declared defaults entrypoint.sh passes
V1_UNLIMITED = "9223372036854771712"  # what cgroup v1 reports without a memory limit

# (case, cgroup files, arguments other than the defaults, CPUs the process may use, expected "<workers> <cpus> <MiB>")
CASES = [
    ("v2 no limits", {"cpu.max": "max 100000", "memory.max": "max"}, {}, 2, "5 2 none"),
    ("v2 one cpu", {"cpu.max": "100000 100000", "memory.max": "max"}, {}, 2, "3 1 none"),
    ("v2 half a cpu rounds up", {"cpu.max": "50000 100000", "memory.max": "max"}, {}, 2, "3 1 none"),
    ("v2 1.5 cpus rounds up", {"cpu.max": "150000 100000", "memory.max": "max"}, {}, 2, "5 2 none"),
    ("v2 other period", {"cpu.max": "100000 50000", "memory.max": "max"}, {}, 2, "5 2 none"),
    ("v2 limit above usable cpus", {"cpu.max": "400000 100000", "memory.max": "max"}, {}, 2, "5 2 none"),
    ("v2 memory caps", {"cpu.max": "200000 100000", "memory.max": str(2 * GIB)}, {}, 2, "2 2 2048"),
    ("v2 memory below budget", {"cpu.max": "200000 100000", "memory.max": str(GIB // 2)}, {}, 2, "1 2 512"),
    ("v2 budget setting", {"cpu.max": "200000 100000", "memory.max": str(GIB)},
     {"memory_mb": "256"}, 2, "4 2 1024"),
    ("v2 maximum setting", {"cpu.max": "max 100000", "memory.max": "max"},
     {"max_workers": "2"}, 2, "2 2 none"),
    ("v1 one cpu", {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000",
                    "memory/memory.limit_in_bytes": V1_UNLIMITED}, {}, 2, "3 1 none"),
    ("v1 no quota", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000",
                     "memory/memory.limit_in_bytes": V1_UNLIMITED}, {}, 1, "3 1 none"),
    ("v1 cpu,cpuacct", {"cpu,cpuacct/cpu.cfs_quota_us": "200000", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
     {}, 2, "5 2 none"),
    ("v1 memory caps", {"cpu/cpu.cfs_quota_us": "400000", "cpu/cpu.cfs_period_us": "100000",
                        "memory/memory.limit_in_bytes": str(3 * GIB)}, {}, 2, "3 2 3072"),
    ("no cgroup files", {}, {}, 1, "3 1 none"),
]


def run_helper(cgroup_root: Path, arguments: dict[str, str], cpus: int) -> subprocess.CompletedProcess:
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < cpus:
        pytest.skip(f"needs {cpus} usable CPUs, this host gives {len(usable)}")
    pinned = set(usable[:cpus])
    given = {**DEFAULTS, **arguments}
    return subprocess.run(
        [sys.executable, str(kube.DOCKER_DIR / "gunicorn_workers.py"), given["memory_mb"], given["max_workers"]],
        env={"PATH": os.environ["PATH"], "CGROUP_ROOT": str(cgroup_root)},
        capture_output=True, text=True, timeout=30,
        preexec_fn=lambda: os.sched_setaffinity(0, pinned),
    )


def write_cgroup(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")
    return root


@pytest.mark.parametrize(("files", "arguments", "cpus", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_worker_count(tmp_path: Path, files: dict, arguments: dict, cpus: int, expected: str) -> None:
    result = run_helper(write_cgroup(tmp_path / "cgroup", files), arguments, cpus)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("argument", ["memory_mb", "max_workers"])
@pytest.mark.parametrize("value", ["0", "many", "-1", ""])
def test_bad_argument_is_a_usage_error(tmp_path: Path, argument: str, value: str) -> None:
    # entrypoint.sh passes values the config check has validated; anything else is misuse.
    result = run_helper(write_cgroup(tmp_path / "cgroup", {"cpu.max": "max 100000"}), {argument: value}, 1)
    assert result.returncode == 64
    assert result.stderr.startswith("usage:") and result.stdout == ""
