"""A real Home Assistant 2024.3.3 adds our Wyoming server through its config flow and runs assist pipelines.

Reuses the HA harness of tests/homeassistant (read-only). HA's wyoming integration needs the ``wyoming``
1.5.3 package in HA's venv (HA runs with --skip-pip); it is added there when missing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.asr.speech import utterance
from tests.conftest import MosquittoBroker, free_port
from tests.homeassistant.ha_venv import ensure_ha_venv
from tests.homeassistant.harness import HomeAssistant
from tests.wake.speech import build_stream, espeak_pcm, silence

from .mesh import WAKE_PHRASE, common_for, wyoming_mesh

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
HA_WYOMING = "wyoming==1.5.3"  # what HA 2024.3.3's wyoming integration requires


def ensure_wyoming_in_ha_venv() -> None:
    venv = ensure_ha_venv()
    if list((venv / "lib" / "python3.11" / "site-packages").glob("wyoming-1.5.3.dist-info")):
        return
    constraints = venv / "lib" / "python3.11" / "site-packages" / "homeassistant" / "package_constraints.txt"
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(constraints), HA_WYOMING],
                   check=True, capture_output=True, timeout=600)


class HaCommands:
    """Home Assistant's websocket API: commands with results, and the events of a pipeline run."""

    def __init__(self, ha: HomeAssistant) -> None:
        self.url = ha.base.replace("http", "ws", 1) + "/api/websocket"
        self.token = ha.token
        self.next_id = 1

    async def __aenter__(self) -> HaCommands:
        self.ws = await websockets.connect(self.url, max_size=None)
        assert json.loads(await asyncio.wait_for(self.ws.recv(), 10))["type"] == "auth_required"
        await self.ws.send(json.dumps({"type": "auth", "access_token": self.token}))
        assert json.loads(await asyncio.wait_for(self.ws.recv(), 10))["type"] == "auth_ok"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.ws.close()

    async def send(self, command: dict[str, Any]) -> int:
        command_id = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps({"id": command_id, **command}))
        return command_id

    async def receive(self, command_id: int, timeout: float = 30.0) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message.get("id") == command_id:
                return message  # type: ignore[no-any-return]

    async def call(self, command: dict[str, Any]) -> Any:
        reply = await self.receive(await self.send(command))
        assert reply.get("success"), reply
        return reply.get("result")

    async def run_pipeline(self, pipeline_id: str, start: str, end: str, pcm: bytes, realtime: bool) -> dict[str, Any]:
        """Run a pipeline on 16 kHz PCM sent as binary frames; returns {event type: data} up to run-end."""
        run_id = await self.send({"type": "assist_pipeline/run", "pipeline": pipeline_id, "start_stage": start,
                                  "end_stage": end, "input": {"sample_rate": 16000}, "timeout": 120})
        events: dict[str, Any] = {}
        sender: asyncio.Task[None] | None = None
        try:
            while "run-end" not in events:
                message = await self.receive(run_id, timeout=90)
                if message.get("type") == "result":
                    assert message.get("success"), message
                    continue
                event = message["event"]
                events[event["type"]] = event.get("data")
                if event["type"] == "run-start":
                    handler = event["data"]["runner_data"]["stt_binary_handler_id"]
                    sender = asyncio.create_task(self._stream(handler, pcm, realtime))
        finally:
            if sender is not None:
                sender.cancel()
        return events

    async def _stream(self, handler: int, pcm: bytes, realtime: bool) -> None:
        prefix = bytes([handler])
        step = 1024 * 2
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), step)):
            await self.ws.send(prefix + pcm[offset : offset + step])
            if realtime:
                delay = start + (index + 1) * 1024 / 16000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        await self.ws.send(prefix)  # the end of the audio


def rest(ha: HomeAssistant, method: str, path: str, **kwargs: Any) -> httpx.Response:
    response = httpx.request(method, f"{ha.base}{path}", headers={"Authorization": f"Bearer {ha.token}"},
                             timeout=60, **kwargs)
    response.raise_for_status()
    return response


async def test_home_assistant_adds_the_server_and_runs_assist_pipelines_through_it(
        mqtt_broker: MosquittoBroker, profile_dir: Path, tmp_path: Path) -> None:
    await asyncio.to_thread(ensure_wyoming_in_ha_venv)
    ha = HomeAssistant(tmp_path / "home-assistant", free_port())
    async with wyoming_mesh(common_for(mqtt_broker, profile_dir)) as (server, _):
        await asyncio.to_thread(ha.start)
        try:
            await exercise(ha, server.port)
        except BaseException:
            print(ha.log_tail(60))
            raise
        finally:
            await asyncio.to_thread(ha.stop)


async def exercise(ha: HomeAssistant, port: int) -> None:
    # The config flow: describe -> info within HA's 1 s, then an entry with every service.
    flow = (await asyncio.to_thread(rest, ha, "POST", "/api/config/config_entries/flow",
                                    json={"handler": "wyoming"})).json()
    entry = (await asyncio.to_thread(rest, ha, "POST", f"/api/config/config_entries/flow/{flow['flow_id']}",
                                     json={"host": "127.0.0.1", "port": port})).json()
    assert entry["type"] == "create_entry", entry
    assert entry["result"]["state"] == "loaded"
    states = {s["entity_id"] for s in (await asyncio.to_thread(rest, ha, "GET", "/api/states")).json()}
    assert {"stt.hermesh_asr", "tts.hermesh_tts", "wake_word.hermesh_wake"} <= states

    async with HaCommands(ha) as ws:
        pipeline = await ws.call({
            "type": "assist_pipeline/pipeline/create", "name": "hermesh", "language": "en",
            "conversation_engine": "homeassistant", "conversation_language": "en",
            "stt_engine": "stt.hermesh_asr", "stt_language": "en",
            "tts_engine": "tts.hermesh_tts", "tts_language": "en", "tts_voice": None,
            "wake_word_entity": "wake_word.hermesh_wake", "wake_word_id": WAKE_PHRASE,
        })
        # speech to text through our ASR, then Home Assistant's own agent turns the light on
        events = await ws.run_pipeline(pipeline["id"], "stt", "intent", utterance("turn on the bedroom light"),
                                       realtime=False)
        assert events["stt-end"]["stt_output"]["text"] == "turn on the bedroom light", events
        assert events["intent-end"]["intent_output"]["response"]["response_type"] == "action_done", events
        light = (await asyncio.to_thread(rest, ha, "GET", "/api/states/light.bedroom_light")).json()
        assert light["state"] == "on"

        # the wake word through the mesh's wake service, then the command
        stream = build_stream([silence(0.8), espeak_pcm(WAKE_PHRASE), silence(1.2)]).pcm + utterance(
            "turn off the bedroom light", lead=0.2, tail=2.0)
        events = await ws.run_pipeline(pipeline["id"], "wake_word", "stt", stream, realtime=True)
        assert events["wake_word-end"]["wake_word_output"]["wake_word_id"] == WAKE_PHRASE, events
        assert events["stt-end"]["stt_output"]["text"] == "turn off the bedroom light", events

    # text to speech through our TTS, as a WAV (no ffmpeg conversion needed)
    url = (await asyncio.to_thread(rest, ha, "POST", "/api/tts_get_url", json={
        "engine_id": "tts.hermesh_tts", "message": "Hello from Hermesh", "cache": False,
        "options": {"preferred_format": "wav"}})).json()["url"]
    audio = (await asyncio.to_thread(rest, ha, "GET", url.replace(ha.base, ""))).content
    assert audio[:4] == b"RIFF" and len(audio) > 16000
