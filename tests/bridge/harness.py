"""Running the bridge in-process against the test broker, and clients for its HTTP and websocket API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bridge.service import BridgeService
from bridge.settings import BridgeSettings
from services.config import HttpSettings
from tests.conftest import MosquittoBroker, free_port, make_common, running


@contextlib.asynccontextmanager
async def run_bridge(broker: MosquittoBroker, profile: Path, site_ids: list[str] | None = None,
                     host: str = "127.0.0.1", **settings: Any) -> AsyncIterator[BridgeService]:
    settings.setdefault("wyoming", False)
    settings.setdefault("reply_timeout", 20.0)
    common = make_common(broker, profile, site_ids, http=HttpSettings(host=host, port=free_port(),
                                                                       wyoming_port=free_port()))
    async with running(BridgeService(common, BridgeSettings(**settings))) as service:
        yield service  # type: ignore[misc]


def http(bridge: BridgeService, **kwargs: Any) -> httpx.AsyncClient:
    kwargs.setdefault("timeout", 60.0)
    return httpx.AsyncClient(base_url=bridge.base_url, **kwargs)


def ws_url(bridge: BridgeService, path: str) -> str:
    return bridge.base_url.replace("http", "ws", 1) + path


@contextlib.asynccontextmanager
async def websocket(bridge: BridgeService, path: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(bridge, path), open_timeout=10, **kwargs) as socket:
        yield socket


async def next_json(socket: ClientConnection, timeout: float = 20.0) -> Any:
    frame = await asyncio.wait_for(socket.recv(), timeout)
    assert isinstance(frame, str), f"expected a text frame, got {type(frame).__name__}"
    return json.loads(frame)


async def wait_subscribers(bridge: BridgeService, channel: str, count: int = 1, timeout: float = 5.0) -> None:
    """The websocket handler subscribes before accepting, but let the accept finish on the server side."""
    deadline = asyncio.get_running_loop().time() + timeout
    while bridge.hub.count(channel) < count:
        assert asyncio.get_running_loop().time() < deadline, f"no {channel} websocket subscribed"
        await asyncio.sleep(0.01)
