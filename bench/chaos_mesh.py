"""The mesh for bench/chaos.py: ``hermesh up`` (the real supervisor, which starts Mosquitto and restarts what
dies) on free ports, the pids of its children to stop and kill, and an MQTT client that reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import aiomqtt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import procs  # noqa: E402

from hermes.base import HermesMessage, HermesProtocolError  # noqa: E402
from hermes.status import ServiceState, ServiceStatus  # noqa: E402

SERVICES = ("wake", "asr", "nlu", "dialogue", "tts", "intent-handler", "bridge")
M = TypeVar("M", bound=HermesMessage)


class SupervisedMesh:
    """``hermesh up --only <services>`` (default SERVICES) on a fresh trained default profile; every service its
    own process, ``replicas`` (``{"asr": 2}``) workers of a pool each."""

    def __init__(self, work_dir: Path, services: tuple[str, ...] = SERVICES,
                 replicas: dict[str, int] | None = None) -> None:
        self.work_dir = work_dir
        self.services = services
        self.replicas = replicas or {}
        self.profile = work_dir / "profile"
        self.broker_port = procs.free_port()
        self.http_port = procs.free_port()
        self.wyoming_port = procs.free_port()
        self.supervisor: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from services.nlu.training import train_profile
        from services.profile import ensure_profile

        ensure_profile(self.profile)
        settings = json.loads((self.profile / "profile.json").read_text())
        # No speakers here: a feedback sound would only wait for a playFinished that never comes.
        settings.setdefault("dialogue", {})["sounds_enabled"] = False
        (self.profile / "profile.json").write_text(json.dumps(settings))
        train_profile(self.profile)
        only = [arg for name in self.services for arg in ("--only", name)]
        pools = ["--replicas", ",".join(f"{name}={n}" for name, n in self.replicas.items())] if self.replicas else []
        log = (self.work_dir / "up.log").open("wb")
        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", *only, *pools, "--profile", str(self.profile),
             "--mqtt-port", str(self.broker_port), "--http-port", str(self.http_port),
             "--wyoming-port", str(self.wyoming_port), "--log-level", "WARNING"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=str(ROOT),
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        log.close()
        procs.wait_port(self.broker_port, 30)
        procs.wait_port(self.http_port, 120)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def pid(self, name: str) -> int | None:
        """The supervisor's child running ``name`` (``mosquitto`` for the broker), found in /proc."""
        assert self.supervisor is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if parent != self.supervisor.pid:
                continue
            words = [word.decode(errors="replace") for word in argv]
            if (name == "mosquitto" and words and words[0].endswith("mosquitto")) or \
                    (len(words) > 3 and words[2] == "services.cli" and words[3] == name):
                return int(entry.name)
        return None

    def signal(self, name: str, signum: signal.Signals) -> int:
        pid = self.pid(name)
        if pid is None:
            raise RuntimeError(f"{name} is not running under the supervisor")
        os.kill(pid, signum)
        return pid

    def stop(self) -> None:
        if self.supervisor is None:
            return
        for name in (*self.services, "mosquitto"):  # a paused child would not act on the supervisor's SIGTERM
            pid = self.pid(name)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        self.supervisor.terminate()
        try:
            self.supervisor.wait(40)
        except subprocess.TimeoutExpired:
            self.supervisor.kill()
            self.supervisor.wait(5)


class Bus:
    """An MQTT client for the bench's own messages that reconnects at once when the broker comes back
    (polling every 20 ms), keeps every message it receives, and says which services are online."""

    FILTERS = ("hermes/dialogueManager/#", "hermes/asr/startListening", "hermes/nlu/query", "hermes/tts/say",
               "hermes/intent/#", "hermes/nlu/intentNotRecognized", ServiceStatus.subscribe_filter())

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox: dict[str, list[HermesMessage]] = {}  # by site id: the bench gives every session its own
        self.statuses: dict[tuple[str, str], str] = {}
        self.heard: dict[str, float] = {}  # service -> when its last online status arrived (monotonic)
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._arrived: dict[str, asyncio.Event] = {}  # by site: one waiter per site, so clearing is safe
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Bus:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        from hermes.registry import parse

        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, identifier=f"chaos-{uuid.uuid4().hex[:8]}",
                                          max_queued_incoming_messages=0) as client:
                    for topic_filter in self.FILTERS:
                        await client.subscribe(topic_filter)
                    self._client = client
                    self._connected.set()
                    async for message in client.messages:
                        try:
                            parsed = parse(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
                        except (HermesProtocolError, ValueError):
                            continue
                        if isinstance(parsed, ServiceStatus):
                            self.statuses[(parsed.service, parsed.instance)] = str(parsed.status)
                            if parsed.status == ServiceState.ONLINE:
                                self.heard[parsed.service] = time.monotonic()
                        site = parsed.get_site_id()
                        if site is not None:
                            self.inbox.setdefault(site, []).append(parsed)
                            if site in self._arrived:
                                self._arrived[site].set()
            except aiomqtt.MqttError:
                self._connected.clear()
                self._client = None
                await asyncio.sleep(0.02)

    def online(self, service: str) -> bool:
        return any(name == service and state == ServiceState.ONLINE for (name, _), state in self.statuses.items())

    async def publish(self, message: HermesMessage, timeout: float = 15.0) -> None:
        await self.publish_raw(message.topic(), message.payload(), timeout)

    async def publish_raw(self, topic: str, payload: bytes, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            client = self._client
            if client is not None and self._connected.is_set():
                try:
                    await client.publish(topic, payload)
                    return
                except aiomqtt.MqttError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError("the bench's MQTT client could not publish (broker down)")
            await asyncio.sleep(0.02)

    def find(self, cls: type[M], site: str, where: Callable[[M], bool] = lambda _: True) -> M | None:
        for message in self.inbox.get(site, ()):
            if isinstance(message, cls) and where(message):
                return message
        return None

    async def expect(self, cls: type[M], site: str, timeout: float, where: Callable[[M], bool] = lambda _: True) -> M:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.find(cls, site, where)
            if found is not None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {cls.__name__} on {site} within {timeout:g} s")
            arrived = self._arrived.setdefault(site, asyncio.Event())
            arrived.clear()
            if self.find(cls, site, where) is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), remaining)

    def forget(self, site: str) -> None:
        self.inbox.pop(site, None)
        self._arrived.pop(site, None)
