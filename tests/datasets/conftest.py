"""Fixtures for the dataset tests: the stand-in OpenML server and settings pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from openml_backend.datasets.source import OpenMLSettings
from tests.plugins.standin import standin_openml, standin_openml_server  # noqa: F401 - fixtures
from tests.standin_openml import StandinOpenML


@pytest.fixture
def openml_settings(standin_openml: StandinOpenML, tmp_path: Path) -> OpenMLSettings:  # noqa: F811
    """Settings for the stand-in server with a fresh cache folder per test."""
    return OpenMLSettings(server_url=standin_openml.api_url, cache_dir=str(tmp_path / "openml-cache"), timeout=30.0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts several processes or waits for timeouts (deselect with -m 'not slow')")
