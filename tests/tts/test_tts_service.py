"""The TTS service on a real broker with real espeak-ng (no audio-output here: see tests/audio for the chain)."""

from __future__ import annotations

import asyncio

from hermes.audioserver import AudioPlayBytes
from hermes.errors import TtsError
from hermes.tts import GetVoices, TtsSay, TtsSayFinished, Voices
from services.tts.engine import scale_volume
from services.tts.service import TtsService
from services.tts.settings import TtsSettings
from tests.engines import tts_engine

QUICK = TtsSettings(play_finished_margin=0.3)


async def test_without_an_audio_output_say_still_finishes_with_an_error(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(site_id=site_id), TtsError.subscribe_filter(),
                                TtsSayFinished.subscribe_filter())
    expected = tts_engine(QUICK, None).synthesize("what time is it")
    async with run_service(TtsService, settings=QUICK):
        await mqtt_client.publish(TtsSay(text="what time is it", site_id=site_id, id="s1", session_id="sess"))
        done = await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "s1")
    played = mqtt_client.received(AudioPlayBytes, where=lambda m: m.site_id == site_id)
    assert [p.request_id for p in played] == ["s1"]  # say.id is the playBytes request id
    assert played[0].wav_bytes == expected
    error = mqtt_client.received(TtsError, where=lambda m: m.site_id == site_id)[0]
    assert "did not report playFinished" in error.error
    assert (error.context, error.session_id) == ("s1", "sess")
    assert (done.site_id, done.session_id) == (site_id, "sess")


async def test_volume_scales_the_samples(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(site_id=site_id), TtsSayFinished.subscribe_filter())
    expected = scale_volume(tts_engine(QUICK, None).synthesize("hello"), 0.25)
    async with run_service(TtsService, settings=QUICK):
        await mqtt_client.publish(TtsSay(text="hello", site_id=site_id, id="v1", volume=0.25))
        await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "v1")
    assert mqtt_client.received(AudioPlayBytes)[0].wav_bytes == expected


async def test_engine_failure_reports_and_finishes_without_playing(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(), TtsError.subscribe_filter(),
                                TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=QUICK):
        await mqtt_client.publish(TtsSay(text="hello", site_id=site_id, id="bad", lang="xx-nope"))
        await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "bad")
    error = mqtt_client.received(TtsError)[0]
    assert "'xx-nope'" in error.error and error.context == "bad" and error.site_id == site_id
    assert mqtt_client.received(AudioPlayBytes) == []


async def test_empty_text_finishes_without_playing(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(), TtsError.subscribe_filter(),
                                TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=QUICK):
        await mqtt_client.publish(TtsSay(text="  ", site_id=site_id, id="empty"))
        await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "empty")
    assert mqtt_client.received(AudioPlayBytes) == [] and mqtt_client.received(TtsError) == []


async def test_sentences_of_one_site_are_spoken_in_order(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(site_id=site_id), TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=QUICK) as tts:
        for n in range(3):
            await mqtt_client.publish(TtsSay(text=f"sentence number {n}", site_id=site_id, id=f"o{n}"))
        await mqtt_client.expect(TtsSayFinished, timeout=30, where=lambda m: m.id == "o2")
        # The site's lock goes with its last say (a site id per Wyoming connection must not cost a lock for ever).
        async with asyncio.timeout(5):
            while tts._site_locks:
                await asyncio.sleep(0.01)
    assert [m.id for m in mqtt_client.received(TtsSayFinished)] == ["o0", "o1", "o2"]
    assert [m.request_id for m in mqtt_client.received(AudioPlayBytes)] == ["o0", "o1", "o2"]


async def test_get_voices(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(Voices.subscribe_filter())
    async with run_service(TtsService):
        await mqtt_client.publish(GetVoices(id="g1", site_id=site_id))
        reply = await mqtt_client.expect(Voices, timeout=20, where=lambda m: m.id == "g1")
    assert reply.site_id == site_id
    assert "en-us" in [v.voice_id for v in reply.voices]
