"""A small client of Home Assistant's websocket API: authenticate, subscribe to events, await them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import websockets


class HaWebsocket:
    """``async with HaWebsocket(base, token) as ws: await ws.subscribe("state_changed")``."""

    def __init__(self, base: str, token: str) -> None:
        self.url = base.replace("http", "ws", 1) + "/api/websocket"
        self.token = token
        self._next_id = 1
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Event()

    async def __aenter__(self) -> HaWebsocket:
        self._ws = await websockets.connect(self.url, max_size=None)
        hello = json.loads(await asyncio.wait_for(self._ws.recv(), 10))
        assert hello["type"] == "auth_required", hello
        await self._ws.send(json.dumps({"type": "auth", "access_token": self.token}))
        answer = json.loads(await asyncio.wait_for(self._ws.recv(), 10))
        if answer["type"] != "auth_ok":
            raise AssertionError(f"Home Assistant refused the websocket token: {answer}")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._ws.close()

    async def subscribe(self, event_type: str) -> None:
        request_id = self._next_id
        self._next_id += 1
        await self._ws.send(json.dumps({"id": request_id, "type": "subscribe_events", "event_type": event_type}))
        while True:  # the result comes before any event of this subscription
            message = json.loads(await asyncio.wait_for(self._ws.recv(), 10))
            if message.get("type") == "event":
                self.events.append(message["event"])
                continue
            if message.get("id") == request_id:
                assert message.get("success"), message
                return

    async def expect(self, where: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        """The first event (already received or arriving within ``timeout``) accepted by ``where``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.events:
                if where(event):
                    return event
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no matching Home Assistant event within {timeout} s; got "
                                     f"{[e.get('event_type') for e in self.events][-20:]}")
            try:
                raw = await asyncio.wait_for(self._ws.recv(), remaining)
            except TimeoutError:
                continue
            message = json.loads(raw)
            if message.get("type") == "event":
                self.events.append(message["event"])
