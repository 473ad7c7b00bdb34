"""docker/entrypoint.sh: what it refuses (the config check's one JSON line and exit 78),
`migrate`, commands passed through, and the production worker count derived from the CPU limit.
The entrypoint holds no configuration rule of its own: every refusal comes from
`python -m openml_backend.config check`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.deploy import kube
from tests.servers import free_port, gunicorn, image_like_environment, run_entrypoint

EX_CONFIG = 78  # what `python -m openml_backend.config check` returns


def production_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    env = {
        **image_like_environment(tmp_path),
        **kube.kubelet_environment("production"),
        "DATABASE_URI": f"mysql://root@127.0.0.1:{free_port()}/openml?charset=utf8mb4",
    }
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("value", ["staging", "Production", 'pro"duction\\'])
@pytest.mark.parametrize("command", [[], ["migrate"]])
def test_unknown_environment_exits_78_with_one_json_line(tmp_path: Path, value: str, command: list[str]) -> None:
    result = run_entrypoint(production_env(tmp_path, ENVIRONMENT=value), *command)
    assert result.returncode == EX_CONFIG
    record = json.loads(one_error_line(result))
    assert record["level"] == "ERROR"
    assert "ENVIRONMENT must be one of development, production, testing" in record["message"]
    assert value in record["message"]


def test_testing_environment_is_accepted_as_python_accepts_it(tmp_path: Path) -> None:
    result = run_entrypoint({**image_like_environment(tmp_path), "ENVIRONMENT": "testing"}, "migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("variable", "value"),
    [("GUNICORN_WORKERS", "0"), ("GUNICORN_WORKERS", "four"), ("GUNICORN_WORKERS", "-2"),
     ("GUNICORN_THREADS", "0"), ("GUNICORN_TIMEOUT", "2m"), ("GUNICORN_GRACEFUL_TIMEOUT", "0"),
     ("GUNICORN_WORKER_MEMORY_MB", "0"), ("GUNICORN_MAX_WORKERS", "many"), ("LOG_LEVEL", "verbose")],
)
def test_bad_gunicorn_setting_exits_78_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    result = run_entrypoint(production_env(tmp_path, **{variable: value}))
    assert result.returncode == EX_CONFIG
    record = json.loads(one_error_line(result))
    assert record["message"].startswith(f"configuration error: {variable} must be")


def template_secret_values() -> dict[str, str]:
    template = kube.load_documents(kube.K8S_DIR / "prod" / "secrets.yaml.template")[0]
    return kube.secret_values(template)


def dev_secret_values() -> dict[str, str]:
    return kube.secret_values(kube.load_documents(kube.K8S_DIR / "dev" / "secrets.yaml")[0])


@pytest.mark.parametrize(
    ("secrets", "named"),
    [
        (template_secret_values, "APP_SECRET_KEY"),  # the template applied unedited
        (dev_secret_values, "APP_SECRET_KEY"),  # the dev Secret copied into prod
    ],
)
def test_production_refuses_committed_secrets(tmp_path: Path, secrets, named: str) -> None:
    values = secrets()
    env = production_env(tmp_path, **{k: v for k, v in values.items() if k != "DATABASE_URI"})
    result = run_entrypoint(env)
    assert result.returncode == EX_CONFIG
    assert named in one_error_line(result)


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    result = run_entrypoint(production_env(tmp_path, DATABASE_URI=f"sqlite:///{tmp_path}/x.db"))
    assert result.returncode == EX_CONFIG
    assert "DATABASE_URI" in one_error_line(result)


def test_migrate_without_environment_warns_and_migrates_development(tmp_path: Path) -> None:
    env = {**image_like_environment(tmp_path)}
    result = run_entrypoint(env, "migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [r["message"] for r in records if r["level"] == "WARNING"] == [
        "ENVIRONMENT is not set; using development"], result.stderr
    # The development default: a SQLite file in DATA_DIR, now at the newest revision.
    with sqlite3.connect(tmp_path / "data" / "openml.db") as connection:
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_other_arguments_are_run_as_a_command(tmp_path: Path) -> None:
    command = ["python", "-c", "import os; print(os.getppid() > 0, 'ran')"]
    result = run_entrypoint(image_like_environment(tmp_path), *command)
    assert (result.returncode, result.stdout.split()) == (0, ["True", "ran"])


@pytest.mark.slow
def test_production_derives_workers_from_the_cpu_limit(tmp_path: Path) -> None:
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "cpu.max").write_text("100000 100000\n")  # 1 CPU
    (cgroup / "memory.max").write_text("max\n")
    env = production_env(tmp_path, GUNICORN_WORKERS=None, CGROUP_ROOT=str(cgroup))
    with gunicorn(env, tmp_path / "pod.log", wait_path=None) as server:
        server.wait_until_answering("/health", 120)
        # 2 x 1 CPU + 1
        assert len(server.wait_for_children(3, 60)) == 3
        (summary,) = [r for r in server.log_records() if r.get("message") == "starting gunicorn"]
        assert (summary["workers"], summary["workers_from"], summary["cpus"]) == (3, "limits", "1")
        server.process.terminate()
        assert server.process.wait(timeout=40) == 0
