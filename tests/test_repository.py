"""The repository stands alone: no tracked file reads or names a folder beside the checkout.

A fresh clone has nothing next to it, so a path that leaves the repository works only on the
machine where it was written. The patterns are built from pieces so this file does not match
itself.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.helpers import IN_CI
from tests.paths import REPO_ROOT

OUTSIDE_NAMES = ("../" + "shared", "shared" + "/fixtures", "FACTS" + ".md")


def tracked_files() -> list[str]:
    """Every file git tracks in this checkout (skips, or fails under CI, without git)."""
    reason = None
    if shutil.which("git") is None:
        reason = "git is not installed"
    else:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, timeout=60)
        if listing.returncode == 0:
            return [name for name in listing.stdout.decode().split("\0") if name]
        reason = f"not a git checkout: {listing.stderr.decode().strip()}"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the repository check must run)", pytrace=False)
    pytest.skip(reason)


def test_no_tracked_file_names_a_folder_outside_the_repository() -> None:
    offenders = []
    for name in tracked_files():
        path = REPO_ROOT / name
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name}: {needle}" for needle in OUTSIDE_NAMES if needle in text]
    assert offenders == []
