"""Fixtures for the dataset tests: the stand-in OpenML server and settings pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from openml_backend.openml_client import OpenMLSettings
from tests.standin_openml import StandinOpenML


@pytest.fixture
def openml_settings(standin_openml: StandinOpenML, tmp_path: Path) -> OpenMLSettings:
    """Settings for the stand-in server with a fresh cache folder per test."""
    return OpenMLSettings(server_url=standin_openml.api_url, cache_dir=str(tmp_path / "openml-cache"), timeout=30.0)

