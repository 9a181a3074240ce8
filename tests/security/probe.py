"""A raw MQTT client for ACL tests: subscribe, publish, and wait for one topic with a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt

from services.config import MqttSettings
from services.runtime.mqtt import client_kwargs


class Probe:
    def __init__(self, settings: MqttSettings, *, transport: str = "tcp", will: aiomqtt.Will | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self.will = will
        self.received: list[tuple[str, bytes]] = []
        self._new = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Probe:
        kwargs: dict[str, Any] = client_kwargs(self.settings, identifier=f"probe-{uuid.uuid4().hex[:8]}", will=self.will)
        if self.transport != "tcp":
            kwargs["transport"] = self.transport
        self._client = aiomqtt.Client(**kwargs)
        await self._client.__aenter__()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._reader
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            self.received.append((str(message.topic), bytes(payload)))
            self._new.set()

    async def subscribe(self, *filters: str) -> list[int]:
        """Subscribe and return the broker's reason codes (>= 0x80 means refused)."""
        assert self._client is not None
        codes = []
        for topic_filter in filters:
            result = await self._client.subscribe(topic_filter, qos=0, timeout=10)
            codes.extend(int(getattr(code, "value", code)) for code in result)
        return codes

    async def publish(self, topic: str, payload: bytes | str = b"", *, retain: bool = False, qos: int = 0) -> None:
        assert self._client is not None
        await self._client.publish(topic, payload, qos=qos, retain=retain, timeout=10)

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.received]

    async def wait(self, match: Callable[[str, bytes], bool], timeout: float = 10.0, what: str = "") -> tuple[str, bytes]:
        """The first received (topic, payload) accepted by ``match`` (already here or arriving within ``timeout``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for topic, payload in self.received:
                if match(topic, payload):
                    return topic, payload
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {what or 'matching message'} within {timeout} s; got {self.topics()[:20]}")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def wait_topic(self, topic: str, timeout: float = 10.0) -> bytes:
        """The payload of the first message on ``topic``."""
        _, payload = await self.wait(lambda t, _p: t == topic, timeout, f"message on {topic}")
        return payload
