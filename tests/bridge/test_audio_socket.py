"""/api/audio: a browser-like client is a site of its own, streaming PCM in and receiving its sounds back."""

from __future__ import annotations

import asyncio
import io
import json
import wave

from hermes.asr import AsrStartListening
from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioPlayFinished
from hermes.hotword import HotwordDetected
from hermes.wav import pcm_to_wav, read_wav
from services.dialogue.service import DialogueService
from tests.conftest import make_common, running

from .harness import next_json, run_bridge, wait_subscribers, websocket
from .mesh import mesh
from .speech import spoken_pcm


async def test_pcm_in_frames_out_and_replies_back(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioFrame.subscribe_filter(site_id=site_id), AudioPlayFinished.subscribe_filter(),
                                HotwordDetected.subscribe_filter())
    async with run_bridge(mqtt_broker, profile_dir) as bridge, \
            websocket(bridge, f"/api/audio?siteId={site_id}") as socket:
        hello = await next_json(socket)
        pcm = bytes(range(256)) * 20  # 5120 bytes: two whole frames of 1024 samples and a remainder
        await socket.send(pcm[:3000])
        await socket.send(pcm[3000:])
        await socket.send(b"\x00" * (2048 - len(pcm) % 2048))  # completes the third frame
        for _ in range(500):
            if len(mqtt_client.received(AudioFrame, where=lambda m: m.site_id == site_id)) == 3:
                break
            await asyncio.sleep(0.01)
        reply = pcm_to_wav(b"\x01\x02" * 8000)
        await mqtt_client.publish(AudioPlayBytes(site_id=site_id, request_id="say-1", wav_bytes=reply))
        announce = await next_json(socket)
        audio = await asyncio.wait_for(socket.recv(), 10)
        await socket.send(json.dumps({"type": "playFinished", "id": "say-1"}))
        finished = await mqtt_client.expect(AudioPlayFinished, where=lambda m: m.id == "say-1")
        await socket.send(json.dumps({"type": "wake"}))
        wake = await mqtt_client.expect(HotwordDetected, where=lambda m: m.site_id == site_id)
    assert hello == {"type": "hello", "siteId": site_id}
    frames = mqtt_client.received(AudioFrame, where=lambda m: m.site_id == site_id)
    joined = b"".join(read_wav(f.wav_bytes)[1] for f in frames)
    assert [read_wav(f.wav_bytes)[0].frames for f in frames] == [1024, 1024, 1024]
    assert joined[: len(pcm)] == pcm
    assert announce == {"type": "play", "id": "say-1", "siteId": site_id, "seconds": 0.5}
    assert audio == reply
    assert finished.site_id == site_id
    assert wake.wakeword_id == "browser"


async def test_without_site_id_the_client_gets_a_site_of_its_own(mqtt_broker, profile_dir, mqtt_client):
    await mqtt_client.subscribe(AudioPlayFinished.subscribe_filter())
    async with run_bridge(mqtt_broker, profile_dir) as bridge, websocket(bridge, "/api/audio") as socket:
        hello = await next_json(socket)
        site = hello["siteId"]
        await mqtt_client.publish(AudioPlayBytes(site_id=site, request_id="r2", wav_bytes=pcm_to_wav(b"\0\0" * 160)))
        await next_json(socket)
        await asyncio.wait_for(socket.recv(), 10)
        # No playFinished from the client: the bridge reports it after the sound's duration.
        finished = await mqtt_client.expect(AudioPlayFinished, where=lambda m: m.id == "r2", timeout=10)
    assert site.startswith("browser-") and finished.site_id == site


async def test_a_whole_voice_command_through_the_audio_socket(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter())
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True) as bridge, \
            running(DialogueService(make_common(mqtt_broker, profile_dir))), \
            websocket(bridge, "/api/events/intent") as intents, \
            websocket(bridge, f"/api/audio?siteId={site_id}") as socket:
        await wait_subscribers(bridge, "intent")
        await next_json(socket)
        await socket.send(json.dumps({"type": "wake"}))
        announce = await next_json(socket, timeout=30)  # the dialogue manager's wake sound
        beep = await asyncio.wait_for(socket.recv(), 10)
        await socket.send(json.dumps({"type": "playFinished", "id": announce["id"]}))
        await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id, timeout=30)
        speech = spoken_pcm("what time is it")
        for start in range(0, len(speech), 4096):
            await socket.send(speech[start:start + 4096])
        event = await next_json(intents, timeout=60)
    with wave.open(io.BytesIO(beep)) as wav:
        assert wav.getnframes() > 0
    assert event["siteId"] == site_id and event["intent"]["name"] == "GetTime"
