"""The real image, built from docker/Dockerfile and run with podman, as Kubernetes would run it:
read-only root filesystem, writable tmpfs where the pod has emptyDirs, the pod's CPU and memory
limits, the environment from the ConfigMap and Secret. Development runs on its own SQLite
file; production migrates (the release Job's command) and then serves against the host's
MariaDB.

No registry is reachable here, so the base image (BASE_IMAGE build argument) is a Debian
bookworm with python3 bootstrapped locally once and kept in podman's image store
(tests/deploy/build_base_image.sh); OPENML_TEST_BASE_IMAGE names another base (e.g.
python:3.11-slim-bookworm where a registry is reachable). Layers are cached, so a re-run only
rebuilds what changed. A statistics request through the stand-in OpenML server proves the
`openml` client, its cache and the database work as uid 1000 on the read-only filesystem.
Without podman, or where podman cannot run containers, the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.deploy import kube
from tests.standin_openml import StandinOpenML
from tests.helpers import fresh_mariadb_database
from tests.servers import free_port, standin_openml_server

pytestmark = [pytest.mark.slow, pytest.mark.container]

HERE = Path(__file__).resolve().parent
BASE_IMAGE = os.environ.get("OPENML_TEST_BASE_IMAGE") or "localhost/openml-bookworm-python:1"
IMAGE = "localhost/openml-flask:test"
# The host as seen from a container on slirp4netns with allow_host_loopback.
HOST_FROM_CONTAINER = "10.0.2.2"
CA_BUNDLE = os.environ.get("PIP_CA_BUNDLE") or "/etc/ssl/certs/ca-certificates.crt"


class ContainerVisibleOpenML(StandinOpenML):
    """The stand-in OpenML server, bound to the host's loopback but advertising the address the
    container reaches it at (its descriptions carry absolute data URLs)."""

    @property
    def url(self) -> str:
        return f"http://{HOST_FROM_CONTAINER}:{self.port}"


@pytest.fixture(scope="module")
def openml() -> Iterator[StandinOpenML]:
    with standin_openml_server(ContainerVisibleOpenML) as server:
        yield server


def podman_env() -> dict[str, str]:
    # containers.conf: runc and explicit ulimits (crun refuses this kind of host's mixed cgroup
    # layout, and without CAP_SYS_RESOURCE podman's default rlimits cannot be applied).
    return {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF") or str(HERE / "containers.conf")}


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=podman_env())
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:2])} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


@pytest.fixture(scope="session")
def image() -> str:
    """Build the image (cached layers make re-runs quick); skip with the reason if impossible."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (bash tests/deploy/install_tools.sh installs it as root)")
    if BASE_IMAGE.startswith("localhost/"):
        if shutil.which("debootstrap") is None and podman("image", "exists", BASE_IMAGE, check=False).returncode:
            pytest.skip("debootstrap is not installed, needed once to build the local base image")
        built = subprocess.run(["bash", str(HERE / "build_base_image.sh"), BASE_IMAGE], capture_output=True,
                               text=True, timeout=900, env=podman_env())
        if built.returncode != 0:
            pytest.skip(f"cannot build the base image: {(built.stdout + built.stderr).strip()[-500:]}")
    smoke = podman("run", "--rm", "--network", "none", BASE_IMAGE, "python3", "-c", "print('ok')", check=False)
    if smoke.returncode != 0 or smoke.stdout.strip() != "ok":
        pytest.skip(f"podman cannot run containers here: {smoke.stderr.strip()[-500:]}")
    build = ["build", "--format", "docker", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", IMAGE,
             "-f", str(kube.DOCKER_DIR / "Dockerfile")]
    if Path(CA_BUNDLE).is_file():
        # Test-only input: pip inside the build must trust this host's TLS-inspecting proxy.
        build += ["--secret", f"id=pip_ca,src={CA_BUNDLE}"]
    podman(*build, str(kube.REPO_ROOT), timeout=1800)
    return IMAGE


@contextlib.contextmanager
def container(
    image: str, env: dict[str, str], resources: dict, tmp_path: Path, *args: str
) -> Iterator[tuple[str, int]]:
    """Run the image detached like the pod runs it; yield (name, host port of :5000)."""
    name = f"openml-test-{uuid.uuid4().hex[:10]}"
    port = free_port()
    env_file = tmp_path / f"{name}.env"  # keeps secrets out of the process list
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    limits = resources["limits"]
    podman(
        "run", "--detach", "--name", name,
        "--network", "slirp4netns:allow_host_loopback=true", "--publish", f"127.0.0.1:{port}:5000",
        "--read-only",  # /tmp (an emptyDir in the pod) becomes a tmpfs
        "--mount", "type=tmpfs,destination=/app/data,chown=true",
        "--mount", "type=tmpfs,destination=/app/cache,chown=true",
        "--cpus", str(limits["cpu"]), "--memory", limits["memory"].replace("Gi", "g").replace("Mi", "m"),
        "--env-file", str(env_file), image, *args,
    )
    try:
        yield name, port
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)


def http_get(port: int, path: str, timeout: float = 3) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def http_status(port: int, path: str) -> int:
    return http_get(port, path)[0]


def wait_for_health(name: str, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if http_status(port, "/health") == 200:
                return
        if podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() != "true":
            break
        time.sleep(0.5)
    raise AssertionError(f"/health never answered 200:\n{podman('logs', name, check=False).stdout[-3000:]}")


def container_environment(environment: str, database_uri: str | None, openml: StandinOpenML) -> dict[str, str]:
    env = {**kube.kubelet_environment(environment), "OPENML_SERVER_URL": openml.api_url}
    if database_uri:
        env["DATABASE_URI"] = database_uri
    return env


def check_running_pod(name: str, port: int, environment: str) -> None:
    deployment = kube.deployment(environment)
    probe = kube.flask_container(deployment)["startupProbe"]
    wait_for_health(name, port, probe["periodSeconds"] * probe["failureThreshold"])
    assert http_status(port, "/health/ready") == 200
    status, body = http_get(port, "/api/v1/datasets/61/stats", timeout=120)
    assert status == 200, body[:2000]
    assert json.loads(body)["name"] == "iris"
    status = podman("exec", name, "cat", "/proc/1/status").stdout
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["1000"] * 4, uid_line
    assert "gunicorn" in podman("exec", name, "cat", "/proc/1/cmdline").stdout
    assert podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name).stdout.strip() == "true"
    # Even root cannot write the root filesystem; the app user can write its volumes.
    denied = podman("exec", "--user", "0", name, "touch", "/app/written-by-root", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    podman("exec", name, "touch", "/app/data/probe", "/app/cache/probe", "/tmp/probe")
    assert podman("healthcheck", "run", name, check=False).returncode == 0, "the image's HEALTHCHECK failed"

    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    started = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    exit_code = podman("wait", name, timeout=grace).stdout.strip()
    assert exit_code == "0", podman("logs", name, check=False).stdout[-3000:]
    assert time.monotonic() - started < grace
    for line in podman("logs", name).stdout.splitlines():
        json.loads(line)  # every line the container prints is a JSON log line


def test_image_metadata(image: str) -> None:
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "1000:1000"
    assert "5000/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ["/app/docker/entrypoint.sh"]
    healthcheck = inspected["Healthcheck"]["Test"]
    assert healthcheck[0] == "CMD" and "curl" not in " ".join(healthcheck)
    assert {"org.opencontainers.image.title", "org.opencontainers.image.version"} <= set(config["Labels"])


def test_image_holds_no_compiler_tests_or_secrets(image: str) -> None:
    found = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
                   "command -v gcc cc g++ make; ls -d /app/tests /app/.env /app/.git /run/secrets/pip_ca "
                   "/root/.cache/pip 2>/dev/null; ls /app", check=False).stdout.split()
    # Only `ls /app` prints: no compiler, no tests, no build secret, no pip cache
    # (__pycache__ holds autoapp.py's bytecode, compiled at build time).
    expected = ["__pycache__", "autoapp.py", "cache", "data", "docker", "migrations", "openml_backend"]
    assert sorted(found) == expected, found


def test_worker_count_follows_the_real_cgroup_limits(image: str) -> None:
    result = podman("run", "--rm", "--network", "none", "--cpus", "1", "--memory", "2g", "--entrypoint", "python3",
                    image, "/app/docker/gunicorn_workers.py", "1024", "12")
    # (GUNICORN_WORKER_MEMORY_MB and GUNICORN_MAX_WORKERS at their defaults, as entrypoint.sh passes them.)
    # 1 CPU -> 2 x 1 + 1 = 3, capped by 2048 MiB / 1024 MiB per worker = 2.
    assert result.stdout.split() == ["2", "1", "2048"]


def test_development_pod(image: str, openml: StandinOpenML, tmp_path: Path) -> None:
    resources = kube.flask_container(kube.deployment("development"))["resources"]
    # DATABASE_URI stays the ConfigMap's: SQLite on the data volume.
    env = container_environment("development", None, openml)
    with container(image, env, resources, tmp_path) as (name, port):
        check_running_pod(name, port, "development")


def test_production_pod_after_its_migration_job(image: str, openml: StandinOpenML, tmp_path: Path) -> None:
    resources = kube.flask_container(kube.deployment("production"))["resources"]
    with fresh_mariadb_database("openml_backend_image") as uri:
        url = make_url(uri).set(drivername="mysql", host=HOST_FROM_CONTAINER)
        env = container_environment("production", url.render_as_string(hide_password=False), openml)
        with container(image, env, resources, tmp_path, "migrate") as (name, _):
            assert podman("wait", name, timeout=300).stdout.strip() == "0", podman("logs", name).stdout[-3000:]
        with container(image, env, resources, tmp_path) as (name, port):
            check_running_pod(name, port, "production")
