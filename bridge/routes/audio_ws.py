"""/api/audio: a browser (or any client) as a site of its own: PCM in, the site's spoken replies out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioPlayFinished
from hermes.hotword import HotwordDetected
from hermes.wav import WavFormatError, pcm_to_wav, wav_info

from ..auth import AuthError
from ..http_util import BridgeHTTPError, parse_json
from .common import get_bridge, get_principal, target_site

router = APIRouter(tags=["audio"])
FRAME_BYTES = 1024 * 2  # 1024 samples of 16-bit mono, as a microphone service sends them


@router.websocket("/api/audio")
async def audio_socket(websocket: WebSocket) -> None:
    bridge = get_bridge(websocket)
    principal = get_principal(websocket)
    try:
        if websocket.query_params.get("siteId") or not principal.is_admin:
            site = target_site(websocket)
        else:
            site = f"{bridge.settings.audio_site_prefix}-{uuid.uuid4().hex[:8]}"
    except (AuthError, BridgeHTTPError) as err:
        await websocket.close(code=1008, reason=err.message[:120])
        return
    plays: asyncio.Queue[AudioPlayBytes] = asyncio.Queue()
    finished: dict[str, asyncio.Event] = {}

    def on_play(topic: str, payload: bytes) -> None:
        params = AudioPlayBytes.parse_topic(topic)
        if params and params.get("site_id") == site:
            plays.put_nowait(AudioPlayBytes(site_id=site, request_id=params["request_id"], wav_bytes=payload))

    remove = await bridge.add_raw_listener(AudioPlayBytes.subscribe_filter(site_id=site), on_play)
    await websocket.accept()
    await websocket.send_text(json.dumps({"type": "hello", "siteId": site}))

    async def receive() -> None:
        buffer = b""
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    buffer += message["bytes"]
                    usable = len(buffer) - len(buffer) % FRAME_BYTES
                    for start in range(0, usable, FRAME_BYTES):
                        await bridge.publish(AudioFrame(site_id=site,
                                                        wav_bytes=pcm_to_wav(buffer[start:start + FRAME_BYTES])))
                    buffer = buffer[usable:]
                elif message.get("text") is not None:
                    try:
                        control = parse_json(message["text"], "the control frame")
                        kind = control.get("type")
                    except (BridgeHTTPError, AttributeError):
                        continue
                    if kind == "playFinished" and str(control.get("id")) in finished:
                        finished[str(control["id"])].set()
                    elif kind == "wake":
                        await bridge.publish(HotwordDetected(wakeword_id="browser", model_id="browser",
                                                             site_id=site))

    async def play() -> None:
        while True:
            item = await plays.get()
            try:
                seconds = wav_info(item.wav_bytes).seconds
            except WavFormatError:
                seconds = 0.0
            done = finished[item.request_id] = asyncio.Event()
            await websocket.send_text(json.dumps({"type": "play", "id": item.request_id, "siteId": site,
                                                  "seconds": seconds}))
            await websocket.send_bytes(item.wav_bytes)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), seconds + 1.0)
            finished.pop(item.request_id, None)
            await bridge.publish(AudioPlayFinished(site_id=site, id=item.request_id))

    tasks = [asyncio.create_task(receive()), asyncio.create_task(play())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        remove()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
