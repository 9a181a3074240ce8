"""``hermesh up``: the broker (if none answers), every service as its own process, restarts, clean stop."""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from services import catalog
from services.config import CommonSettings, SettingsModel
from services.runner import configure_logging
from services.runtime.service import RESTART_EXIT_CODE, SHUTDOWN_EXIT_CODE

LOG = logging.getLogger("hermesh.up")

REPO_MOSQUITTO_CONF = Path(__file__).resolve().parent.parent / "mosquitto" / "mosquitto.conf"
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
STABLE_AFTER = 30.0  # a child that ran this long is healthy again: its restart delay starts over
STOP_GRACE = 8.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", ""}

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the supervisor dies, even by SIGKILL, so nothing is left behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def find_mosquitto() -> str | None:
    """The broker binary: $HERMESH_MOSQUITTO, else PATH, else Debian's /usr/sbin (not on a user's PATH)."""
    override = os.environ.get("HERMESH_MOSQUITTO")
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


UP_SECTION = "up"


class UpSettings(SettingsModel):
    """profile.json ``"up"``: what ``hermesh up`` starts beyond one process per service."""

    replicas: dict[str, int] = Field(default_factory=dict, description="workers per poolable service "
                                     f"({', '.join(sorted(catalog.POOLABLE))}), e.g. {{\"asr\": 2}}")

    @field_validator("replicas")
    @classmethod
    def _poolable(cls, value: dict[str, int]) -> dict[str, int]:
        for name, count in value.items():
            if name not in catalog.POOLABLE:
                raise ValueError(f"{name!r} cannot run as a pool; these can: {', '.join(sorted(catalog.POOLABLE))}")
            if not 1 <= count <= catalog.MAX_REPLICAS:
                raise ValueError(f"{name}: {count} workers; give 1 to {catalog.MAX_REPLICAS}")
        return value


def parse_replicas(text: str) -> dict[str, int]:
    """``asr=2,nlu=2`` -> {"asr": 2, "nlu": 2}; ValueError naming the bad part."""
    result: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, count = part.partition("=")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"--replicas: expected NAME=COUNT, got {part!r} (for example asr=2,nlu=2)")
        result[name.strip()] = int(count)
    return result


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = RESTART_FIRST_DELAY
    restart_at: float | None = None
    restarts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and the broker
            self.argv, preexec_fn=_die_with_parent, env={**os.environ, **self.env}, stdin=subprocess.DEVNULL
        )
        self.started = time.monotonic()
        self.restart_at = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, common: CommonSettings, services: list[str], flags: dict[str, Any], *, start_broker: bool = True,
                 replicas: dict[str, int] | None = None):
        self.common = common
        self.services = services
        self.replicas = replicas or {}
        self.flags = flags
        self.start_broker = start_broker
        self.children: list[Child] = []
        self._stop = False
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # ---- broker -------------------------------------------------------------------------------------------
    def _broker_child(self) -> Child | None:
        host, port = self.common.mqtt.host, self.common.mqtt.port
        if broker_answers(host, port):
            LOG.info("using the broker that answers at %s:%s", host, port)
            return None
        if not self.start_broker or host not in LOOPBACK_HOSTS:
            LOG.warning("no broker answers at %s:%s yet; the services will keep trying", host, port)
            return None
        binary = find_mosquitto()
        if binary is None:
            raise SystemExit(
                "hermesh: no MQTT broker answers at "
                f"{host}:{port} and Mosquitto is not installed.\n"
                "Install it (Debian/Ubuntu: sudo apt-get install mosquitto) or point --mqtt-host/--mqtt-port at a broker."
            )
        if not REPO_MOSQUITTO_CONF.exists():
            raise SystemExit(f"hermesh: the broker configuration {REPO_MOSQUITTO_CONF} is missing")
        self._tmp = tempfile.TemporaryDirectory(prefix="hermesh-broker-")
        conf = Path(self._tmp.name) / "mosquitto.conf"
        lines = []
        for line in REPO_MOSQUITTO_CONF.read_text().splitlines():
            if line.strip().startswith("listener "):
                line = f"listener {port} {'127.0.0.1' if host in ('localhost', '', '0.0.0.0') else host}"
            lines.append(line)
        conf.write_text("\n".join(lines) + "\n")
        LOG.info("starting Mosquitto on %s:%s (%s)", host, port, binary)
        return Child("mosquitto", [binary, "-c", str(conf)])

    # ---- services ------------------------------------------------------------------------------------------
    def _service_argv(self, name: str, instance: str | None = None) -> list[str]:
        argv = [sys.executable, "-m", "services.cli", name, "--profile", str(self.common.profile)]
        for site in self.common.site_ids:
            argv += ["--site-id", site]
        mqtt = self.common.mqtt
        argv += ["--mqtt-host", mqtt.host, "--mqtt-port", str(mqtt.port), "--log-level", self.common.log_level]
        if instance or self.common.instance:
            argv += ["--instance", instance or str(self.common.instance)]
        if mqtt.username:
            argv += ["--mqtt-username", mqtt.username]
        if mqtt.tls:
            argv += ["--mqtt-tls"]
            for flag, value in (("--mqtt-ca-file", mqtt.ca_file), ("--mqtt-cert-file", mqtt.cert_file),
                                ("--mqtt-key-file", mqtt.key_file)):
                if value:
                    argv += [flag, str(value)]
        http = self.common.http
        argv += ["--http-host", http.host, "--http-port", str(http.port), "--wyoming-port", str(http.wyoming_port)]
        return argv

    def _service_env(self) -> dict[str, str]:
        password = self.common.mqtt.password
        # The password travels in the environment, not on the command line where `ps` shows it.
        return {"HERMESH_MQTT_PASSWORD": password.get_secret_value()} if password else {}

    # ---- the loop ------------------------------------------------------------------------------------------
    def run(self) -> int:
        configure_logging(self.common.log_level)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            broker = self._broker_child()
            if broker is not None:
                self.children.append(broker)
                broker.start()
                self._wait_for_broker()
            env = self._service_env()
            for name in self.services:
                count = self.replicas.get(name, 1)
                if count == 1:
                    self.children.append(Child(name, self._service_argv(name), env=env))
                    continue
                # A pool: each worker has an instance name of its own (its status topic) and joins the group.
                base = self.common.instance or socket.gethostname()
                for worker in range(1, count + 1):
                    argv = [*self._service_argv(name, instance=f"{base}-{name}{worker}"), "--pool", name]
                    self.children.append(Child(f"{name}#{worker}", argv, env=env))
            for child in self.children:
                if child.process is None:
                    child.start()
            LOG.info("started %s; Ctrl-C stops everything", ", ".join(self.services) or "no services")
            while not self._stop:
                self._watch()
                time.sleep(0.2)
        finally:
            self._stop_all()
            if self._tmp is not None:
                self._tmp.cleanup()
        return 0

    def _wait_for_broker(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self._stop:
            if broker_answers(self.common.mqtt.host, self.common.mqtt.port, timeout=0.3):
                return
            broker = self.children[0]
            if not broker.alive():
                raise SystemExit(f"hermesh: Mosquitto exited with code {broker.process.returncode if broker.process else '?'}; "
                                 f"is port {self.common.mqtt.port} already in use?")
            time.sleep(0.1)
        if not self._stop:
            LOG.warning("the broker did not answer within 10 s; continuing, the services will retry")

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.alive():
                if now - child.started > STABLE_AFTER:
                    child.delay = RESTART_FIRST_DELAY
                continue
            if child.restart_at is None:
                code = child.process.returncode if child.process else None
                if code == SHUTDOWN_EXIT_CODE:  # the user stopped the mesh (POST /api/shutdown)
                    LOG.info("%s stopped on request: stopping everything", child.name)
                    self._stop = True
                    return
                if code == RESTART_EXIT_CODE:  # asked to restart (hermesh/control/restart): no backoff
                    LOG.info("restarting %s as requested", child.name)
                    child.restart_at = now
                    continue
                LOG.warning("%s exited with code %s; restarting in %.0f s", child.name, code, child.delay)
                child.restart_at = now + child.delay
                child.delay = min(child.delay * 2, RESTART_MAX_DELAY)
            elif now >= child.restart_at:
                child.restarts += 1
                child.start()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if not self._stop:
            LOG.info("stopping (signal %s)", signal.Signals(signum).name)
        self._stop = True

    def _stop_all(self) -> None:
        # Services first (they publish their offline status), the broker last.
        services = [c for c in self.children if c.name != "mosquitto"]
        brokers = [c for c in self.children if c.name == "mosquitto"]
        for group in (services, brokers):
            for child in group:
                if child.alive() and child.process is not None:
                    child.process.terminate()
            deadline = time.monotonic() + STOP_GRACE
            for child in group:
                if child.process is None:
                    continue
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    LOG.warning("%s did not stop within %.0f s; killing it", child.name, STOP_GRACE)
                    child.process.kill()
                    child.process.wait()
        LOG.info("all stopped")
