"""Wyoming servers as engines of the mesh's ASR, TTS and wake services (loaded by module path).

The remote Wyoming server is a real one: our own WyomingServer on a second mesh (its own broker), and
wyoming-openwakeword for wake words.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioPlayFinished
from hermes.hotword import HotwordDetected
from hermes.tts import TtsSay
from hermes.wav import read_wav, wav_chunks
from services.asr.engine import AsrEngineConfig, AsrEngineError
from services.asr.registry import ASR_ENGINES
from services.asr.service import AsrService, AsrSettings
from services.asr.wyoming_engine import WyomingAsrEngine
from services.tts.engine import TtsConfigError
from services.tts.service import TtsService
from services.tts.settings import TtsSettings
from services.tts.wyoming_engine import WyomingTtsEngine
from services.wake.engine import WakeConfigError
from services.wake.service import WakeService
from services.wake.settings import WakeSettings
from services.wake.wyoming_engine import WyomingWakeEngine
from tests.asr.speech import utterance
from tests.conftest import HermesTestClient, MosquittoBroker, make_common, running
from tests.engines import tts_engine, wake_engine
from tests.wake.speech import build_stream, espeak_pcm, silence

from .mesh import wyoming_mesh
from .openwakeword import openwakeword_server

pytestmark = pytest.mark.timeout(300)
ENGINES = "bridge.wyoming.engines"  # where they were: still accepted (deprecated), with "custom" options


def test_engines_are_loaded_by_their_old_module_path_and_check_their_address(tmp_path: Path) -> None:
    config = AsrEngineConfig(tmp_path, tmp_path / "work", options={"uri": "tcp://127.0.0.1:1"})
    assert isinstance(ASR_ENGINES.create(f"{ENGINES}.WyomingAsrEngine", config), WyomingAsrEngine)
    tts = tts_engine(TtsSettings(engine=f"{ENGINES}.WyomingTtsEngine", custom={"uri": "tcp://127.0.0.1:1"}),
                            tmp_path)
    assert isinstance(tts, WyomingTtsEngine)
    wake = wake_engine(WakeSettings(engine=f"{ENGINES}.WyomingWakeEngine",
                                           custom={"uri": "tcp://127.0.0.1:1", "models": ["ok_nabu_v0.1"]}), tmp_path)
    assert isinstance(wake, WyomingWakeEngine) and wake.models[0].wakeword_id == "ok_nabu"
    with pytest.raises(AsrEngineError, match="tcp://"):
        ASR_ENGINES.create(f"{ENGINES}.WyomingAsrEngine", AsrEngineConfig(tmp_path, tmp_path, options={"uri": "x"}))
    with pytest.raises(TtsConfigError, match="tcp://"):
        tts_engine(TtsSettings(engine=f"{ENGINES}.WyomingTtsEngine"), tmp_path)
    with pytest.raises(WakeConfigError, match="127.0.0.1:1"):  # nothing listens there: models cannot be listed
        wake_engine(WakeSettings(engine=f"{ENGINES}.WyomingWakeEngine", custom={"uri": "tcp://127.0.0.1:1"}),
                           tmp_path)


async def test_asr_and_tts_services_use_a_wyoming_server_as_engine(
        mqtt_broker: MosquittoBroker, profile_dir: Path, tmp_path: Path, site_id: str) -> None:
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    remote_broker = MosquittoBroker(remote_dir)
    remote_broker.start()
    remote_profile = tmp_path / "remote-profile"
    remote_profile.mkdir()
    import shutil

    shutil.copytree(profile_dir, remote_profile, dirs_exist_ok=True)
    try:
        async with wyoming_mesh(make_common(remote_broker, remote_profile)) as (server, _):
            uri = f"tcp://127.0.0.1:{server.port}"
            common = make_common(mqtt_broker, profile_dir, [site_id])
            asr = AsrService(common, AsrSettings(engine="wyoming", engine_options={"uri": uri}))
            tts = TtsService(common, TtsSettings(engine="wyoming", engine_options={"uri": uri}))
            async with running(asr), running(tts), HermesTestClient(mqtt_broker) as client:
                await client.subscribe(AsrTextCaptured.subscribe_filter(), AudioPlayBytes.subscribe_filter())
                session = uuid.uuid4().hex
                await client.publish(AsrStartListening(site_id=site_id, session_id=session, stop_on_silence=False))
                for wav in wav_chunks(utterance("what time is it")):
                    await client.publish(AudioFrame(site_id=site_id, wav_bytes=wav))
                await client.publish(AsrStopListening(site_id=site_id, session_id=session))
                text = await client.expect(AsrTextCaptured, where=lambda m: m.session_id == session, timeout=60)
                assert text.text == "what time is it"

                await client.publish(TtsSay(text="Hello from far away", site_id=site_id, id="say-1", lang="en-us"))
                played = await client.expect(AudioPlayBytes, where=lambda m: m.request_id == "say-1", timeout=60)
                await client.publish(AudioPlayFinished(id="say-1", site_id=site_id))
                info, frames = read_wav(played.wav_bytes)
                assert info.seconds > 0.5
                assert np.abs(np.frombuffer(frames, dtype="<i2")).max() > 1000
                voices = await asyncio.to_thread(tts.engine.voices)
                assert "en-us" in {v.voice_id for v in voices}
    finally:
        remote_broker.stop()


async def test_openwakeword_as_the_wake_engine_detects_an_espeak_wake_word(
        mqtt_broker: MosquittoBroker, profile_dir: Path, mqtt_client: HermesTestClient, site_id: str) -> None:
    with openwakeword_server() as uri:
        settings = WakeSettings(engine="wyoming", engine_options={"uri": uri})
        wake = WakeService(make_common(mqtt_broker, profile_dir), settings)
        async with running(wake):
            assert "hey_jarvis_v0.1" in [m.model_id for m in wake.engine.models]
            await mqtt_client.subscribe(HotwordDetected.subscribe_filter())
            phrase = espeak_pcm("hey jarvis")
            stream = build_stream([silence(1.0), phrase, silence(0.7), phrase, silence(2.0)], noise_rms=60.0)
            sender = asyncio.create_task(send_frames(mqtt_client, site_id, stream.pcm))
            detected = await mqtt_client.expect(HotwordDetected, where=lambda m: m.site_id == site_id, timeout=60)
            await sender
    assert detected.model_id == "hey_jarvis_v0.1" and detected.wakeword_id == "hey_jarvis"
    # several detections per utterance from openWakeWord are reported once (refractory period)
    assert len(mqtt_client.received(HotwordDetected, where=lambda m: m.site_id == site_id)) <= 2


async def send_frames(client: HermesTestClient, site_id: str, pcm: bytes) -> Any:
    """Frames in real time, as a microphone sends them (openWakeWord needs real-time pacing)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, wav in enumerate(wav_chunks(pcm)):
        await client.publish(AudioFrame(site_id=site_id, wav_bytes=wav))
        delay = start + (index + 1) * 1024 / 16000 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
