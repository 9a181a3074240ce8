"""Event websockets: /api/events/intent, /text, /wake (JSON text frames) and /log (plain text lines)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from .common import get_bridge, get_principal

router = APIRouter(tags=["events"])


async def stream(websocket: WebSocket, channel: str, as_json: bool = True) -> None:
    bridge = get_bridge(websocket)
    principal = get_principal(websocket)
    with bridge.hub.subscribe(channel, principal.sites) as subscriber:
        await websocket.accept()

        async def drain_client() -> None:
            # The client's frames mean nothing here; reading them notices the disconnect.
            with contextlib.suppress(WebSocketDisconnect):
                while (await websocket.receive())["type"] != "websocket.disconnect":
                    pass

        async def send() -> None:
            while True:
                item = await subscriber.queue.get()
                if as_json:
                    await websocket.send_text(json.dumps(item, ensure_ascii=False))
                else:
                    await websocket.send_text(str(item))

        tasks = [asyncio.create_task(drain_client()), asyncio.create_task(send())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


@router.websocket("/api/events/intent")
async def events_intent(websocket: WebSocket) -> None:
    await stream(websocket, "intent")


@router.websocket("/api/events/text")
async def events_text(websocket: WebSocket) -> None:
    await stream(websocket, "text")


@router.websocket("/api/events/wake")
async def events_wake(websocket: WebSocket) -> None:
    await stream(websocket, "wake")


@router.websocket("/api/events/log")
async def events_log(websocket: WebSocket) -> None:
    await stream(websocket, "log", as_json=False)


@router.websocket("/api/events/audiosummary")
async def events_audio_summary(websocket: WebSocket) -> None:
    await stream(websocket, "audiosummary")
