"""Where the shared OpenML fixtures live: $OPENML_FIXTURES_DIR, else ../shared/fixtures/openml."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def openml_fixtures_dir() -> Path:
    """The fixtures folder (real OpenML responses and data files); not checked for existence."""
    override = os.environ.get("OPENML_FIXTURES_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "fixtures" / "openml"


def openml_fixture(*parts: str) -> Path:
    """Path of one fixture file, e.g. openml_fixture("datasets", "2", "dataset.arff")."""
    return openml_fixtures_dir().joinpath(*parts)
