"""TTS through a real audio-output on the virtual speaker: say -> playBytes -> playFinished -> sayFinished."""

from __future__ import annotations

import asyncio

from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.errors import TtsError
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import to_pcm16k_mono
from services.audio.output_service import AudioOutputService, AudioOutputSettings
from services.tts.service import TtsService
from services.tts.settings import TtsSettings
from tests.engines import tts_engine

from .signals import loud_part, pcm_samples
from .tap import tap

TEXT = "turn on the living room lamp"


async def test_say_is_played_and_finished_in_order(pulseaudio, run_service, mqtt_broker, mqtt_client, site_id):
    settings = TtsSettings()
    engine_wav = tts_engine(settings, None).synthesize(TEXT)
    reference = loud_part(to_pcm16k_mono(engine_wav), 0.02)  # the speech without its leading/trailing silence
    filters = [TtsSayFinished.subscribe_filter(), AudioPlayBytes.subscribe_filter(site_id=site_id),
               AudioPlayFinished.subscribe_filter(site_id=site_id), TtsError.subscribe_filter()]
    async with tap(mqtt_broker, *filters) as t:
        async with run_service(AudioOutputService, settings=AudioOutputSettings(device="pulse"), site_ids=[site_id]):
            async with run_service(TtsService, settings=settings):
                with pulseaudio.record_speaker() as speaker:
                    await mqtt_client.publish(TtsSay(text=TEXT, site_id=site_id, id="say-1", session_id="s"))
                    await t.until(lambda t: t.of(TtsSayFinished, where=lambda m: m.id == "say-1"), timeout=30,
                                  what="sayFinished")
                    heard = await asyncio.to_thread(
                        speaker.wait_for, lambda pcm: len(loud_part(pcm, 0.02)) >= len(reference) - 3200, 10
                    )
    assert t.order(AudioPlayBytes, AudioPlayFinished, TtsSayFinished) == [
        "AudioPlayBytes", "AudioPlayFinished", "TtsSayFinished"
    ]
    assert t.of(TtsError) == []
    assert t.of(AudioPlayBytes)[0].wav_bytes == engine_wav  # the very WAV the engine produced
    assert t.of(AudioPlayFinished)[0].id == "say-1"
    assert t.of(TtsSayFinished)[0].session_id == "s"
    # What came out of the speaker is the speech: same envelope as the engine's audio at 16 kHz.
    sound = pcm_samples(loud_part(heard, 0.02))
    expected = pcm_samples(reference)
    assert abs(len(sound) - len(expected)) < 0.05 * 16000
    assert abs(sound.std() - expected.std()) < 0.1 * expected.std()
