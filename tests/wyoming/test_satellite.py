"""A scripted Wyoming satellite becomes a site of the mesh: wake, command, reply audio back to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from wyoming.asr import Transcript
from wyoming.tts import Synthesize
from wyoming.wake import Detection

from bridge.wyoming.settings import WyomingSettings
from hermes.audioserver import (
    AudioPlayBytesStreaming,
    AudioPlayFinished,
    AudioStreamFinished,
    AudioToggleOff,
    AudioToggleOn,
)
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import pcm_to_wav
from tests.asr.speech import utterance
from tests.conftest import HermesTestClient, MosquittoBroker
from tests.wake.speech import build_stream, espeak_pcm, silence

from .fake_satellite import FakeSatellite
from .mesh import WAKE_PHRASE, common_for, wyoming_mesh

pytestmark = pytest.mark.timeout(150)


def settings_for(sat: FakeSatellite, site_id: str) -> WyomingSettings:
    return WyomingSettings(satellites=[{"uri": f"tcp://127.0.0.1:{sat.port}", "site_id": site_id}],
                           satellite_ping_interval=0.5, satellite_reconnect_max=0.5, reply_timeout=20)


def reply_played(sat: FakeSatellite) -> bool:
    """The satellite was told what to say and then received audio up to an audio-stop."""
    types = sat.types()
    return "synthesize" in types and "audio-stop" in types[types.index("synthesize"):]


async def test_satellite_command_is_recognised_and_the_reply_comes_back(
        mqtt_broker: MosquittoBroker, profile_dir: Path, mqtt_client: HermesTestClient, site_id: str) -> None:
    script = build_stream([silence(0.5), espeak_pcm(WAKE_PHRASE), silence(1.5)]).pcm + utterance(
        "turn on the kitchen light", lead=0.2, tail=2.0)
    sat = FakeSatellite(script)
    await sat.start()
    await mqtt_client.subscribe(AudioPlayFinished.subscribe_filter(site_id=site_id))
    try:
        async with wyoming_mesh(common_for(mqtt_broker, profile_dir), settings_for(sat, site_id)):
            await sat.wait_for(reply_played)
            finished = await mqtt_client.expect(AudioPlayFinished, where=lambda m: m.site_id == site_id)
    finally:
        await sat.stop()
    types = sat.types()
    assert types[:2] == ["describe", "run-satellite"]
    detection = Detection.from_event(next(e for e in sat.events if e.type == "detection"))
    assert detection.name == WAKE_PHRASE
    assert "transcribe" in types
    transcript = Transcript.from_event(next(e for e in sat.events if e.type == "transcript"))
    assert transcript.text.replace(" the ", " ") == "turn on kitchen light"
    said = Synthesize.from_event(next(e for e in sat.events if e.type == "synthesize"))
    assert said.text == "Turning on the kitchen light"
    last_sound = len(types) - 1 - types[::-1].index("audio-start")
    assert types.index("detection") < types.index("transcript") < types.index("synthesize") < last_sound
    reply = np.frombuffer(sat.sounds[-1], dtype="<i2")  # the last sound: after any feedback beeps
    assert len(reply) > 8000 and np.abs(reply).max() > 1000  # spoken audio reached the satellite
    assert finished.id  # played -> playFinished for the request


async def test_satellite_with_local_wake_starts_at_asr(
        mqtt_broker: MosquittoBroker, profile_dir: Path, site_id: str) -> None:
    sat = FakeSatellite(utterance("what time is it", lead=0.5, tail=2.0), start_stage="asr", wake_word="ok_nabu")
    await sat.start()
    try:
        async with wyoming_mesh(common_for(mqtt_broker, profile_dir), settings_for(sat, site_id)):
            await sat.wait_for(reply_played)
    finally:
        await sat.stop()
    transcript = Transcript.from_event(next(e for e in sat.events if e.type == "transcript"))
    assert transcript.text == "what time is it"
    assert [Detection.from_event(e).name for e in sat.events if e.type == "detection"] == ["ok_nabu"]


async def test_satellite_pings_timers_and_reconnects(
        mqtt_broker: MosquittoBroker, profile_dir: Path, mqtt_client: HermesTestClient, site_id: str) -> None:
    sat = FakeSatellite(b"", start_stage="wake")
    await sat.start()
    port = sat.port
    try:
        async with wyoming_mesh(common_for(mqtt_broker, profile_dir), settings_for(sat, site_id),
                                roles={"nlu", "handler", "tts"}) as (server, _):
            await sat.wait_for(lambda s: "ping" in s.types())
            await mqtt_client.publish_raw(f"hermesh/timer/{site_id}/started",
                                          json.dumps({"id": "t1", "total_seconds": 90, "name": "tea"}))
            await sat.wait_for(lambda s: "timer-started" in s.types())
            started = next(e for e in sat.events if e.type == "timer-started")
            assert started.data == {"id": "t1", "total_seconds": 90, "name": "tea"}

            await mqtt_client.publish(AudioToggleOff(site_id=site_id))  # the site is switched off and on
            await sat.wait_for(lambda s: "pause-satellite" in s.types())
            await mqtt_client.publish(AudioToggleOn(site_id=site_id))
            await sat.wait_for(lambda s: s.types().count("run-satellite") >= 2)

            await sat.stop()  # the satellite goes away ...
            client = server.satellites.clients[0]
            await sat.start(port)  # ... and comes back on the same address
            await sat.wait_for(lambda s: s.types().count("describe") >= 2 and s.types().count("run-satellite") >= 3)
            assert client.connections >= 2
    finally:
        await sat.stop()


async def test_always_streaming_satellite_serves_one_command_after_another(
        mqtt_broker: MosquittoBroker, profile_dir: Path, site_id: str) -> None:
    wake = build_stream([silence(0.5), espeak_pcm(WAKE_PHRASE), silence(1.5)]).pcm
    script = (wake + utterance("turn on the kitchen light", lead=0.2, tail=5.0)
              + wake + utterance("what time is it", lead=0.2, tail=2.0))
    sat = FakeSatellite(script, restart_on_end=True)  # like wyoming-satellite's default mode
    await sat.start()
    try:
        async with wyoming_mesh(common_for(mqtt_broker, profile_dir), settings_for(sat, site_id)):
            await sat.wait_for(lambda s: len(spoken(s)) >= 2 and reply_played(s), timeout=60)
    finally:
        await sat.stop()
    assert spoken(sat)[:2] == ["Turning on the kitchen light", "It is twelve o'clock"]


def spoken(sat: FakeSatellite) -> list[str]:
    return [Synthesize.from_event(e).text for e in sat.events if e.type == "synthesize"]


async def test_a_streamed_sound_reaches_the_satellite_as_one_sound_then_stream_finished(
        mqtt_broker: MosquittoBroker, profile_dir: Path, mqtt_client: HermesTestClient, site_id: str) -> None:
    """playBytesStreaming chunks for a satellite's site (a say with stream=true) go out as one audio group as they
    arrive; after the satellite's played the mesh hears streamFinished, and the TTS its sayFinished."""
    sat = FakeSatellite(silence(0.5))
    await sat.start()
    await mqtt_client.subscribe(AudioStreamFinished.subscribe_filter(site_id=site_id),
                                TtsSayFinished.subscribe_filter())
    tone = (np.sin(np.arange(8000) / 8) * 8000).astype("<i2").tobytes()  # 0.5 s at 16 kHz
    try:
        async with wyoming_mesh(common_for(mqtt_broker, profile_dir), settings_for(sat, site_id)):
            await sat.wait_for(lambda s: "run-satellite" in s.types())
            for number, (pcm, last) in enumerate([(tone, 0), (tone, 0), (b"", 1)]):
                await mqtt_client.publish(AudioPlayBytesStreaming(site_id=site_id, request_id="st-1",
                                                                  chunk_number=number, is_last_chunk=last,
                                                                  wav_bytes=pcm_to_wav(pcm, 16000)))
            finished = await mqtt_client.expect(AudioStreamFinished, timeout=20, where=lambda m: m.id == "st-1")
            await mqtt_client.publish(TtsSay(text="Streamed to the satellite.", site_id=site_id, id="say-st",
                                             stream=True))
            await mqtt_client.expect(TtsSayFinished, timeout=30, where=lambda m: m.id == "say-st")
    finally:
        await sat.stop()
    assert finished.site_id == site_id
    assert len(sat.sounds) == 2 and sat.sounds[0] == tone + tone  # one group for the three chunks
    assert len(sat.sounds[1]) > 16000  # the say, spoken
