"""docker-compose.yml, the Dockerfile and the Prometheus files agree with the code: every
TICKETING_* variable they set is a setting, every worker and every backing service is there."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ticketing.settings import Settings
from ticketing.workers import WORKER_METRICS_PORTS, WORKER_NAMES

ROOT = Path(__file__).resolve().parents[2]
BACKING = {"mysql", "redis", "redpanda", "migrate", "lb", "prometheus", "grafana"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as docker-compose itself reads it, with the documented .env.example."""
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make test` installs it (make compose-tools)"
    done = subprocess.run(
        [binary, "--env-file", str(ROOT / ".env.example"), "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)
    return parsed


def services_running(compose: dict[str, Any], *command: str) -> list[str]:
    return [name for name, s in compose["services"].items() if s.get("command") == list(command)]


def test_every_ticketing_variable_the_compose_file_sets_is_a_setting(compose: dict[str, Any]) -> None:
    known = {f"TICKETING_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        unknown = {var for var in env if var.startswith("TICKETING_")} - known - {"TICKETING_DASHBOARDS_DIR"}
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
        if any(var.startswith("TICKETING_") for var in env) and name != "grafana":
            # Each app container must pass the settings' own production checks.
            settings_env = {k.removeprefix("TICKETING_").lower(): v for k, v in env.items() if k.startswith("TICKET")}
            settings = Settings.model_validate(
                {k: yaml.safe_load(v) if k == "trusted_proxies" else v for k, v in settings_env.items()}
            )
            assert settings.is_production
            assert not settings.fake_payments_enabled
            assert not settings.dev_login_enabled


def test_every_worker_runs_and_the_confirm_consumer_twice(compose: dict[str, Any]) -> None:
    for name in WORKER_NAMES:
        copies = services_running(compose, "worker", name)
        assert len(copies) == (2 if name == "confirm-consumer" else 1), (name, copies)
        for service in copies:
            env = compose["services"][service]["environment"]
            assert env["TICKETING_METRICS_PORT"] == str(WORKER_METRICS_PORTS[name])
    workers = {c[1] for s in compose["services"].values() if (c := s.get("command")) and c[0] == "worker"}
    assert workers == set(WORKER_NAMES)


def test_every_backing_service_is_there_and_configured_for_production(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= BACKING
    assert len(services_running(compose, "api")) >= 2
    assert services["mysql"]["image"].startswith("mysql:8")
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly" in services["redis"]["command"]
    assert services["redpanda"]["image"].split("/")[-1].startswith("redpanda:")
    assert services["migrate"]["command"] == ["migrate"]
    assert services["lb"]["ports"]
    for name in services_running(compose, "api"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_env_example_documents_every_variable_the_compose_file_requires() -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    assert required
    assert required <= documented


def scraped(path: Path) -> dict[str, set[str]]:
    """Each worker label of the ticketing-workers job -> its targets; 'api' -> the API's."""
    config = yaml.safe_load(path.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    found: dict[str, set[str]] = {"api": set(jobs["ticketing-api"]["static_configs"][0]["targets"])}
    for group in jobs["ticketing-workers"]["static_configs"]:
        found.setdefault(group["labels"]["worker"], set()).update(group["targets"])
    return found


def test_both_prometheus_configs_scrape_every_process_on_its_registry_port(compose: dict[str, Any]) -> None:
    local = scraped(ROOT / "deploy/prometheus/prometheus.yml")
    assert {w: local[w] for w in WORKER_NAMES} == {w: {f"127.0.0.1:{p}"} for w, p in WORKER_METRICS_PORTS.items()}
    inside = scraped(ROOT / "deploy/compose/prometheus.yml")
    assert inside["api"] == {f"{name}:8000" for name in services_running(compose, "api")}
    for name, port in WORKER_METRICS_PORTS.items():
        assert inside[name] == {f"{s}:{port}" for s in services_running(compose, "worker", name)}


def test_the_image_is_built_from_the_lock_file_and_runs_unprivileged_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2, "multi-stage"
    assert "uv sync --locked" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert users
    assert users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*ticketing\", \"probe", dockerfile, flags=re.M)
