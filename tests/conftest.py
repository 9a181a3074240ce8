"""Shared fixtures: a real Mosquitto on a free loopback port, services run in-process, a Hermes test client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import pytest

from hermes.base import HermesMessage, HermesProtocolError
from services.config import CommonSettings, MqttSettings
from services.profile import ensure_profile
from services.runtime import HermesService
from services.runtime.mqtt import client_kwargs
from services.runtime.payload_caps import BROKER_MAX_PACKET_SIZE, BROKER_MESSAGE_SIZE_LIMIT

M = TypeVar("M", bound=HermesMessage)

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
# The broker refuses what no service would accept, as mosquitto/*.conf does.
BROKER_LIMITS = f"message_size_limit {BROKER_MESSAGE_SIZE_LIMIT}\nmax_packet_size {BROKER_MAX_PACKET_SIZE}\n"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answers on {host}:{port} after {timeout} s")


class MosquittoBroker:
    """A real Mosquitto process on a free loopback port; ``stop()``/``start()`` simulate a broker restart."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.directory = directory
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nset_tcp_nodelay true\n"
            f"{BROKER_LIMITS}"  # as mosquitto/*.conf
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not os.path.exists(MOSQUITTO):
            pytest.fail("Mosquitto is not installed (apt-get install mosquitto); the test suite needs a real broker")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def mqtt(self) -> MqttSettings:
        return MqttSettings(host=self.host, port=self.port)


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = MosquittoBroker(broker_dir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def site_id(request: pytest.FixtureRequest) -> str:
    """A site id of the test's own, so tests never see each other's messages."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    """A fresh copy of the default profile."""
    directory = tmp_path / "profile"
    ensure_profile(directory)
    return directory


def make_common(broker: MosquittoBroker, profile: Path, site_ids: list[str] | None = None, **extra: Any) -> CommonSettings:
    return CommonSettings(profile=profile, site_ids=site_ids or [], mqtt=broker.mqtt(), **extra)


@contextlib.asynccontextmanager
async def running(service: HermesService[Any], timeout: float = 30.0) -> AsyncIterator[HermesService[Any]]:
    """Run a service in this event loop until the block ends; yields once it is online."""
    task = asyncio.create_task(service.run())
    online = asyncio.create_task(service.wait_online(timeout))
    done, _ = await asyncio.wait({task, online}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        online.cancel()
        task.result()  # raises the service's start-up error
        raise RuntimeError(f"{service.name} stopped before it came online")
    if online not in done:
        task.cancel()
        raise TimeoutError(f"{service.name} did not come online within {timeout} s")
    try:
        yield service
    finally:
        service.stop()
        try:
            await asyncio.wait_for(task, 15)
        except TimeoutError:
            task.cancel()


@pytest.fixture
def run_service(mqtt_broker: MosquittoBroker, profile_dir: Path) -> Callable[..., Any]:
    """``async with run_service(Cls, settings=..., site_ids=[...], profile=...) as svc:``"""

    def factory(cls: type[HermesService[Any]], settings: Any = None, profile: Path | None = None,
                site_ids: list[str] | None = None, **common_extra: Any) -> Any:
        common = make_common(mqtt_broker, profile or profile_dir, site_ids, **common_extra)
        return running(cls(common, settings))

    return factory


def messages_of(raw: list[tuple[str, bytes]], cls: type[M], where: Callable[[M], bool] | None = None) -> list[M]:
    """The (topic, payload) pairs that parse as ``cls`` and satisfy ``where``, in arrival order."""
    found = []
    for topic, payload in raw:
        params = cls.parse_topic(topic)
        if params is None:
            continue
        try:
            message = cls.from_payload(payload, params)
        except HermesProtocolError:
            continue
        if where is None or where(message):
            found.append(message)
    return found


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


class HermesTestClient:
    """A plain MQTT client that speaks Hermes messages: publish, and expect a message with a timeout."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.broker = broker
        self._client: aiomqtt.Client | None = None
        self._inbox: list[tuple[str, bytes]] = []
        self._new = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._filters: set[str] = set()

    async def __aenter__(self) -> HermesTestClient:
        settings = self.broker.mqtt()
        self._client = aiomqtt.Client(**client_kwargs(settings, identifier=f"test-{uuid.uuid4().hex[:8]}"))
        await self._client.__aenter__()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._reader
        if self._client:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else str(message.payload).encode()
            self._inbox.append((str(message.topic), bytes(payload)))
            self._new.set()

    async def subscribe(self, *filters: str) -> None:
        assert self._client is not None
        for topic_filter in filters:
            if topic_filter not in self._filters:
                self._filters.add(topic_filter)
                await self._client.subscribe(topic_filter)

    async def publish(self, message: HermesMessage) -> None:
        await self.publish_raw(message.topic(), message.payload())

    async def publish_raw(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        assert self._client is not None
        await self._client.publish(topic, payload, retain=retain)

    def received(self, cls: type[M], where: Callable[[M], bool] | None = None) -> list[M]:
        return messages_of(self._inbox, cls, where)

    async def expect(self, cls: type[M], *, timeout: float = 10.0, where: Callable[[M], bool] | None = None) -> M:
        """The first message of ``cls`` (already received since subscribing, or arriving within ``timeout``).

        Beware: an earlier session's message matches too. To wait for a later one, make ``where`` name it (its
        sessionId, learned from e.g. sessionStarted): a voice test once sent its audio on an old startListening
        and spoke before the dialogue listened (tests/bridge/test_listen_after_transcription.py)."""
        await self.subscribe(cls.subscribe_filter())
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.received(cls, where)
            if found:
                return found[0]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {cls.__name__} arrived within {timeout} s; got topics: "
                                     f"{sorted({t for t, _ in self._inbox})[:20]}")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    def clear(self) -> None:
        self._inbox.clear()


@pytest.fixture
async def mqtt_client(mqtt_broker: MosquittoBroker) -> AsyncIterator[HermesTestClient]:
    async with HermesTestClient(mqtt_broker) as client:
        yield client
