"""/metrics is scraped inside the cluster and never published: the app has no /metrics route
(gunicorn's master serves it on METRICS_PORT), the prod pod template's prometheus.io
annotations point at that port, which is a containerPort of its own and not in the Service,
and the Ingress routes every route of the app (Kubernetes' Prefix matching, element by
element)."""

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


def test_the_app_has_no_metrics_route_and_the_ingress_routes_every_route(app_routes: set[str]) -> None:
    prefixes = ingress_prefixes()
    assert not [route for route in app_routes if "metrics" in route]
    unrouted = {route for route in app_routes if not any(prefix_matches(prefix, route) for prefix in prefixes)}
    assert unrouted == set()


def test_prod_pod_annotations_point_at_the_metrics_port_which_the_service_does_not_expose() -> None:
    deployment = kube.deployment("production")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    ports = {p["name"]: p["containerPort"] for p in kube.flask_container(deployment)["ports"]}
    configmap = kube.find_object(kube.environment_objects("production"), "ConfigMap", "openml-backend-prod-config")
    metrics_port = int(configmap["data"].get("METRICS_PORT") or TestingConfig(environ={}).METRICS_PORT)
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"] == metrics_port
    assert ports["http"] == 5000 != metrics_port
    service = kube.find_object(kube.environment_objects("production"), "Service", "openml-backend-prod")
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {"http"}


def test_the_multiprocess_files_have_a_writable_volume() -> None:
    # gunicorn.conf.py creates the directory under TMPDIR (/tmp) on a read-only root filesystem.
    deployment = kube.deployment("production")
    container = kube.flask_container(deployment)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
