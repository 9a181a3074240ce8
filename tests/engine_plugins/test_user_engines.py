"""A user's engine class, named "module:Class", plugged into the real asr, tts and wake services on a real broker;
bad specs explained; an engine's EngineError arriving as the component's hermes/error message."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioFrame, AudioPlayBytes
from hermes.errors import AsrError, HotwordError, TtsError
from hermes.hotword import HotwordDetected
from hermes.tts import GetVoices, TtsSay, TtsSayFinished, Voices
from hermes.wav import pcm_to_wav, read_wav, wav_chunks
from services.asr.engine import AsrEngineError
from services.asr.service import AsrService, AsrSettings
from services.config import ConfigError
from services.engine_loader import ENGINE_REGISTRIES, load_engine
from services.engines import EngineConfigError, EngineError
from services.tts.engine import TtsConfigError
from services.tts.service import TtsService
from services.tts.settings import TtsSettings
from services.wake.engine import WakeConfigError
from services.wake.service import WakeService
from services.wake.settings import WakeSettings
from tests.conftest import HermesTestClient, MosquittoBroker, make_common, running

from .user_engines import beeps, loud_windows

MODULE = "tests.engine_plugins.user_engines"
TIMEOUT = 20.0


async def send(client: HermesTestClient, site_id: str, pcm: bytes) -> None:
    for wav in wav_chunks(pcm):
        await client.publish(AudioFrame(site_id=site_id, wav_bytes=wav))


# ---- each function takes a user's class -------------------------------------------------------------------------
async def test_a_users_asr_engine_transcribes_through_the_service(run_service: Any, mqtt_client: HermesTestClient,
                                                                  site_id: str) -> None:
    settings = AsrSettings(engine=f"{MODULE}:BeepCounterAsrEngine", engine_options={"threshold": 800})
    await mqtt_client.subscribe(AsrTextCaptured.subscribe_filter())
    async with run_service(AsrService, settings=settings) as service:
        assert service.engine.threshold == 800  # the options reached the engine
        await mqtt_client.publish(AsrStartListening(site_id=site_id, session_id="beeps", stop_on_silence=False))
        await send(mqtt_client, site_id, beeps(3))
        await mqtt_client.publish(AsrStopListening(site_id=site_id, session_id="beeps"))
        captured = await mqtt_client.expect(AsrTextCaptured, timeout=TIMEOUT, where=lambda m: m.session_id == "beeps")
    assert captured.text == "3 beeps" and captured.site_id == site_id


async def test_a_users_tts_engine_speaks_through_the_service(run_service: Any, mqtt_client: HermesTestClient,
                                                             site_id: str) -> None:
    settings = TtsSettings(engine=f"{MODULE}:BeepTtsEngine", engine_options={"frequency": 440},
                           play_finished_margin=0.2)
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(site_id=site_id), TtsSayFinished.subscribe_filter(),
                                Voices.subscribe_filter())
    async with run_service(TtsService, settings=settings):
        await mqtt_client.publish(TtsSay(text="one two three four", site_id=site_id, id="say-1"))
        played = await mqtt_client.expect(AudioPlayBytes, timeout=TIMEOUT, where=lambda m: m.site_id == site_id)
        await mqtt_client.expect(TtsSayFinished, timeout=TIMEOUT, where=lambda m: m.id == "say-1")
        await mqtt_client.publish(GetVoices(id="voices-1", site_id=site_id))
        voices = await mqtt_client.expect(Voices, timeout=TIMEOUT, where=lambda m: m.id == "voices-1")
    info, pcm = read_wav(played.wav_bytes)
    loud = loud_windows(pcm, 1000.0)
    assert info.rate == 16000 and sum(1 for a, b in zip([False, *loud], loud, strict=False) if b and not a) == 4
    assert [(v.voice_id, v.description) for v in voices.voices] == [("beep", "440 Hz")]


async def test_a_users_wake_engine_detects_through_the_service(run_service: Any, mqtt_client: HermesTestClient,
                                                               site_id: str) -> None:
    settings = WakeSettings(engine=f"{MODULE}:BeepWakeEngine", engine_options={"wakeword_id": "beeper"})
    await mqtt_client.subscribe(HotwordDetected.subscribe_filter())
    async with run_service(WakeService, settings=settings):
        await send(mqtt_client, site_id, beeps(1))
        detected = await mqtt_client.expect(HotwordDetected, timeout=TIMEOUT, where=lambda m: m.site_id == site_id)
    assert (detected.wakeword_id, detected.model_id) == ("beeper", "beep")


# ---- bad specs ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["asr", "tts", "wake"])
def test_bad_specs_are_explained_naming_the_spec(kind: str, tmp_path: Path) -> None:
    def load(spec: str) -> Any:
        return load_engine(kind, spec, {}, profile_dir=tmp_path)

    with pytest.raises(EngineError, match=rf"{kind} engine 'nowhere\.module:Engine': cannot import module 'nowhere"):
        load("nowhere.module:Engine")
    with pytest.raises(EngineError, match=rf"'{MODULE}:Missing': module '{MODULE}' has no class 'Missing'"):
        load(f"{MODULE}:Missing")
    with pytest.raises(EngineError, match=r"'pathlib:Path': class Path lacks method\(s\)"):
        load("pathlib:Path")
    builtins = ", ".join(ENGINE_REGISTRIES[kind].builtins)
    with pytest.raises(EngineError, match=f"'whisper' is neither a built-in engine \\(use one of {builtins}\\)"):
        load("whisper")
    # another family's engine lacks this family's interface
    other = {"asr": "BeepTtsEngine", "tts": "BeepWakeEngine", "wake": "BeepTtsEngine"}[kind]
    with pytest.raises(EngineError, match=f"{other} lacks"):
        load(f"{MODULE}:{other}")


def test_bad_specs_raise_each_familys_own_error(tmp_path: Path) -> None:
    for kind, error in (("asr", AsrEngineError), ("tts", TtsConfigError), ("wake", WakeConfigError)):
        with pytest.raises(error):
            load_engine(kind, "nowhere:Engine", {}, profile_dir=tmp_path)
    assert issubclass(TtsConfigError, EngineConfigError) and issubclass(WakeConfigError, ConfigError)


async def test_a_service_with_a_bad_spec_does_not_start_and_says_why(mqtt_broker: MosquittoBroker,
                                                                     profile_dir: Path) -> None:
    common = make_common(mqtt_broker, profile_dir)
    for service in (AsrService(common, AsrSettings(engine="nowhere.module:Asr")),
                    TtsService(common, TtsSettings(engine="nowhere.module:Tts")),
                    WakeService(common, WakeSettings(engine="nowhere.module:Wake"))):
        with pytest.raises(ConfigError, match=r"nowhere\.module:"):
            async with running(service):
                pass


def test_old_names_still_work_with_a_warning(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    with caplog.at_level(logging.WARNING):
        tts = TtsSettings.model_validate({"engine": f"{MODULE}:BeepTtsEngine", "custom": {"frequency": 550}})
        wake = WakeSettings.model_validate({"custom": {"a": 1}, "engine_options": {"b": 2}})
        # the Wyoming client engines' old home, and a user class built the old tts/wake way (options, profile_dir)
        asr = load_engine("asr", "bridge.wyoming.engines.WyomingAsrEngine", {"uri": "tcp://127.0.0.1:1"},
                          profile_dir=tmp_path)
        tone = load_engine("tts", "tests.tts.tone_engine.ToneTtsEngine", {"frequency": 880}, profile_dir=tmp_path)
    assert tts.engine_options == {"frequency": 550} and wake.engine_options == {"a": 1, "b": 2}
    assert type(asr).__module__ == "services.asr.wyoming_engine" and tone.frequency == 880
    assert "tts.custom is deprecated: use tts.engine_options" in caplog.text
    assert "wake.custom is deprecated: use wake.engine_options" in caplog.text
    assert "asr engine 'bridge.wyoming.engines.WyomingAsrEngine' is deprecated: use 'wyoming'" in caplog.text
    assert "takes (options, profile_dir): deprecated" in caplog.text


# ---- an engine's EngineError becomes the component's Hermes error --------------------------------------------------
async def test_an_asr_engine_error_arrives_as_hermes_error_asr(run_service: Any, mqtt_client: HermesTestClient,
                                                               site_id: str) -> None:
    await mqtt_client.subscribe(AsrError.subscribe_filter())
    async with run_service(AsrService, settings=AsrSettings(engine=f"{MODULE}:BeepCounterAsrEngine")):
        await mqtt_client.publish(AsrStartListening(site_id=site_id, session_id="s-intents", intent_filter=["Lights"]))
        error = await mqtt_client.expect(AsrError, timeout=TIMEOUT, where=lambda m: m.site_id == site_id)
    assert error.error == "the beep counter cannot listen for intents Lights [beeps-only]"
    assert (error.session_id, error.context) == ("s-intents", AsrStartListening(site_id=site_id).topic())


async def test_a_tts_engine_error_arrives_as_hermes_error_tts(run_service: Any, mqtt_client: HermesTestClient,
                                                              site_id: str) -> None:
    settings = TtsSettings(engine=f"{MODULE}:BeepTtsEngine", engine_options={"max_words": 2})
    await mqtt_client.subscribe(TtsError.subscribe_filter(), TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=settings):
        await mqtt_client.publish(TtsSay(text="far too many words", site_id=site_id, id="long"))
        await mqtt_client.expect(TtsSayFinished, timeout=TIMEOUT, where=lambda m: m.id == "long")
    [error] = mqtt_client.received(TtsError, where=lambda m: m.site_id == site_id)
    assert error.error.endswith("the beeper says at most 2 words, not 4 [too-long]") and error.context == "long"


async def test_a_wake_engine_error_arrives_as_hermes_error_hotword(run_service: Any, mqtt_client: HermesTestClient,
                                                                   site_id: str) -> None:
    await mqtt_client.subscribe(HotwordError.subscribe_filter())
    clipped = np.full(1024, 32767, dtype="<i2").tobytes()
    async with run_service(WakeService, settings=WakeSettings(engine=f"{MODULE}:BeepWakeEngine")):
        await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=pcm_to_wav(clipped)))
        error = await mqtt_client.expect(HotwordError, timeout=TIMEOUT, where=lambda m: m.site_id == site_id)
    assert "the microphone clips: turn its gain down" in error.error and error.error.endswith("[clipped]")
