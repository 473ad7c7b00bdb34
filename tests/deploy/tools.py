"""Find the linters and container tools of tests/deploy/install_tools.sh, or say why not.

A missing tool skips its test with the command that installs it; under CI=true it fails
instead (.ci/run installs the tools, so a missing one is a broken CI, not a pass).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import IN_CI
from tests.paths import REPO_ROOT

TOOLS_VENV = Path(os.environ.get("DEPLOY_TOOLS_VENV") or REPO_ROOT / ".venv-tools")


def require(name: str) -> str:
    """Return the path of tool `name` (tools venv first, then PATH), else skip/fail."""
    candidate = TOOLS_VENV / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed; run: bash tests/deploy/install_tools.sh"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: required)", pytrace=False)
    pytest.skip(message)
