"""A separate broker connection for the raw MQTT API (/api/mqtt websockets and long-polls).

User-chosen filters live here, not on the service's own client, so a websocket subscribed to ``#`` never makes
the broker deliver the bridge's Hermes messages twice. Each filter is subscribed with an MQTT 5 subscription
identifier: a message copy is handed only to the filter it was delivered for, so overlapping filters still
give each listener exactly one copy. Filters nobody listens to any more are unsubscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from services.config import MqttSettings
from services.runtime.mqtt import client_kwargs

LOG = logging.getLogger("hermesh.bridge.mqtt")
Callback = Callable[[str, bytes], None]


@dataclass
class _Filter:
    topic_filter: str
    identifier: int
    callbacks: list[Callback] = field(default_factory=list)


class MqttTap:
    def __init__(self, settings: MqttSettings, name: str = "bridge-tap") -> None:
        self.settings = settings
        self.name = name
        self._filters: dict[str, _Filter] = {}
        self._ids = itertools.count(1)
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.confirmed: set[str] = set()  # filters the broker has acknowledged

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 0.2
        identifier = f"hermesh-{self.name}-{os.getpid()}-{id(self):x}"
        while True:
            try:
                async with aiomqtt.Client(**client_kwargs(self.settings, identifier=identifier)) as client:
                    self._client = client
                    for entry in list(self._filters.values()):
                        await self._subscribe(client, entry)
                    self._connected.set()
                    delay = 0.2
                    async for message in client.messages:
                        self._deliver(message)
            except aiomqtt.MqttError as err:
                LOG.debug("raw MQTT connection lost (%s); reconnecting in %.1f s", err, delay)
            finally:
                self._connected.clear()
                self.confirmed.clear()
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _subscribe(self, client: aiomqtt.Client, entry: _Filter) -> None:
        properties = Properties(PacketTypes.SUBSCRIBE)
        properties.SubscriptionIdentifier = entry.identifier
        await client.subscribe(entry.topic_filter, properties=properties)
        self.confirmed.add(entry.topic_filter)

    def _deliver(self, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        payload = message.payload
        data = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload or "").encode()
        ids = getattr(message.properties, "SubscriptionIdentifier", None) if message.properties else None
        ids = set(ids if isinstance(ids, list) else [ids]) if ids else None
        for entry in list(self._filters.values()):
            wanted = entry.identifier in ids if ids is not None else message.topic.matches(entry.topic_filter)
            if not wanted:
                continue
            for callback in list(entry.callbacks):
                try:
                    callback(topic, data)
                except Exception:  # noqa: BLE001 - one broken listener must not stop the others
                    LOG.exception("raw MQTT listener for %s failed", entry.topic_filter)

    async def listen(self, topic_filter: str, callback: Callback, timeout: float = 10.0) -> Callable[[], None]:
        """Call ``callback(topic, payload)`` once per message delivered for ``topic_filter``; returns a remover.

        Returns once the broker has confirmed the subscription, so messages published afterwards are seen.
        """
        entry = self._filters.get(topic_filter)
        if entry is None:
            entry = self._filters[topic_filter] = _Filter(topic_filter, next(self._ids))
            await asyncio.wait_for(self._connected.wait(), timeout)
            if self._client is not None:
                await self._subscribe(self._client, entry)
        entry.callbacks.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                entry.callbacks.remove(callback)
            if not entry.callbacks and self._filters.get(topic_filter) is entry:
                del self._filters[topic_filter]
                self.confirmed.discard(topic_filter)
                if self._client is not None:
                    asyncio.ensure_future(self._unsubscribe(topic_filter))

        return remove

    async def _unsubscribe(self, topic_filter: str) -> None:
        client = self._client
        if client is not None and topic_filter not in self._filters:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.unsubscribe(topic_filter)

    def matches(self, topic: str, topic_filter: str) -> bool:
        return aiomqtt.Topic(topic).matches(topic_filter)
