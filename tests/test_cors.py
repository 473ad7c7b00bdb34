"""CORS: exact configured origins only, credentials only for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from openml_backend import create_app
from openml_backend.config import TestingConfig


def make(tmp_path: Path):
    return create_app(TestingConfig(environ={"DATA_DIR": str(tmp_path),
                                             "CORS_ORIGINS": "https://www.openml.org,https://new.openml.org"}))


@pytest.mark.parametrize("path", ["/api/v1/anything", "/api-key", "/api-key/regenerate"])
def test_configured_origin_gets_credentials(tmp_path: Path, path: str) -> None:
    response = make(tmp_path).test_client().options(
        path, headers={"Origin": "https://new.openml.org", "Access-Control-Request-Method": "GET"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://new.openml.org"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_other_origin_gets_nothing(tmp_path: Path) -> None:
    response = make(tmp_path).test_client().get("/api/v1/anything", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("path", ["/datasets/2", "/api-keys-elsewhere", "/health"])
def test_paths_outside_the_api_get_no_cors(tmp_path: Path, path: str) -> None:
    response = make(tmp_path).test_client().options(
        path, headers={"Origin": "https://new.openml.org", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in response.headers
