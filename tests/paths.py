"""Where things are, for every test and for the stand-in OpenML server: the one place that
knows the repository's layout."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = REPO_ROOT / "tests"
# Real OpenML responses and data files (from openml-python's test files); see its README.md.
OPENML_FIXTURES = TESTS_DIR / "fixtures" / "openml"
# OpenML's account tables as production lays them out, and accounts its other systems left there.
OPENML_DB_FIXTURES = TESTS_DIR / "fixtures" / "openml-db"
OPENML_SCHEMA = OPENML_DB_FIXTURES / "schema.sql"
LEGACY_USERS = OPENML_DB_FIXTURES / "legacy_users.sql"
MIGRATIONS_DIR = REPO_ROOT / "migrations"
DOCKER_DIR = REPO_ROOT / "docker"
ENTRYPOINT = DOCKER_DIR / "entrypoint.sh"
GUNICORN_CONF = DOCKER_DIR / "gunicorn.conf.py"
K8S_DIR = REPO_ROOT / "k8s"


def openml_fixture(*parts: str) -> Path:
    """Path of one OpenML fixture file, e.g. openml_fixture("datasets", "2", "dataset.arff")."""
    return OPENML_FIXTURES.joinpath(*parts)
