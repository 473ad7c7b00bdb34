"""The deployment guide's commands are a contract: every namespace, object, label, container,
port, image and key they name exists in k8s/. The commands are parsed out of the guide itself
(k8s/README.md), and a command this test does not understand fails it, so the check covers
every command an operator is told to run."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.deploy import kube

# Commands that name nothing in this repository (pipes' other ends, HTTP calls to the
# service from the operator's machine, the Sealed Secrets example).
NOT_ABOUT_THE_MANIFESTS = {"grep", "curl", "echo", "base64", "kubeseal", "docker push"}
OUTSIDE_THE_REPOSITORY = {
    "https://github.com/bitnami-labs/sealed-secrets/releases/download/v0.18.0/controller.yaml",
    "sealed-secret.yaml",
}
EXAMPLE_SECRET = "my-secret"  # the Sealed Secrets example's own secret


@pytest.fixture(scope="module")
def commands() -> list[list[str]]:
    found = kube.guide_commands()
    assert len(found) > 40, "the guide's bash blocks were not parsed"
    return found


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return kube.all_objects()


def option(words: list[str], *names: str) -> str | None:
    for i, word in enumerate(words):
        if word in names:
            return words[i + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


class Contract:
    """Checks one guide command against the manifests."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self.namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return kube.find_object(self.objects, kind, name, namespace)

    def namespace_of(self, words: list[str]) -> str | None:
        namespace = option(words, "-n", "--namespace")
        if namespace is not None:
            assert namespace in self.namespaces, f"namespace {namespace} is not in k8s/namespaces.yaml"
        return namespace

    def deployments(self, namespace: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == "Deployment" and o["metadata"]["namespace"] == namespace]

    def workloads(self, namespace: str) -> list[dict[str, Any]]:
        """Deployments, Jobs and CronJobs of `namespace`: every pod template the guide may name."""
        return [o for o in self.objects if o["kind"] in kube.WORKLOAD_KINDS and o["metadata"]["namespace"] == namespace]

    def secret_keys_used(self, name: str) -> set[str]:
        return {
            entry["valueFrom"]["secretKeyRef"]["key"]
            for o in self.objects
            if o["kind"] in kube.WORKLOAD_KINDS
            for container in kube.pod_containers(o)
            for entry in container.get("env") or []
            if "secretKeyRef" in entry.get("valueFrom", {}) and entry["valueFrom"]["secretKeyRef"]["name"] == name
        }

    def check(self, words: list[str]) -> None:
        program = words[0]
        if program in NOT_ABOUT_THE_MANIFESTS or " ".join(words[:2]) in NOT_ABOUT_THE_MANIFESTS:
            return
        handler: Callable[[list[str]], None] | None = {
            "docker": self.docker,
            "kind": self.load_into_local_cluster,
            "minikube": self.load_into_local_cluster,
            "sed": self.sed,
            "kubectl": self.kubectl,
        }.get(program)
        assert handler is not None, f"unknown command in the guide: {' '.join(words)}"
        handler(words)

    def docker(self, words: list[str]) -> None:
        assert words[1] == "build", words
        assert (kube.REPO_ROOT / option(words, "-f")).is_file()
        assert words[-1] == "."

    def load_into_local_cluster(self, words: list[str]) -> None:
        # `kind load docker-image IMAGE` / `minikube image load IMAGE`: the image the dev pods run.
        assert words[1:3] in (["load", "docker-image"], ["image", "load"]), f"unknown command in the guide: {words}"
        (deployment,) = self.deployments("openml-dev")
        assert kube.flask_container(deployment)["image"] == words[3]

    def sed(self, words: list[str]) -> None:
        # GNU sed: `sed -i EXPRESSION FILE...` (macOS's `sed -i ''` would take '' as the expression).
        assert words[1] == "-i" and words[2].startswith("s|"), f"not a GNU in-place sed: {words}"
        _, old, new, _ = words[2].split("|")
        edited_images, edited_workloads = set(), set()
        for path in (kube.REPO_ROOT / name for name in words[3:]):
            text = path.read_text()
            assert text.count(old) >= 1, f"{path.name} lacks the image string the guide's sed replaces"
            edited = [d for d in yaml.safe_load_all(text.replace(old, new)) if d]
            (workload,) = [d for d in edited if d["kind"] in kube.WORKLOAD_KINDS]
            edited_images |= {c["image"] for c in kube.pod_containers(workload)}
            edited_workloads.add((workload["kind"], workload["metadata"]["name"]))
        assert edited_images == {new}
        # Every workload that runs the image must be edited, or a release would run two versions.
        untouched = [o["metadata"]["name"] for o in self.objects
                     if o["kind"] in kube.WORKLOAD_KINDS
                     and any(c["image"] == old for c in kube.pod_containers(o))
                     and (o["kind"], o["metadata"]["name"]) not in edited_workloads]
        assert not untouched, f"the guide's sed leaves {untouched} on the old image"

    def kubectl(self, words: list[str]) -> None:
        verb = words[1]
        namespace = self.namespace_of(words)
        if verb == "apply":
            directory = option(words, "-k")
            if directory is not None:
                assert (kube.REPO_ROOT / directory / "kustomization.yaml").is_file(), f"{directory} has no kustomization"
                return
            target = option(words, "-f")
            if target in OUTSIDE_THE_REPOSITORY:
                return
            assert kube.load_documents(kube.REPO_ROOT / target), f"{target} is missing or empty"
        elif verb == "get":
            self.kubectl_get(words, namespace)
        elif verb == "logs":
            selector = option(words, "-l")
            if selector:
                key, value = selector.split("=")
                labelled = [w for w in self.workloads(namespace)
                            if kube.pod_template(w)["metadata"]["labels"].get(key) == value]
                assert labelled, f"no pod template in {namespace} is labelled {selector}"
            else:
                pod = next(w for w in words[2:] if not w.startswith("-") and w != namespace)
                if pod.startswith("job/"):
                    self.get("Job", pod.removeprefix("job/"), namespace)
                    return
                assert pod == "<pod-name>" or any(pod.startswith(d["metadata"]["name"] + "-")
                                                  for d in self.deployments(namespace))
        elif verb == "port-forward":
            kind, name = words[-2].split("/")
            local, remote = words[-1].split(":")
            assert kind == "svc"
            service = self.get("Service", name, namespace)
            (port,) = [p for p in service["spec"]["ports"] if p["port"] == int(remote)]
            selector = service["spec"]["selector"].items()
            (deployment,) = [d for d in self.deployments(namespace)
                             if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
            ports = {p["name"]: p["containerPort"] for p in kube.flask_container(deployment)["ports"]}
            assert ports.get(port["targetPort"], port["targetPort"]) == 5000
        elif verb == "create" and words[2] == "job":
            # `kubectl create job NAME --from=cronjob/CRONJOB`: a run of the CronJob now.
            kind, name = option(words, "--from").split("/")
            assert kind == "cronjob", words
            self.get("CronJob", name, namespace)
        elif verb == "create":
            assert words[2:4] == ["secret", "generic"], words
            name = words[4]
            if name == EXAMPLE_SECRET:
                return
            keys = {w.split("=", 2)[1] for w in words if w.startswith("--from-literal=")}
            assert keys == self.secret_keys_used(name), f"{name}: the command's keys differ from what the pods read"
            template = self.get("Secret", name, namespace)
            assert set(template["stringData"]) == keys, "secrets.yaml.template must list the same keys"
        elif verb == "edit":
            kind = {"configmap": "ConfigMap", "deployment": "Deployment"}[words[2]]
            self.get(kind, words[3], namespace)
        elif verb == "rollout":
            assert words[2] in ("restart", "status", "undo", "history")
            kind, name = words[3].split("/")
            assert kind == "deployment"
            self.get("Deployment", name, namespace)
        elif verb == "describe":
            kind = {"hpa": "HorizontalPodAutoscaler", "deployment": "Deployment", "job": "Job", "cronjob": "CronJob",
                    "pod": None}[words[2]]
            if kind:
                self.get(kind, words[3], namespace)
        elif verb == "set":
            assert words[2] == "image"
            deployment = self.get("Deployment", words[3].split("/")[1], namespace)
            container_name = words[4].split("=")[0]
            assert kube.flask_container(deployment)["name"] == container_name
        elif verb == "exec":
            # The image has no curl: `-- python3 -c "...urlopen('http://localhost:PORT/PATH')..."`,
            # asking the container's port and the path its liveness probe uses.
            command = words[words.index("--") + 1:]
            assert command[:2] == ["python3", "-c"], f"the image has only python3 to ask with: {command}"
            (url,) = re.findall(r"urlopen\('http://localhost:(\d+)(/[^']*)'\)", command[2])
            (deployment,) = self.deployments(namespace)
            container = kube.flask_container(deployment)
            assert int(url[0]) in {p["containerPort"] for p in container["ports"]}
            assert url[1] == container["livenessProbe"]["httpGet"]["path"]
        elif verb == "delete":
            kind = {"job": "Job", "secret": "Secret"}[words[2]]
            name = words[3]
            if kind == "Secret":
                assert self.secret_keys_used(name), f"no pod reads Secret {name}"
            else:
                self.get(kind, name, namespace)
        elif verb == "wait":
            kind, name = next(w for w in words[2:] if "/" in w and not w.startswith("-")).split("/")
            assert kind == "job" and option(words, "--for") == "condition=complete", words
            self.get("Job", name, namespace)
        else:
            raise AssertionError(f"unknown kubectl command in the guide: {' '.join(words)}")

    def kubectl_get(self, words: list[str], namespace: str | None) -> None:
        what = words[2]
        if what in ("namespaces", "pods", "all", "events"):
            return
        if what in ("jobs", "cronjobs"):
            kind = {"jobs": "Job", "cronjobs": "CronJob"}[what]
            assert [o for o in self.objects if o["kind"] == kind and o["metadata"]["namespace"] == namespace]
            selector = option(words, "-l")
            if selector:
                key, value = selector.split("=")
                assert [o for o in self.workloads(namespace) if o["kind"] == kind
                        and o["metadata"]["labels"].get(key) == value], f"no {kind} labelled {selector}"
            return
        if what == "hpa":
            assert [o for o in self.objects if o["kind"] == "HorizontalPodAutoscaler"
                    and o["metadata"]["namespace"] == namespace]
            return
        assert what == "secret", words
        name = words[3]
        assert self.secret_keys_used(name), f"no pod reads Secret {name}"
        jsonpath = option(words, "-o")
        if jsonpath and jsonpath.startswith("jsonpath={.data."):
            key = jsonpath.removeprefix("jsonpath={.data.").rstrip("}")
            assert key in self.secret_keys_used(name)


def test_every_guide_command_matches_the_manifests(commands: list[list[str]], objects: list[dict]) -> None:
    contract = Contract(objects)
    for words in commands:
        contract.check(words)


def test_the_contract_rejects_a_name_the_manifests_lack(commands: list[list[str]], objects: list[dict]) -> None:
    # The check must be able to fail: rename the prod Deployment and the guide's commands break.
    renamed = [dict(o, metadata={**o["metadata"], "name": o["metadata"]["name"] + "-x"})
               if o["kind"] == "Deployment" else o for o in objects]
    with pytest.raises(AssertionError):
        for words in commands:
            Contract(renamed).check(words)


def test_an_unknown_guide_command_fails_the_contract(objects: list[dict]) -> None:
    with pytest.raises(AssertionError, match="unknown"):
        Contract(objects).check(["kubectl", "scale", "deployment/openml-backend-prod", "--replicas=5"])


@pytest.mark.parametrize(
    ("kind", "name", "namespace"),
    [
        ("Namespace", "openml-dev", None),
        ("Namespace", "openml-prod", None),
        ("Deployment", "openml-backend-dev", "openml-dev"),
        ("Deployment", "openml-backend-prod", "openml-prod"),
        ("Service", "openml-backend-dev", "openml-dev"),
        ("Service", "openml-backend-prod", "openml-prod"),
        ("ConfigMap", "openml-backend-dev-config", "openml-dev"),
        ("ConfigMap", "openml-backend-prod-config", "openml-prod"),
        ("Secret", "openml-backend-dev-secrets", "openml-dev"),
        ("Secret", "openml-backend-prod-secrets", "openml-prod"),
        ("HorizontalPodAutoscaler", "openml-backend-prod-hpa", "openml-prod"),
        ("Job", "openml-backend-prod-migrate", "openml-prod"),
        ("Job", "openml-backend-prod-warm", "openml-prod"),
        ("CronJob", "openml-backend-prod-warm-weekly", "openml-prod"),
    ],
)
def test_the_guides_object_names_exist(objects: list[dict], kind: str, name: str, namespace: str | None) -> None:
    found = kube.find_object(objects, kind, name, namespace)
    if kind in ("Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler"):
        assert found["metadata"]["labels"]["app"] == "openml-backend"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("development", {"ENVIRONMENT": "development", "FLASK_ENV": "development", "OPENML_USE_TEST_SERVER": "True",
                         "LOG_LEVEL": "DEBUG", "GUNICORN_WORKERS": "1"}),
        ("production", {"ENVIRONMENT": "production", "FLASK_ENV": "production", "OPENML_USE_TEST_SERVER": "False",
                        "LOG_LEVEL": "WARNING", "GUNICORN_WORKERS": "4"}),
    ],
)
def test_configmaps_carry_the_guides_values(environment: str, expected: dict[str, str]) -> None:
    names = kube.ENVIRONMENTS[environment]
    data = kube.find_object(kube.environment_objects(environment), "ConfigMap", names["configmap"])["data"]
    assert {key: data[key] for key in expected} == expected
    if environment == "development":
        assert data["DATABASE_URI"].startswith("sqlite:////app/data/")
    else:
        assert "DATABASE_URI" not in data, "production's database URI (with its password) lives in the Secret"


def test_services_map_port_80_to_5000(objects: list[dict]) -> None:
    for environment, names in kube.ENVIRONMENTS.items():
        service = kube.find_object(objects, "Service", names["deployment"], names["namespace"])
        (port,) = service["spec"]["ports"]
        container = kube.flask_container(kube.deployment(environment))
        container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert (port["port"], container_ports[port["targetPort"]]) == (80, 5000)
