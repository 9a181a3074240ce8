"""The wake service on a real broker: espeak-ng speech as audio frames, real pocketsphinx, per-site state."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from hermes.audioserver import AudioFrame
from hermes.errors import HotwordError
from hermes.hotword import GetHotwords, HotwordDetected, Hotwords, HotwordToggleOff, HotwordToggleOn
from hermes.resample import resample
from hermes.wav import g711_wav, pcm_to_wav, wav_chunks
from services.wake.engine import WakeConfigError
from services.wake.service import WakeService
from services.wake.settings import (
    PocketsphinxWakeSettings,
    PreciseWakeSettings,
    WakePhraseSettings,
    WakeSettings,
)

from .speech import VOICES, build_stream, other_speech, silence, wake_utterances

BUMBLEBEE = WakeSettings(
    pocketsphinx=PocketsphinxWakeSettings(phrases=[WakePhraseSettings(phrase="bumblebee", threshold=1e-30)]),
    lang="en",
)


async def stream_frames(client, site_id: str, pcm: bytes) -> None:
    """Publish a stream as 64 ms audio frames, faster than real time."""
    for chunk in wav_chunks(pcm, 1024):
        await client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))


async def barrier(client, site_id: str, timeout: float = 60.0) -> None:
    """Wait until the service has handled everything sent for the site so far.

    Messages of one site are handled in order and the service publishes in order, so the reply to
    getHotwords arrives after every detection caused by the frames sent before it.
    """
    request_id = uuid.uuid4().hex
    await client.publish(GetHotwords(site_id=site_id, id=request_id))
    await client.expect(Hotwords, timeout=timeout, where=lambda m: m.id == request_id)


def detections(client, site_id: str) -> list[HotwordDetected]:
    return client.received(HotwordDetected, where=lambda m: m.site_id == site_id)


async def test_one_detection_per_utterance_and_none_for_other_speech_on_two_sites(run_service, mqtt_client):
    wake_site, other_site = f"wake-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    wake_stream = wake_utterances("bumblebee", VOICES[:4])
    speech = other_speech(60.0)
    await mqtt_client.subscribe(HotwordDetected.subscribe_filter(), Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=BUMBLEBEE):
        # both sites stream at the same time, interleaved frame by frame
        await asyncio.gather(
            stream_frames(mqtt_client, wake_site, wake_stream.pcm), stream_frames(mqtt_client, other_site, speech.pcm)
        )
        await barrier(mqtt_client, wake_site)
        await barrier(mqtt_client, other_site)
    found = detections(mqtt_client, wake_site)
    assert len(found) == len(wake_stream.marks) == 4
    first = found[0]
    assert first.wakeword_id == "bumblebee"
    assert first.model_id == "bumblebee"
    assert (first.model_type, first.current_sensitivity, first.lang, first.session_id) == ("personal", 1.0, "en", None)
    assert detections(mqtt_client, other_site) == []


async def test_telephony_and_hifi_microphones_are_heard_as_streams(run_service, mqtt_client):
    """8 kHz μ-law in 20 ms packets and 44.1 kHz stereo frames: each site's audio is converted as one stream."""
    phone, hifi = f"phone-{uuid.uuid4().hex[:6]}", f"hifi-{uuid.uuid4().hex[:6]}"
    samples = np.frombuffer(wake_utterances("bumblebee", VOICES[:4]).pcm, dtype=np.int16)
    pcm8k = resample(samples, 16000, 8000).tobytes()
    stereo = np.repeat(resample(samples, 16000, 44100)[:, None], 2, axis=1).tobytes()
    await mqtt_client.subscribe(HotwordDetected.subscribe_filter(), Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=BUMBLEBEE):
        for i in range(0, len(pcm8k), 320):
            await mqtt_client.publish(AudioFrame(site_id=phone, wav_bytes=g711_wav(pcm8k[i : i + 320], "mulaw")))
        for i in range(0, len(stereo), 4 * 2048):
            await mqtt_client.publish(AudioFrame(site_id=hifi, wav_bytes=pcm_to_wav(
                stereo[i : i + 4 * 2048], rate=44100, channels=2)))
        await barrier(mqtt_client, phone)
        await barrier(mqtt_client, hifi)
    assert len(detections(mqtt_client, phone)) == 4
    assert len(detections(mqtt_client, hifi)) == 4


async def test_toggle_reasons_per_site_and_reset_on_toggle_off(run_service, mqtt_client, site_id):
    neighbour = f"{site_id}-b"
    utterance = wake_utterances("bumblebee", VOICES[:1])
    start, end = utterance.marks[0]
    cut = int((start + (end - start) * 2 / 3) * 16000) * 2 // 2048 * 2048
    await mqtt_client.subscribe(HotwordDetected.subscribe_filter(), Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=BUMBLEBEE):
        # Two reasons off: one reason back on is not enough.
        await mqtt_client.publish(HotwordToggleOff(site_id=site_id, reason="dialogueSession"))
        await mqtt_client.publish(HotwordToggleOff(site_id=site_id, reason="ttsSay"))
        await mqtt_client.publish(HotwordToggleOn(site_id=site_id, reason="ttsSay"))
        await stream_frames(mqtt_client, site_id, utterance.pcm)
        await stream_frames(mqtt_client, neighbour, utterance.pcm)  # the other site is not affected
        await barrier(mqtt_client, site_id)
        await barrier(mqtt_client, neighbour)
        assert detections(mqtt_client, site_id) == []
        assert len(detections(mqtt_client, neighbour)) == 1

        await mqtt_client.publish(HotwordToggleOn(site_id=site_id, reason="dialogueSession"))
        await stream_frames(mqtt_client, site_id, utterance.pcm)
        await barrier(mqtt_client, site_id)
        assert len(detections(mqtt_client, site_id)) == 1

        # A phrase cut by toggleOff must not complete after toggleOn: the detector was reset.
        await stream_frames(mqtt_client, site_id, utterance.pcm[:cut])
        await mqtt_client.publish(HotwordToggleOff(site_id=site_id, reason="playAudio"))
        await mqtt_client.publish(HotwordToggleOn(site_id=site_id, reason=""))  # reasonless on clears all
        await stream_frames(mqtt_client, site_id, utterance.pcm[cut:])
        await barrier(mqtt_client, site_id)
        assert len(detections(mqtt_client, site_id)) == 1


async def test_get_hotwords_lists_every_phrase(run_service, mqtt_client, site_id):
    settings = WakeSettings(
        pocketsphinx=PocketsphinxWakeSettings(
            phrases=[
                WakePhraseSettings(phrase="bumblebee"),
                WakePhraseSettings(phrase="Hey  Zorblax", threshold=1e-20, wakeword_id="zorblax"),
            ],
            words={"zorblax": "Z AO R B L AE K S"},
        )
    )
    await mqtt_client.subscribe(Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=settings):
        await mqtt_client.publish(GetHotwords(site_id=site_id, id="q1"))
        reply = await mqtt_client.expect(Hotwords, timeout=10, where=lambda m: m.id == "q1")
    assert reply.site_id == site_id
    assert [(m.model_id, m.model_words, m.model_type) for m in reply.models] == [
        ("bumblebee", "bumblebee", "personal"),
        ("hey zorblax", "hey zorblax", "personal"),
    ]


async def test_unknown_word_stops_the_service_at_start_up(run_service):
    settings = WakeSettings(
        pocketsphinx=PocketsphinxWakeSettings(
            phrases=[WakePhraseSettings(phrase="hey zorblax")], guess_unknown_words=False
        )
    )
    with pytest.raises(WakeConfigError, match="'zorblax'"):
        async with run_service(WakeService, settings=settings):
            pass


async def test_frames_that_are_not_wav_are_reported_once(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(HotwordError.subscribe_filter(), Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=BUMBLEBEE):
        for _ in range(3):
            await mqtt_client.publish_raw(AudioFrame(site_id=site_id).topic(), b"not a wav file")
        await barrier(mqtt_client, site_id)
    errors = mqtt_client.received(HotwordError, where=lambda m: m.site_id == site_id)
    assert len(errors) == 1
    assert "not usable WAV" in errors[0].error


async def test_precise_engine_through_the_service(run_service, mqtt_client, site_id, tmp_path):
    from .test_wake_engines import FAKE_ENGINE, tone

    model = tmp_path / "hey-fake.pb"
    model.write_bytes(b"x")
    Path(f"{model}.params").write_text("{}", encoding="utf-8")
    settings = WakeSettings(
        engine="precise",
        precise=PreciseWakeSettings(engine=sys.executable, engine_args=[str(FAKE_ENGINE)], model=str(model)),
    )
    stream = build_stream([silence(1.0), ("w", tone(0.8)), silence(1.0), ("w", tone(0.8)), silence(1.0)], noise_rms=50)
    await mqtt_client.subscribe(HotwordDetected.subscribe_filter(), Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=settings):
        await stream_frames(mqtt_client, site_id, stream.pcm)
        await mqtt_client.publish(HotwordToggleOff(site_id=site_id, reason="dialogueSession"))
        await stream_frames(mqtt_client, site_id, stream.pcm)  # switched off: ignored
        await barrier(mqtt_client, site_id)
    found = detections(mqtt_client, site_id)
    assert [(d.wakeword_id, d.model_id, d.current_sensitivity) for d in found] == [("hey-fake", "hey-fake.pb", 0.5)] * 2


async def test_precise_engine_crash_is_reported_once_and_the_service_goes_on(run_service, mqtt_client, site_id, tmp_path):
    from .test_wake_engines import FAKE_ENGINE

    model = tmp_path / "crashy.pb"
    model.write_bytes(b"die-after:3")  # every engine process answers 3 chunks, then exits
    Path(f"{model}.params").write_text("{}", encoding="utf-8")
    settings = WakeSettings(
        engine="precise",
        precise=PreciseWakeSettings(engine=sys.executable, engine_args=[str(FAKE_ENGINE)], model=str(model)),
    )
    await mqtt_client.subscribe(HotwordError.subscribe_filter(), Hotwords.subscribe_filter())
    async with run_service(WakeService, settings=settings):
        await stream_frames(mqtt_client, site_id, bytes(2048 * 40))
        await barrier(mqtt_client, site_id)
    errors = mqtt_client.received(HotwordError, where=lambda m: m.site_id == site_id)
    assert len(errors) == 1
    assert "stopped answering" in errors[0].error and "restarting it" in errors[0].error
