"""Read the k8s/ manifests and the deployment guide (k8s/README.md) the way the deployment tests need them.

`container_env` builds a container's environment from its Deployment, ConfigMaps and
Secrets with the kubelet's rules (envFrom first, then env; later entries win; `$(VAR)`
references expanded; a missing referenced key is an error unless optional), so the boot
tests start the app with exactly what a pod would get.
"""

from __future__ import annotations

import base64
import re
import secrets
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.paths import REPO_ROOT

K8S_DIR = REPO_ROOT / "k8s"
DOCKER_DIR = REPO_ROOT / "docker"
ENTRYPOINT = DOCKER_DIR / "entrypoint.sh"
# The operator's guide: its bash blocks are the deployment contract.
DEPLOYMENT_GUIDE = K8S_DIR / "README.md"

# Every manifest, with the secrets template among them (validated after substitution).
MANIFESTS = sorted(
    path
    for path in [*K8S_DIR.glob("*.yaml"), *K8S_DIR.glob("*/*.yaml"), *K8S_DIR.glob("*/*.yaml.template")]
    if path.name != "kustomization.yaml"
)
KUSTOMIZATION_DIRS = [K8S_DIR / "dev", K8S_DIR / "prod"]

ENVIRONMENTS = {
    "development": {
        "namespace": "openml-dev",
        "deployment": "openml-backend-dev",
        "configmap": "openml-backend-dev-config",
        "secret": "openml-backend-dev-secrets",
        "dir": K8S_DIR / "dev",
    },
    "production": {
        "namespace": "openml-prod",
        "deployment": "openml-backend-prod",
        "configmap": "openml-backend-prod-config",
        "secret": "openml-backend-prod-secrets",
        "dir": K8S_DIR / "prod",
    },
}


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Return the non-empty YAML documents of `path`."""
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def all_objects() -> list[dict[str, Any]]:
    """Every object in every manifest under k8s/ (the secrets template included)."""
    return [doc for path in MANIFESTS for doc in load_documents(path)]


def find_object(objects: Iterable[Mapping[str, Any]], kind: str, name: str, namespace: str | None = None) -> dict:
    """Return the one object of `kind` named `name` (in `namespace` when given)."""
    matches = [
        obj
        for obj in objects
        if obj.get("kind") == kind
        and obj["metadata"]["name"] == name
        and (namespace is None or obj["metadata"].get("namespace") == namespace)
    ]
    assert len(matches) == 1, f"expected one {kind} {namespace}/{name}, found {len(matches)}"
    return dict(matches[0])


def secret_values(secret: Mapping[str, Any]) -> dict[str, str]:
    """The decoded key -> value map of a Secret (stringData wins over data, as the API server does)."""
    values = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
    values.update({key: str(value) for key, value in (secret.get("stringData") or {}).items()})
    return values


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def _expand(value: str, defined: Mapping[str, str]) -> str:
    # The kubelet's rule: $(VAR) becomes VAR's value when VAR is defined earlier, else stays;
    # $$ escapes a dollar sign.
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return defined.get(match.group(1), match.group(0))

    return _VAR_REF.sub(replace, value)


class MissingReference(LookupError):
    """A non-optional ConfigMap/Secret (or key) that the container references does not exist."""


def container_env(
    container: Mapping[str, Any],
    configmaps: Mapping[str, Mapping[str, str]],
    secrets_by_name: Mapping[str, Mapping[str, str]],
) -> dict[str, str]:
    """Return the environment the kubelet gives `container` (without the image's own ENV)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref, store = source["configMapRef"], configmaps
        else:
            ref, store = source["secretRef"], secrets_by_name
        if ref["name"] not in store:
            if ref.get("optional"):
                continue
            raise MissingReference(f"{ref['name']} does not exist")
        env.update({prefix + key: value for key, value in store[ref["name"]].items()})
    for entry in container.get("env") or []:
        name = entry["name"]
        if "value" in entry:
            env[name] = _expand(str(entry["value"]), env)
            continue
        value_from = entry["valueFrom"]
        if "secretKeyRef" in value_from:
            ref, store = value_from["secretKeyRef"], secrets_by_name
        elif "configMapKeyRef" in value_from:
            ref, store = value_from["configMapKeyRef"], configmaps
        else:
            raise NotImplementedError(f"env {name}: only configMapKeyRef and secretKeyRef are used here")
        values = store.get(ref["name"])
        if values is None or ref["key"] not in values:
            if ref.get("optional"):
                continue
            raise MissingReference(f"env {name}: {ref['name']}/{ref['key']} does not exist")
        env[name] = values[ref["key"]]
    return env


WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")


def pod_template(workload: Mapping[str, Any]) -> dict[str, Any]:
    """The pod template of a Deployment, a Job or a CronJob (its Job template's)."""
    spec = workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]
    return spec["template"]


def pod_containers(workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The containers of a Deployment's, Job's or CronJob's pod template."""
    return pod_template(workload)["spec"]["containers"]


def flask_container(deployment: Mapping[str, Any]) -> dict[str, Any]:
    """The container named `flask` (the guide's `kubectl set image ... flask=` names it)."""
    (container,) = [c for c in pod_containers(deployment) if c["name"] == "flask"]
    return container


# --- the deployment guide's commands ----------------------------------------------------

_FENCE = re.compile(r"```bash\n(.*?)```", re.DOTALL)
RANDOM_HEX_COMMAND = "$(openssl rand -hex 32)"
RANDOM_HEX_WORD = "@RANDOM_HEX_32@"


def guide_commands(guide: Path = DEPLOYMENT_GUIDE) -> list[list[str]]:
    """Every shell command in the guide's bash blocks, split into words.

    Continuation lines are joined, comments dropped, `$(...)` kept as one word.
    """
    commands: list[list[str]] = []
    for block in _FENCE.findall(guide.read_text(encoding="utf-8")):
        joined = re.sub(r"\\\n\s*", " ", block).replace(RANDOM_HEX_COMMAND, RANDOM_HEX_WORD)
        for line in joined.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
            lexer.whitespace_split = True
            command: list[str] = []
            for word in lexer:
                if word == "|":
                    commands.append(command)
                    command = []
                else:
                    command.append(word.replace(RANDOM_HEX_WORD, RANDOM_HEX_COMMAND))
            if command:
                commands.append(command)
    return commands


@dataclass(frozen=True)
class SecretCommand:
    """`kubectl create secret generic NAME --from-literal=K=V ... --namespace NS`."""

    name: str
    namespace: str
    literals: dict[str, str]


def guide_secret_commands(guide: Path = DEPLOYMENT_GUIDE) -> list[SecretCommand]:
    """The guide's `kubectl create secret generic` commands, with `$(openssl rand -hex 32)`
    replaced by 32 fresh random bytes in hex, as the shell would."""
    found = []
    for words in guide_commands(guide):
        if words[:4] != ["kubectl", "create", "secret", "generic"]:
            continue
        literals, namespace = {}, None
        for i, word in enumerate(words):
            if word.startswith("--from-literal="):
                key, _, value = word.removeprefix("--from-literal=").partition("=")
                literals[key] = value.replace(RANDOM_HEX_COMMAND, secrets.token_hex(32))
            elif word in ("--namespace", "-n"):
                namespace = words[i + 1]
        found.append(SecretCommand(words[4], namespace or "default", literals))
    return found


def kubelet_environment(environment: str, secret_values_override: Mapping[str, str] | None = None,
                        container: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The `flask` container's environment in `environment` (or `container`'s, e.g. a Job's),
    from the committed manifests.

    Production's Secret is the one the guide's `kubectl create secret` command creates
    (unless `secret_values_override` gives other values, e.g. the template's).
    """
    names = ENVIRONMENTS[environment]
    objects = environment_objects(environment)
    deployment = find_object(objects, "Deployment", names["deployment"], names["namespace"])
    configmap = find_object(objects, "ConfigMap", names["configmap"], names["namespace"])
    if secret_values_override is not None:
        secret = dict(secret_values_override)
    elif environment == "development":
        secret = secret_values(find_object(objects, "Secret", names["secret"], names["namespace"]))
    else:
        # The Quick Start's command (the first one that creates this Secret).
        secret = next(c for c in guide_secret_commands() if c.name == names["secret"]).literals
    return container_env(
        container if container is not None else flask_container(deployment),
        {names["configmap"]: {k: str(v) for k, v in configmap["data"].items()}},
        {names["secret"]: secret},
    )


def environment_objects(environment: str) -> list[dict[str, Any]]:
    """Every object in the committed YAML files of `environment`'s directory."""
    directory = ENVIRONMENTS[environment]["dir"]
    return [doc for path in sorted(directory.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in load_documents(path)]


def container_command(container: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """The container's args with `$(VAR)` expanded from `env`, as the kubelet does (the
    image's entrypoint then runs them)."""
    return [_expand(str(arg), env) for arg in container.get("args") or []]


def deployment(environment: str) -> dict[str, Any]:
    """The committed Deployment of `environment`."""
    names = ENVIRONMENTS[environment]
    return find_object(load_documents(names["dir"] / "deployment.yaml"), "Deployment", names["deployment"])
