"""Derive the number of gunicorn workers from the container's CPU and memory limits.

Used by entrypoint.sh outside development when GUNICORN_WORKERS is not set. The rule is
the usual 2 x CPUs + 1, where CPUs is the container's CPU limit (cgroup v2
``cpu.max``, else cgroup v1 ``cpu.cfs_quota_us / cpu.cfs_period_us``, else the CPUs
this process may run on), then capped by the memory limit divided by a per-worker
budget, and by a maximum. ``nproc`` and ``os.cpu_count()`` ignore a CPU quota, which
is why the cgroup files are read.

Usage: ``gunicorn_workers.py WORKER_MEMORY_MB MAX_WORKERS``, the values of
GUNICORN_WORKER_MEMORY_MB and GUNICORN_MAX_WORKERS that ``python -m
openml_backend.config check`` validated (their defaults are declared there).
CGROUP_ROOT (default /sys/fs/cgroup) exists for tests only, so they can point at
fake cgroup files.

Prints one line: ``<workers> <cpus> <memory limit in MiB or "none">``.
Standard library only: it runs before the application is imported.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

# cgroup v1 reports "no limit" as a huge number (about 2**63) instead of a word.
_UNLIMITED_BYTES = 2**60


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def cpu_limit(cgroup_root: Path) -> float | None:
    """Return the CPU limit in CPUs from cgroup v2 or v1 files, or None when unlimited."""
    v2 = _read(cgroup_root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        if quota == "max":
            return None
        return int(quota) / int(period or "100000")
    for controller in ("cpu", "cpu,cpuacct"):
        quota = _read(cgroup_root / controller / "cpu.cfs_quota_us")
        period = _read(cgroup_root / controller / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            return None if int(quota) < 0 else int(quota) / int(period)
    return None


def memory_limit_bytes(cgroup_root: Path) -> int | None:
    """Return the memory limit in bytes from cgroup v2 or v1 files, or None when unlimited."""
    raw = _read(cgroup_root / "memory.max")
    if raw is None:
        raw = _read(cgroup_root / "memory" / "memory.limit_in_bytes")
    if raw is None or raw == "max":
        return None
    limit = int(raw)
    return None if limit >= _UNLIMITED_BYTES else limit


def available_cpus() -> int:
    """Return how many CPUs this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def derive_workers(
    cpus: float | None,
    host_cpus: int,
    memory_bytes: int | None,
    worker_memory_mb: int,
    max_workers: int,
) -> tuple[int, int]:
    """Return (workers, whole CPUs used) for the given limits; always at least one worker.

    A fractional CPU limit is rounded up (0.5 CPU still gets 2 x 1 + 1 workers), and
    never exceeds the CPUs the process can actually run on.
    """
    whole_cpus = host_cpus if cpus is None else max(1, math.ceil(cpus))
    whole_cpus = min(whole_cpus, host_cpus)
    workers = 2 * whole_cpus + 1
    if memory_bytes is not None:
        workers = min(workers, memory_bytes // (worker_memory_mb * 1024 * 1024))
    return max(1, min(workers, max_workers)), whole_cpus


def main(argv: list[str]) -> int:
    """Print ``<workers> <cpus> <memory MiB|none>`` for this container."""
    if len(argv) != 3 or not all(arg.isdigit() and int(arg) >= 1 for arg in argv[1:]):
        print("usage: gunicorn_workers.py WORKER_MEMORY_MB MAX_WORKERS (positive integers)", file=sys.stderr)
        return 64
    root = Path(os.environ.get("CGROUP_ROOT") or "/sys/fs/cgroup")
    memory = memory_limit_bytes(root)
    workers, cpus = derive_workers(cpu_limit(root), available_cpus(), memory, int(argv[1]), int(argv[2]))
    memory_mib = "none" if memory is None else str(memory // (1024 * 1024))
    print(workers, cpus, memory_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
