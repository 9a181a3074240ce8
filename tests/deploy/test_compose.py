"""compose.yaml and compose.satellite.yaml: valid Compose files (checked by docker-compose, which needs no Docker
engine for `config`), consistent with the service catalog, and their commands, environment and health checks
actually working when run as plain processes against a broker started from mosquitto/docker.conf."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from services import catalog
from services.security.command import add_satellite_files
from services.security.files import read_text, write_preserving
from services.security.passwd import upsert_password
from tests.conftest import MOSQUITTO, free_port, wait_port
from tests.security.pki import make_pki

REPO = Path(__file__).resolve().parents[2]
BASE_ENV = {"HERMESH_MQTT_PASSWORD": "base-secret", "HERMESH_MONITOR_PASSWORD": "monitor-secret",
            "HERMESH_API_TOKEN": "api-token"}
SATELLITE_ENV = {"SITE_ID": "kitchen", "BASE_HOST": "127.0.0.1", "SATELLITE_PASSWORD": "kitchen-secret"}


def compose_config(path: Path, env: dict[str, str]) -> dict:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is missing (scripts/install.sh --test installs Debian's docker-compose)")
    result = subprocess.run([tool, "-f", str(path), "config"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env}, cwd=path.parent)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_files_are_valid_and_match_the_catalog():
    base = compose_config(REPO / "compose.yaml", BASE_ENV)
    assert set(base["services"]) == set(catalog.SERVICES) | {"mosquitto"}
    satellite = compose_config(REPO / "compose.satellite.yaml", SATELLITE_ENV)
    assert set(satellite["services"]) == set(catalog.ROOM_SERVICES)
    for config in (base, satellite):
        for name, service in config["services"].items():
            assert service["restart"] == "unless-stopped"
            if name == "mosquitto":
                continue
            assert service["command"][0] == name
            assert f"--check {name} " in " ".join(service["healthcheck"]["test"])
            targets = [v.get("target") if isinstance(v, dict) else v.split(":")[1] for v in service["volumes"]]
            assert "/profile" in targets


def test_the_validator_rejects_a_broken_file(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text((REPO / "compose.yaml").read_text().replace("restart: unless-stopped", "restart: [sometimes]", 1))
    tool = shutil.which("docker-compose") or "docker-compose"
    result = subprocess.run([tool, "-f", str(broken), "config", "-q"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **BASE_ENV})
    assert result.returncode != 0
    assert "restart" in result.stderr


def test_missing_secrets_are_refused_with_a_message():
    result = subprocess.run([shutil.which("docker-compose") or "docker-compose", "-f", str(REPO / "compose.yaml"),
                             "config", "-q"], capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("HERMESH_")})
    assert result.returncode != 0 and ".env" in result.stderr


def broker_from_docker_conf(directory: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    """mosquitto/docker.conf with the container paths and ports moved into the test directory."""
    pki = make_pki(directory / "pki")
    certs = directory / "certs"
    certs.mkdir()
    for name, source in (("ca.crt", pki.ca_cert), ("server.crt", pki.server_cert), ("server.key", pki.server_key)):
        (certs / name).write_bytes(source.read_bytes())
    passwd, acl = directory / "passwd", directory / "acl"
    shutil.copy(REPO / "mosquitto" / "acl.example", acl)
    text = read_text(passwd)
    for user, password in (("hermesh", BASE_ENV["HERMESH_MQTT_PASSWORD"]),
                           ("hermesh-monitor", BASE_ENV["HERMESH_MONITOR_PASSWORD"])):
        text = upsert_password(text, user, password, str(passwd)).text
    write_preserving(passwd, text or "")
    add_satellite_files(passwd, acl, "kitchen", "kitchen", password=SATELLITE_ENV["SATELLITE_PASSWORD"])
    plain, tls = free_port(), free_port()
    conf = (REPO / "mosquitto" / "docker.conf").read_text()
    for old, new in (("/mosquitto/config/", f"{directory}/"), ("listener 1883 0.0.0.0", f"listener {plain} 127.0.0.1"),
                     ("listener 8883 0.0.0.0", f"listener {tls} 127.0.0.1")):
        assert old in conf
        conf = conf.replace(old, new)
    if os.geteuid() == 0:
        conf += "user root\n"
    (directory / "mosquitto.conf").write_text(conf)
    process = subprocess.Popen([MOSQUITTO, "-c", str(directory / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    wait_port(plain)
    wait_port(tls)
    return process, plain, tls


def container_env(service: dict, overrides: dict[str, str]) -> dict[str, str]:
    env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    env.update(overrides)
    return env


def health(service: dict, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a container's health check the way Docker would (CMD-SHELL), in the container's environment."""
    kind, command = service["healthcheck"]["test"][0], service["healthcheck"]["test"][1]
    assert kind == "CMD-SHELL"
    return subprocess.run(["sh", "-c", command.replace("$$", "$")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})


@pytest.mark.timeout(300)
def test_compose_commands_run_as_processes_and_their_health_checks_pass(tmp_path):
    base = compose_config(REPO / "compose.yaml", BASE_ENV)
    satellite = compose_config(REPO / "compose.satellite.yaml", SATELLITE_ENV)
    broker, plain, tls = broker_from_docker_conf(tmp_path)
    processes: list[subprocess.Popen[bytes]] = []
    profile = tmp_path / "profile"
    http_port, wyoming_port = free_port(), free_port()
    try:
        broker_check = base["services"]["mosquitto"]["healthcheck"]["test"][1].replace("-p 1883", f"-p {plain}")
        assert subprocess.run(["sh", "-c", broker_check.replace("$$", "$")], timeout=30, capture_output=True,
                              env={**os.environ, "MONITOR_PASSWORD": BASE_ENV["HERMESH_MONITOR_PASSWORD"]}).returncode == 0
        envs: dict[str, dict[str, str]] = {}
        for name, service in base["services"].items():
            if name == "mosquitto":
                continue
            envs[name] = container_env(service, {
                "HERMESH_PROFILE": str(profile), "HERMESH_MQTT__HOST": "127.0.0.1", "HERMESH_MQTT__PORT": str(plain),
                "HERMESH_HTTP__PORT": str(http_port), "HERMESH_HTTP__WYOMING_PORT": str(wyoming_port),
                "PYTHONPATH": str(REPO)})
        for name, service in satellite["services"].items():
            envs[f"satellite-{name}"] = container_env(service, {
                "HERMESH_PROFILE": str(tmp_path / "satellite-profile"), "HERMESH_MQTT__PORT": str(tls),
                "HERMESH_MQTT__CA_FILE": str(tmp_path / "certs" / "ca.crt"), "PYTHONPATH": str(REPO)})
        subprocess.run([sys.executable, "-m", "services.cli", "train", "--profile", str(profile)], check=True,
                       env={**os.environ, "HERMESH_PROFILE": str(profile)}, capture_output=True, timeout=120)
        for key, env in envs.items():
            config = satellite if key.startswith("satellite-") else base
            service = config["services"][key.removeprefix("satellite-")]
            processes.append(subprocess.Popen([sys.executable, "-m", "services.cli", *service["command"]],
                                              env={**os.environ, **env}, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 120
        pending = dict(envs)
        while pending and time.monotonic() < deadline:
            for key, env in list(pending.items()):
                config = satellite if key.startswith("satellite-") else base
                if health(config["services"][key.removeprefix("satellite-")], env).returncode == 0:
                    del pending[key]
            time.sleep(1)
        assert not pending, f"health checks still failing: {sorted(pending)}"
        assert all(p.poll() is None for p in processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.terminate()
        broker.wait(10)


def test_every_health_check_names_its_own_service():
    for path, env in ((REPO / "compose.yaml", BASE_ENV), (REPO / "compose.satellite.yaml", SATELLITE_ENV)):
        for name, service in compose_config(path, env)["services"].items():
            if name != "mosquitto":
                assert re.search(rf"--check {re.escape(name)}\b", service["healthcheck"]["test"][1])
