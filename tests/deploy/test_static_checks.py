"""Linters on docker/ and k8s/: hadolint, checkov (dockerfile and kubernetes), yamllint and
shellcheck report nothing, and every checkov skip carries its justification on its line."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy import kube
from tests.deploy.tools import require

SHELL_SCRIPTS = [kube.ENTRYPOINT, *sorted((kube.REPO_ROOT / "tests" / "deploy").glob("*.sh"))]


def run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=kube.REPO_ROOT)


def test_hadolint_reports_nothing() -> None:
    result = run([require("hadolint"), "docker/Dockerfile"])
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def checkov_summary(*arguments: str) -> dict:
    result = run([require("checkov"), *arguments, "--skip-download", "--quiet", "--compact", "-o", "json"])
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [check for r in reports for check in r["results"]["failed_checks"]]
    assert not failed, [(c["check_id"], c["check_name"], c["file_path"]) for c in failed]
    return {"passed": sum(r["summary"]["passed"] for r in reports)}


@pytest.mark.slow  # checkov takes seconds per run
def test_checkov_kubernetes_reports_no_failed_check() -> None:
    assert checkov_summary("-d", "k8s", "--framework", "kubernetes")["passed"] > 100


@pytest.mark.slow  # checkov takes seconds per run
def test_checkov_dockerfile_reports_no_failed_check() -> None:
    assert checkov_summary("-f", "docker/Dockerfile", "--framework", "dockerfile")["passed"] > 50


SKIP_ANNOTATION = re.compile(r'checkov\.io/skip\d+:\s*"?(CKV\w+)=(.*?)"?$')
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=(CKV\w+):(.*)$")


@pytest.mark.parametrize(
    "path", [*kube.MANIFESTS, kube.DOCKER_DIR / "Dockerfile"], ids=lambda p: str(p.relative_to(kube.REPO_ROOT))
)
def test_every_checkov_skip_is_justified(path: Path) -> None:
    for line in path.read_text().splitlines():
        if "checkov" in line and "skip" in line:
            match = SKIP_ANNOTATION.search(line.strip()) or SKIP_COMMENT.search(line.strip())
            assert match, f"unparsed checkov skip: {line}"
            assert len(match.group(2).split()) >= 6, f"{match.group(1)} needs a real justification"


def test_yamllint_reports_nothing() -> None:
    files = [str(p.relative_to(kube.REPO_ROOT)) for p in kube.MANIFESTS] + ["k8s/dev/kustomization.yaml",
                                                                          "k8s/prod/kustomization.yaml"]
    result = run([require("yamllint"), "--strict", "-c", "tests/deploy/yamllint.yaml", *files])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_reports_nothing(script: Path) -> None:
    result = run([require("shellcheck"), "--external-sources", str(script)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_are_strict(script: Path) -> None:
    assert "set -euo pipefail" in script.read_text()
