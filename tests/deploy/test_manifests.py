"""k8s/: every manifest is valid for Kubernetes 1.29 and 1.33 (strict schemas), the
kustomizations build, and the objects carry the names, resources and settings that the
deployment guide (k8s/README.md) gives operators."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from openml_backend.config.settings import SETTINGS
from tests.deploy import kube

KUBERNETES_VERSIONS = ("1.29.0", "1.33.0")
WEB = ("development", "production")


def filled_template(path: Path) -> list[dict[str, Any]]:
    """The secrets template with its CHANGE-ME placeholders replaced by test values."""
    text = path.read_text(encoding="utf-8")
    assert "CHANGE-ME" in text, "the template should mark what to replace"
    return [doc for doc in yaml.safe_load_all(text.replace("CHANGE-ME", "test-value")) if doc]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", kube.MANIFESTS, ids=lambda p: str(p.relative_to(kube.K8S_DIR)))
def test_manifest_passes_strict_schema(path: Path, version: str) -> None:
    documents = filled_template(path) if path.suffix == ".template" else kube.load_documents(path)
    assert documents, f"{path} holds no object"
    for document in documents:
        # strict: unknown fields (typos such as `readOnlyRootFilesytem`) fail too.
        kubernetes_validate.validate(document, version, strict=True)


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (needed for `kubectl kustomize`, which works without a cluster)")
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("directory", kube.KUSTOMIZATION_DIRS, ids=lambda p: p.name)
def test_kustomization_builds_valid_objects(directory: Path, version: str) -> None:
    built = kustomize(directory)
    for document in built:
        kubernetes_validate.validate(document, version, strict=True)
    # apply -k must create what the README's `apply -f` commands create, file by file.
    listed = yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
    expected = {(d["kind"], d["metadata"]["name"]) for name in listed for d in kube.load_documents(directory / name)}
    assert {(d["kind"], d["metadata"]["name"]) for d in built} == expected


def test_prod_kustomization_needs_no_secret_file() -> None:
    built = kustomize(kube.K8S_DIR / "prod")
    assert not [d for d in built if d["kind"] == "Secret"], "production secrets are created by command, never from git"


def pod_spec(environment: str) -> dict[str, Any]:
    return kube.deployment(environment)["spec"]["template"]["spec"]


@pytest.mark.parametrize("environment", WEB)
def test_pod_meets_restricted_pod_security(environment: str) -> None:
    spec = pod_spec(environment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 1000
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    context = kube.flask_container(kube.deployment(environment))["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "add" not in context["capabilities"]


def image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's final stage (simple KEY=VALUE lines)."""
    text = (kube.DOCKER_DIR / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    env_block = final_stage.split("\nENV ", 1)[1].split("\n\n", 1)[0]
    pairs = [part.strip().rstrip("\\").strip() for part in env_block.splitlines()]
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


@pytest.mark.parametrize("environment", WEB)
def test_every_directory_the_app_writes_is_a_writable_volume(environment: str) -> None:
    spec = pod_spec(environment)
    volumes = {v["name"]: v for v in spec["volumes"]}
    container = kube.flask_container(kube.deployment(environment))
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    env = image_env()
    # HOME and the XDG dirs (where `import openml` writes) sit under /tmp.
    written = ["/tmp"] + [env[name] for name in ("DATA_DIR", "OPENML_CACHE_DIR", "HOME", "XDG_CONFIG_HOME",
                                                 "XDG_CACHE_HOME")]
    for path in written:
        covering = [mount for mount in mounts if path == mount or path.startswith(mount.rstrip("/") + "/")]
        assert covering, f"{path} is not on a volume"
        assert "emptyDir" in mounts[covering[0]] or "persistentVolumeClaim" in mounts[covering[0]]


@pytest.mark.parametrize("environment", WEB)
def test_probes_point_at_the_health_endpoints(environment: str) -> None:
    container = kube.flask_container(kube.deployment(environment))
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == 5000


@pytest.mark.parametrize("environment", WEB)
def test_grace_period_outlasts_prestop_and_gunicorns_graceful_timeout(environment: str) -> None:
    spec = pod_spec(environment)
    prestop = kube.flask_container(kube.deployment(environment))["lifecycle"]["preStop"]["exec"]["command"]
    assert prestop[0] == "sleep"
    # entrypoint.sh passes GUNICORN_GRACEFUL_TIMEOUT to gunicorn: the pod's value, else the default.
    (setting,) = [s for s in SETTINGS if s.name == "GUNICORN_GRACEFUL_TIMEOUT"]
    pod_value = kube.kubelet_environment(environment).get("GUNICORN_GRACEFUL_TIMEOUT")
    graceful_timeout = int(pod_value) if pod_value else setting.default_for(environment)
    assert spec["terminationGracePeriodSeconds"] > int(prestop[1]) + graceful_timeout


@pytest.mark.parametrize(
    ("environment", "requests", "limits"),
    [("development", ("250m", "512Mi"), ("1", "2Gi")), ("production", ("1", "2Gi"), ("4", "8Gi"))],
)
def test_resources_are_the_documented_ones(environment: str, requests: tuple, limits: tuple) -> None:
    resources = kube.flask_container(kube.deployment(environment))["resources"]
    assert (str(resources["requests"]["cpu"]), resources["requests"]["memory"]) == requests
    assert (str(resources["limits"]["cpu"]), resources["limits"]["memory"]) == limits


@pytest.mark.parametrize("environment", WEB)
def test_rolling_update_never_drops_below_the_replica_count(environment: str) -> None:
    strategy = kube.deployment(environment)["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_hpa_scales_prod_between_3_and_10_on_cpu_and_memory() -> None:
    hpa = kube.find_object(kube.environment_objects("production"), "HorizontalPodAutoscaler", "openml-backend-prod-hpa")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "openml-backend-prod"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}


def test_pdb_keeps_prod_pods_up_during_drains() -> None:
    pdb = kube.find_object(kube.environment_objects("production"), "PodDisruptionBudget", "openml-backend-prod")
    labels = kube.deployment("production")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable") == 2
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_prod_network_policy_allows_only_the_needed_ports() -> None:
    policy = kube.find_object(kube.environment_objects("production"), "NetworkPolicy", "openml-backend-prod")
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    ingress_ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert ingress_ports == {(5000, "TCP"), (9100, "TCP")}  # the app, the metrics port
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}
    dns = {(53, "UDP"), (53, "TCP")}
    smtp = {(25, "TCP"), (465, "TCP"), (587, "TCP")}
    assert egress_ports == dns | smtp | {(3306, "TCP"), (443, "TCP")}  # + MySQL, HTTPS
    labels = kube.deployment("production")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def _namespaces_admitted(policy: dict, port: int) -> set[str]:
    """The namespaces (by kubernetes.io/metadata.name) a NetworkPolicy admits to `port`; every
    rule for the port must name its sources (a rule without `from` admits everyone)."""
    names: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        if port not in {p["port"] for p in rule["ports"]}:
            continue
        assert rule.get("from"), f"a rule admits every source to port {port}"
        for source in rule["from"]:
            assert set(source) == {"namespaceSelector"}, source
            names.add(source["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
    return names


def test_prod_network_policy_admits_the_app_port_from_ingress_and_monitoring_and_metrics_from_monitoring() -> None:
    policy = kube.find_object(kube.environment_objects("production"), "NetworkPolicy", "openml-backend-prod")
    assert _namespaces_admitted(policy, 5000) == {"ingress-nginx", "monitoring"}
    assert _namespaces_admitted(policy, 9100) == {"monitoring"}


def test_migration_job_runs_the_same_image_and_environment_as_prod() -> None:
    objects = kube.environment_objects("production")
    job = kube.find_object(objects, "Job", "openml-backend-prod-migrate", "openml-prod")
    (container,) = kube.pod_containers(job)
    web = kube.flask_container(kube.deployment("production"))
    assert container["args"] == ["migrate"]
    assert "command" not in container, "the image's entrypoint must run it"
    assert container["image"] == web["image"]
    assert container["envFrom"] == web["envFrom"] and container["env"] == web["env"]
    assert container["securityContext"] == web["securityContext"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Not behind the Service: its pod must not match the Service's selector.
    service = kube.find_object(objects, "Service", "openml-backend-prod")
    assert not service["spec"]["selector"].items() <= job["spec"]["template"]["metadata"]["labels"].items()


def test_prod_image_is_the_string_the_readme_sed_replaces() -> None:
    assert kube.flask_container(kube.deployment("production"))["image"] == "your-registry/openml-flask:v1.0.0"


# --- warming the statistics: the Indexed Job and the weekly CronJob ---------------------------

WARM_JOB, WARM_CRONJOB = "openml-backend-prod-warm", "openml-backend-prod-warm-weekly"


def warm_workloads() -> dict[str, dict[str, Any]]:
    objects = kube.environment_objects("production")
    return {"job": kube.find_object(objects, "Job", WARM_JOB, "openml-prod"),
            "cronjob": kube.find_object(objects, "CronJob", WARM_CRONJOB, "openml-prod")}


def job_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]


def shard_argument(container: dict[str, Any]) -> str:
    args = container["args"]
    return args[args.index("--shard") + 1]


@pytest.mark.parametrize("which", ["job", "cronjob"])
def test_warming_is_an_indexed_job_whose_pods_take_one_shard_each(which: str) -> None:
    workload = warm_workloads()[which]
    spec = job_spec(workload)
    (container,) = kube.pod_containers(workload)
    assert spec["completionMode"] == "Indexed"
    assert 1 <= spec["parallelism"] <= spec["completions"]
    assert spec["backoffLimitPerIndex"] >= 1
    assert spec["template"]["spec"]["restartPolicy"] == "Never"  # backoffLimitPerIndex requires it
    # Pod I warms shard I of N: the index the Job controller gives it, N = completions.
    assert container["args"][:6] == ["flask", "--app", "autoapp", "stats", "warm", "--all"]
    assert shard_argument(container) == f"$(JOB_COMPLETION_INDEX)/{spec['completions']}"
    assert "command" not in container, "the image's entrypoint must run it"


@pytest.mark.parametrize("which", ["job", "cronjob"])
def test_warming_pods_run_like_the_web_pods(which: str) -> None:
    objects = kube.environment_objects("production")
    workload = warm_workloads()[which]
    pod, web_pod = kube.pod_template(workload), kube.deployment("production")["spec"]["template"]
    (container,) = kube.pod_containers(workload)
    web = kube.flask_container(kube.deployment("production"))
    assert container["image"] == web["image"]
    assert container["envFrom"] == web["envFrom"] and container["env"] == web["env"]
    assert container["securityContext"] == web["securityContext"]
    for key in ("securityContext", "serviceAccountName", "automountServiceAccountToken"):
        assert pod["spec"][key] == web_pod["spec"][key], key
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {m["mountPath"]: m["name"] for m in web["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert set(volumes) == set(mounts.values()) and all("emptyDir" in v for v in volumes.values())
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    # Not behind the Service; under the NetworkPolicy (MySQL and HTTPS out, 9100 in from monitoring).
    service = kube.find_object(objects, "Service", "openml-backend-prod")
    assert not service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    policy = kube.find_object(objects, "NetworkPolicy", "openml-backend-prod")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    # Scraped while it runs: the annotated port is the one the command serves its metrics on.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    args = container["args"]
    assert int(pod["metadata"]["annotations"]["prometheus.io/port"]) == ports["metrics"] == int(
        args[args.index("--metrics-port") + 1])


def test_the_weekly_cronjob_runs_the_warming_job_for_stale_entries() -> None:
    workloads = warm_workloads()
    cronjob, job = workloads["cronjob"], workloads["job"]
    minute, hour, day_of_month, month, day_of_week = cronjob["spec"]["schedule"].split()
    assert (day_of_month, month) == ("*", "*") and day_of_week.isdigit() and minute.isdigit() and hour.isdigit()
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"  # a long run is never doubled
    (weekly,), (once,) = kube.pod_containers(cronjob), kube.pod_containers(job)
    args = weekly["args"]
    older_than = args.index("--older-than")
    assert float(args[older_than + 1]) >= 7
    assert args[:older_than] + args[older_than + 2:] == once["args"]
    # Apart from the label naming it, the same Job as warm-job.yaml.
    same = {key: value for key, value in job_spec(job).items() if key != "ttlSecondsAfterFinished"}
    weekly_spec = {**job_spec(cronjob), "template": {**job_spec(cronjob)["template"]}}
    for spec in (same, weekly_spec):
        spec["template"] = {"spec": {**spec["template"]["spec"], "containers": [
            {k: v for k, v in spec["template"]["spec"]["containers"][0].items() if k != "args"}]}}
    assert weekly_spec == same


def test_the_warming_job_is_applied_by_command_and_the_cronjob_by_the_kustomization() -> None:
    listed = yaml.safe_load((kube.K8S_DIR / "prod" / "kustomization.yaml").read_text())["resources"]
    assert "warm-cronjob.yaml" in listed
    assert "warm-job.yaml" not in listed and "migrate-job.yaml" not in listed  # a Job's template is immutable
