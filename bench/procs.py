"""Processes for benchmarks: a Mosquitto on a free loopback port, Hermesh services as their own processes,
and what /proc says about them (CPU seconds, peak RSS). Everything started here is stopped by ``stop()``.

Used by ``bench/speech_bench.py``; the same pattern as ``bench/asr_bench.py`` and ``bench/mesh_bench.py``
(which still carry their own copies).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.runtime.payload_caps import BROKER_MAX_PACKET_SIZE, BROKER_MESSAGE_SIZE_LIMIT  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers on 127.0.0.1:{port} after {timeout} s") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_mib(pid: int | str = "self") -> float:
    """VmHWM: the peak resident set size since start (or since ``reset_peak_rss``), MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def rss_mib(pid: int | str = "self") -> float:
    return _status_kib(pid, "VmRSS") / 1024


def reset_peak_rss(pid: int | str = "self") -> bool:
    """Reset VmHWM to the current RSS (Linux: ``echo 5 > /proc/<pid>/clear_refs``); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Processes:
    """A broker and services, each a process of its own; ``stop()`` ends them all (services first)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.broker_port = 0
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start_broker(self, tcp_nodelay: bool = True) -> int:
        """Mosquitto on a free loopback port; ``tcp_nodelay``: ``set_tcp_nodelay true``, as mosquitto/*.conf
        (False: Mosquitto's default, where small messages wait for the client's delayed ACK behind an
        unacknowledged one)."""
        self.broker_port = free_port()
        conf = self.log_dir / "mosquitto.conf"
        conf.write_text(f"listener {self.broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        f"message_size_limit {BROKER_MESSAGE_SIZE_LIMIT}\nmax_packet_size {BROKER_MAX_PACKET_SIZE}\n"
                        f"{'set_tcp_nodelay true' + chr(10) if tcp_nodelay else ''}")
        self.children["mosquitto"] = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.broker_port)
        return self.broker_port

    def start_service(self, name: str, profile: Path, *extra: str) -> subprocess.Popen[bytes]:
        """``python -m services.cli <name>`` on this broker, logging to <log_dir>/<name>.log."""
        log = (self.log_dir / f"{name}.log").open("wb")
        command = [sys.executable, "-m", "services.cli", name, "--profile", str(profile),
                   "--mqtt-host", "127.0.0.1", "--mqtt-port", str(self.broker_port), "--log-level", "WARNING", *extra]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=str(ROOT))
        log.close()
        self.children[name] = process
        return process

    def pid(self, name: str) -> int:
        return self.children[name].pid

    def check_alive(self) -> None:
        for name, process in self.children.items():
            if process.poll() is not None:
                tail = ""
                log = self.log_dir / f"{name}.log"
                if log.is_file():
                    tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {process.returncode}\n{tail}")

    def stop(self) -> None:
        """SIGTERM every service, wait (then SIGKILL), and only then the broker (services say goodbye on it)."""
        services = [p for n, p in self.children.items() if n != "mosquitto"]
        broker = self.children.get("mosquitto")
        for group in (services, [broker] if broker is not None else []):
            for process in group:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in group:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.children.clear()
