"""A real Mosquitto started from mosquitto/production.conf, with its paths and ports moved into a test directory."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from services.config import MqttSettings
from tests.conftest import MOSQUITTO, free_port, stop_process, wait_port

from .pki import Pki

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_CONF = REPO / "mosquitto" / "production.conf"
ETC = "/etc/mosquitto/hermesh/"


def render_production_conf(directory: Path, plain_port: int, tls_port: int, ws_port: int | None,
                           require_certificate: bool = False) -> str:
    """production.conf with test paths and ports; fails if the file no longer has the lines the tests rely on."""
    text = PRODUCTION_CONF.read_text(encoding="utf-8")
    replacements = {
        ETC: f"{directory}/",
        "listener 1883 127.0.0.1": f"listener {plain_port} 127.0.0.1",
        "listener 8883 0.0.0.0": f"listener {tls_port} 127.0.0.1",
        "require_certificate false": f"require_certificate {'true' if require_certificate else 'false'}",
    }
    for old, new in replacements.items():
        assert old in text, f"mosquitto/production.conf no longer contains {old!r}"
        text = text.replace(old, new)
    if ws_port is not None:
        lines = text.splitlines()
        start = lines.index("#listener 9001 0.0.0.0")
        for index in range(start, start + 5):
            assert lines[index].startswith("#"), lines[index]
            lines[index] = lines[index][1:]
        lines[start] = f"listener {ws_port} 127.0.0.1"
        text = "\n".join(lines) + "\n"
    # Test-only additions: a log file to read when a test fails, and no privilege drop when the tests run as
    # root (the broker would otherwise switch to user mosquitto and fail to read the pytest directory).
    text += f"\nlog_dest file {directory}/broker.log\nlog_type all\n"
    if os.geteuid() == 0:
        text += "user root\n"
    return text


class ProductionBroker:
    def __init__(self, directory: Path, pki: Pki, *, websockets: bool = False, require_certificate: bool = False):
        self.directory = directory
        self.pki = pki
        self.plain_port = free_port()
        self.tls_port = free_port()
        self.ws_port = free_port() if websockets else None
        self.passwd = directory / "passwd"
        self.acl = directory / "acl"
        self.conf = directory / "mosquitto.conf"
        for name, source in (("ca.crt", pki.ca_cert), ("server.crt", pki.server_cert), ("server.key", pki.server_key)):
            (directory / name).write_bytes(source.read_bytes())
        self.conf.write_text(render_production_conf(directory, self.plain_port, self.tls_port, self.ws_port,
                                                    require_certificate))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=subprocess.PIPE)
        try:
            for port in (self.plain_port, self.tls_port, self.ws_port):
                if port is not None:
                    wait_port(port)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"mosquitto did not start from production.conf:\n{self.log()}") from None

    def reload(self) -> None:
        """What `systemctl reload mosquitto` does: SIGHUP re-reads the password and ACL files."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def log(self) -> str:
        path = self.directory / "broker.log"
        stderr = b""
        if self.process is not None and self.process.poll() is not None and self.process.stderr:
            stderr = self.process.stderr.read()
        return (path.read_text(errors="replace") if path.exists() else "") + stderr.decode(errors="replace")

    def plain(self, username: str, password: str) -> MqttSettings:
        return MqttSettings(host="127.0.0.1", port=self.plain_port, username=username, password=password)

    def tls(self, username: str, password: str, *, client_cert: bool = False, ca: Path | None = None) -> MqttSettings:
        return MqttSettings(
            host="127.0.0.1", port=self.tls_port, username=username, password=password, tls=True,
            ca_file=ca or self.pki.ca_cert,
            cert_file=self.pki.client_cert if client_cert else None,
            key_file=self.pki.client_key if client_cert else None,
        )
