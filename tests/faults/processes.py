"""Real Hermesh services as their own processes on the test broker, to be stopped, killed and started again.

``kill -9`` is the point: the process gets no chance to say goodbye, so only the broker's last will
(hermesh/status/<service>/<instance> offline, sent as soon as the socket closes) tells the mesh it is gone.
``pause()`` (SIGSTOP) holds a request in flight inside the service, so the kill always lands mid-request.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from hermes.status import ServiceState, ServiceStatus
from tests.conftest import HermesTestClient, MosquittoBroker

REPO = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """``python -m services.cli <name>``; ``start`` waits until its status topic says online."""

    def __init__(self, name: str, broker: MosquittoBroker, profile: Path, log_dir: Path, *extra: str) -> None:
        self.name = name
        self.argv = [sys.executable, "-m", "services.cli", name, "--profile", str(profile), "--mqtt-host",
                     broker.host, "--mqtt-port", str(broker.port), "--log-level", "INFO", *extra]
        self.log = log_dir / f"{name}-{len(list(log_dir.glob(f'{name}*.log')))}.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, client: HermesTestClient, timeout: float = 30.0) -> None:
        await client.subscribe(ServiceStatus.subscribe_filter())
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            env={**os.environ, "PYTHONPATH": str(REPO)})
        pid = self.process.pid
        try:
            await client.expect(ServiceStatus, timeout=timeout,
                                where=lambda s: s.pid == pid and s.status == ServiceState.ONLINE)
        except AssertionError as err:
            raise AssertionError(f"{self.name} did not come online: {self.log.read_text()[-2000:]}") from err

    @classmethod
    def module(cls, name: str, module: str, broker: MosquittoBroker, profile: Path, log_dir: Path) -> ServiceProcess:
        """A process of our tests (an app) run as ``python -m module HOST PORT PROFILE``."""
        process = cls(name, broker, profile, log_dir)
        process.argv = [sys.executable, "-m", module, broker.host, str(broker.port), str(profile)]
        return process

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL (a stopped process dies too), and reap it so the socket is surely closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    async def killed_offline(self, client: HermesTestClient, timeout: float = 10.0) -> None:
        """Kill it and wait for its last will on the broker."""
        assert self.process is not None
        pid = self.process.pid
        self.kill()
        await client.expect(ServiceStatus, timeout=timeout,
                            where=lambda s: s.pid == pid and s.status == ServiceState.OFFLINE)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused process would not act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


async def settle() -> None:
    """Give an HTTP request time to reach the service (it is paused, so it stays there)."""
    await asyncio.sleep(0.5)
