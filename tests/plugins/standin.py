"""pytest plugin: a stand-in OpenML server over real HTTP for the whole test session.

``standin_openml`` yields the running ``StandinOpenML`` with no runtime faults set (faults a
test sets are cleared after it). Register with ``pytest_plugins = ["tests.plugins.standin"]``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.standin_openml import StandinOpenML


@pytest.fixture(scope="session")
def standin_openml_server() -> Iterator[StandinOpenML]:
    """One stand-in server for the session (building its datasets takes about a second)."""
    server = StandinOpenML().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standin_openml(standin_openml_server: StandinOpenML) -> Iterator[StandinOpenML]:
    """The session's stand-in server, with the faults a test sets removed afterwards."""
    standin_openml_server.clear_faults()
    yield standin_openml_server
    standin_openml_server.clear_faults()
