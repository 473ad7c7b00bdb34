"""/metrics is scraped inside the cluster and never published: the prod pod template carries
the prometheus.io annotations that point at it, and the Ingress routes every other route of
the app but not /metrics (Kubernetes' Prefix matching, element by element)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openml_backend import create_app
from openml_backend.config import TestingConfig
from tests.deploy import kube


def prefix_matches(prefix: str, path: str) -> bool:
    """Kubernetes pathType Prefix: `prefix`'s /-separated elements start `path`'s elements."""
    wanted = [part for part in prefix.split("/") if part]
    given = [part for part in path.split("/") if part]
    return given[: len(wanted)] == wanted


def ingress_prefixes() -> list[str]:
    (ingress,) = kube.load_documents(kube.K8S_DIR / "prod" / "ingress.yaml")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert {p["pathType"] for p in paths} == {"Prefix"}
    return [p["path"] for p in paths]


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    scratch: Path = tmp_path_factory.mktemp("routes")
    app = create_app(TestingConfig(environ={"DATA_DIR": str(scratch)}))
    return {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


def test_ingress_routes_every_route_except_metrics(app_routes: set[str]) -> None:
    prefixes = ingress_prefixes()
    routes = app_routes
    assert "/metrics" in routes
    assert not any(prefix_matches(prefix, "/metrics") for prefix in prefixes)
    unrouted = {route for route in routes - {"/metrics"}
                if not any(prefix_matches(prefix, route) for prefix in prefixes)}
    assert unrouted == set()


def test_prod_pod_annotations_point_at_metrics_on_the_container_port(app_routes: set[str]) -> None:
    deployment = kube.deployment("production")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    ports = {p["containerPort"] for p in kube.flask_container(deployment)["ports"]}
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) in ports
    assert annotations["prometheus.io/path"] == "/metrics"
    assert "/metrics" in app_routes


def test_the_multiprocess_files_have_a_writable_volume() -> None:
    # gunicorn.conf.py creates the directory under TMPDIR (/tmp) on a read-only root filesystem.
    deployment = kube.deployment("production")
    container = kube.flask_container(deployment)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
