"""An MQTT tap for audio tests: every message on some filters, in arrival order, with awaitable conditions."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import aiomqtt

from hermes.base import HermesMessage
from services.runtime.mqtt import client_kwargs
from tests.conftest import messages_of

M = TypeVar("M", bound=HermesMessage)


class Tap:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._changed = asyncio.Condition()

    def of(self, cls: type[M], where: Callable[[M], bool] | None = None) -> list[M]:
        return messages_of(self.messages, cls, where)

    def order(self, *classes: type[HermesMessage]) -> list[str]:
        """Class names of the tapped messages of ``classes``, in arrival order."""
        names = []
        for topic, _ in self.messages:
            for cls in classes:
                if cls.parse_topic(topic) is not None:
                    names.append(cls.__name__)
        return names

    async def until(self, condition: Callable[[Tap], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        """Wait (event-driven, bounded) until ``condition(tap)`` is truthy; returns its value."""
        async with self._changed:
            try:
                return await asyncio.wait_for(self._changed.wait_for(lambda: condition(self)), timeout)
            except TimeoutError:
                raise AssertionError(f"{what} not met within {timeout} s ({len(self.messages)} messages)") from None

    async def _add(self, topic: str, payload: bytes) -> None:
        async with self._changed:
            self.messages.append((topic, payload))
            self._changed.notify_all()


@contextlib.asynccontextmanager
async def tap(broker: Any, *filters: str) -> AsyncIterator[Tap]:
    result = Tap()
    async with aiomqtt.Client(**client_kwargs(broker.mqtt(), identifier=f"tap-{uuid.uuid4().hex[:8]}")) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter)

        async def read() -> None:
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
                await result._add(str(message.topic), bytes(payload))

        reader = asyncio.create_task(read())
        try:
            yield result
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await reader
