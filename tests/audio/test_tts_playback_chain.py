"""TTS through a real audio-output on the virtual speaker: say -> playBytes -> playFinished -> sayFinished."""

from __future__ import annotations

import asyncio

import numpy as np

from hermes.audioserver import AudioPlayBytes, AudioPlayBytesStreaming, AudioPlayFinished, AudioStreamFinished
from hermes.errors import AudioPlayError, TtsError
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import to_pcm16k_mono, wav_info
from services.audio.output_service import AudioOutputService, AudioOutputSettings
from services.tts.service import TtsService
from services.tts.settings import TtsSettings
from tests.bridge.harness import http, run_bridge
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


FIVE_SENTENCES = ("The kitchen light is on. The garage door is closed. It is twenty degrees outside. "
                  "Tomorrow will be sunny. Good night.")


async def test_streamed_say_plays_its_sentences_back_to_back(pulseaudio, run_service, mqtt_broker, mqtt_client,
                                                               site_id):
    """Piper's five sentences as playBytesStreaming chunks, the first sent long before the last, played through
    one device stream: what the speaker gives out is as long as the sentences together (no gap between them)."""
    settings = TtsSettings(engine="piper")
    filters = [TtsSayFinished.subscribe_filter(), AudioPlayBytesStreaming.subscribe_filter(site_id=site_id),
               AudioStreamFinished.subscribe_filter(site_id=site_id), TtsError.subscribe_filter(),
               AudioPlayError.subscribe_filter()]
    async with tap(mqtt_broker, *filters) as t:
        async with run_service(AudioOutputService, settings=AudioOutputSettings(device="pulse"), site_ids=[site_id]):
            async with run_service(TtsService, settings=settings):
                with pulseaudio.record_speaker() as speaker:
                    await mqtt_client.publish(TtsSay(text=FIVE_SENTENCES, site_id=site_id, id="st-1", stream=True))
                    loop = asyncio.get_running_loop()
                    await t.until(lambda t: t.of(AudioPlayBytesStreaming), timeout=30, what="first chunk")
                    first_at = loop.time()
                    await t.until(lambda t: t.of(AudioPlayBytesStreaming, where=lambda m: m.is_last_chunk),
                                  timeout=60, what="last chunk")
                    last_at = loop.time()
                    await t.until(lambda t: t.of(TtsSayFinished, where=lambda m: m.id == "st-1"), timeout=60,
                                  what="sayFinished")
                    chunks = t.of(AudioPlayBytesStreaming)
                    sentences = [c for c in chunks if not c.is_last_chunk]
                    spoken = b"".join(to_pcm16k_mono(c.wav_bytes) for c in sentences)
                    expected = loud_part(spoken, 0.02)
                    heard = await asyncio.to_thread(
                        speaker.wait_for, lambda pcm: len(loud_part(pcm, 0.02)) >= len(expected) - 3200, 10)
    assert t.of(TtsError) == [] and t.of(AudioPlayError) == []
    assert [c.chunk_number for c in chunks] == list(range(len(chunks)))
    assert len(sentences) == 5 and chunks[-1].is_last_chunk == 1
    assert wav_info(chunks[-1].wav_bytes).frames == 0  # the closing chunk carries no sound
    assert last_at - first_at > 0.3, "the first sentence was not sent before the last was made"
    assert t.order(AudioStreamFinished, TtsSayFinished) == ["AudioStreamFinished", "TtsSayFinished"]
    assert t.of(AudioStreamFinished)[0].id == "st-1"
    sound = loud_part(heard, 0.02)
    # A gap between sentences (the device waiting for the next chunk) is a pause longer than any of the voice's.
    assert longest_pause(sound) < longest_pause(expected) + 0.1, (longest_pause(sound), longest_pause(expected))
    assert abs(len(sound) - len(expected)) / 2 / 16000 < 0.6, (len(sound), len(expected))
    assert abs(pcm_samples(sound).std() - pcm_samples(expected).std()) < 0.15 * pcm_samples(expected).std()


def longest_pause(pcm: bytes, rate: int = 16000) -> float:
    """Seconds of the longest run of 10 ms windows without sound (peak under 1 % of full scale)."""
    samples = pcm_samples(pcm)
    window = rate // 100
    quiet = [np.abs(samples[i:i + window]).max() < 0.01 for i in range(0, len(samples) - window, window)]
    longest = run = 0
    for is_quiet in quiet:
        run = run + 1 if is_quiet else 0
        longest = max(longest, run)
    return longest / 100


async def test_http_stream_on_two_sites_plays_the_sentences_back_to_back_on_each_real_audio_output(
        pulseaudio, run_service, mqtt_broker, profile_dir):
    """POST /api/text-to-speech?stream=true&siteId=hall,attic with Piper and a real audio-output per site (each its
    own instance: in one process the same instance would be the same MQTT client id) on the
    virtual speaker: each site's output plays its own stream of the five sentences through and answers
    streamFinished, and the two play at the same time (what the speaker gives out is one say long, not two)."""
    sites = ["hall", "attic"]
    filters = [TtsSayFinished.subscribe_filter(), AudioPlayBytesStreaming.subscribe_filter(),
               AudioStreamFinished.subscribe_filter(), TtsError.subscribe_filter(), AudioPlayError.subscribe_filter()]
    output = AudioOutputSettings(device="pulse")
    async with tap(mqtt_broker, *filters) as t, \
            run_service(AudioOutputService, settings=output, site_ids=[sites[0]], instance=sites[0]), \
            run_service(AudioOutputService, settings=output, site_ids=[sites[1]], instance=sites[1]), \
            run_service(TtsService, settings=TtsSettings(engine="piper")), \
            run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        with pulseaudio.record_speaker() as speaker:
            reply = await client.post("/api/text-to-speech", content=FIVE_SENTENCES,
                                      params={"stream": "true", "siteId": ",".join(sites)})
            await t.until(lambda t: len(t.of(TtsSayFinished, where=lambda m: m.site_id in sites)) == 2,
                          timeout=60, what="sayFinished of both sites")
            streams = {site: t.of(AudioPlayBytesStreaming, where=lambda m, site=site: m.site_id == site)
                       for site in sites}
            one_say = loud_part(b"".join(to_pcm16k_mono(c.wav_bytes) for c in streams[sites[0]]), 0.02)
            heard = await asyncio.to_thread(
                speaker.wait_for, lambda pcm: len(loud_part(pcm, 0.02)) >= len(one_say) - 3200, 10)
            await asyncio.sleep(1.0)  # a second say played after the first would show up here
            heard = speaker.wait_for(lambda pcm: True, 1)
    assert reply.status_code == 200, reply.text
    assert t.of(TtsError) == [] and t.of(AudioPlayError) == []
    for site in sites:
        chunks = streams[site]
        assert [c.chunk_number for c in chunks] == list(range(6)) and chunks[-1].is_last_chunk == 1, site
        # The site's real audio output played its stream through (it answers only then), before sayFinished.
        assert [m.site_id for m in t.of(AudioStreamFinished) if m.id == chunks[0].request_id] == [site]
    said = (len(reply.content) - 44) / 2 / 22050
    assert abs(said - sum(wav_info(c.wav_bytes).seconds for c in streams[sites[0]])) < 0.05  # the first site's
    sound = loud_part(heard, 0.02)
    assert abs(len(sound) - len(one_say)) / 2 / 16000 < 0.6, (len(sound), len(one_say))  # at once, not in turn
    assert longest_pause(sound) < longest_pause(one_say) + 0.1  # each site's sentences back to back
