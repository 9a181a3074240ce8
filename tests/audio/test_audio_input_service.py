"""audio-input on the virtual PulseAudio microphone: sound in, audioFrames on the broker."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from hermes.audioserver import (
    AudioDevices,
    AudioFrame,
    AudioGetDevices,
    AudioRecordTest,
    AudioRecordTestResult,
    AudioSummary,
    SummaryToggleOn,
)
from hermes.errors import AudioRecordError
from hermes.wav import read_wav
from services.audio.input_service import AudioInputService, AudioInputSettings

from .signals import dominant_frequency, loud_part, peak, to_int16, tone
from .tap import Tap, tap


def frames_pcm(t: Tap, site_id: str) -> bytes:
    return b"".join(read_wav(f.wav_bytes)[1] for f in t.of(AudioFrame, where=lambda f: f.site_id == site_id))


def heard_for(seconds: float, site_id: str):
    """Condition: the frames hold a loud sound of at least ``seconds`` followed by silence."""

    def condition(t: Tap) -> bool:
        pcm = frames_pcm(t, site_id)
        sound = loud_part(pcm)
        return len(sound) >= seconds * 32000 and not pcm.endswith(sound)

    return condition


@pytest.mark.parametrize("rate,channels", [(None, None), (44100, 2)], ids=["16k-mono", "44k-stereo-converted"])
async def test_sound_in_the_virtual_microphone_comes_out_as_audio_frames(
    pulseaudio, run_service, mqtt_broker, site_id, rate, channels
):
    settings = AudioInputSettings(device="pulse", capture_rate=rate, capture_channels=channels)
    async with tap(mqtt_broker, AudioFrame.subscribe_filter(site_id=site_id)) as t:
        async with run_service(AudioInputService, settings=settings, site_ids=[site_id]):
            await t.until(lambda t: t.of(AudioFrame), what="first audio frame")
            player = pulseaudio.speak_into_microphone(to_int16(tone(440, 1.5)))
            await t.until(heard_for(1.2, site_id), timeout=30, what="the tone in the frames")
            await asyncio.to_thread(player.wait, 10)
    frames = t.of(AudioFrame)
    for frame in frames:
        info, pcm = read_wav(frame.wav_bytes)
        assert (info.rate, info.width, info.channels, info.frames) == (16000, 2, 1, 1024)
        assert len(frame.wav_bytes) == 2092  # 44-byte header + 1024 samples, as Rhasspy's microphones send
    sound = loud_part(frames_pcm(t, site_id))
    assert abs(dominant_frequency(sound) - 440) < 10
    assert 0.4 < peak(sound) < 0.6


async def test_get_devices_with_a_working_test(pulseaudio, run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioDevices.subscribe_filter())
    async with run_service(AudioInputService, settings=AudioInputSettings(device="pulse"), site_ids=[site_id]):
        # silence: the virtual microphone delivers digital zeros, which is "not working"
        await mqtt_client.publish(AudioGetDevices(modes=["input"], site_id=site_id, id="quiet", test=True))
        quiet = await mqtt_client.expect(AudioDevices, timeout=20, where=lambda m: m.id == "quiet")
        noise = (np.random.default_rng(3).standard_normal(16000 * 6) * 0.1).astype(np.float32)
        player = pulseaudio.speak_into_microphone(to_int16(noise))
        await mqtt_client.publish(AudioGetDevices(modes=["input"], site_id=site_id, id="loud", test=True))
        loud = await mqtt_client.expect(AudioDevices, timeout=20, where=lambda m: m.id == "loud")
        await mqtt_client.publish(AudioGetDevices(modes=["input"], site_id=site_id, id="list"))
        listed = await mqtt_client.expect(AudioDevices, timeout=20, where=lambda m: m.id == "list")
        player.kill()
        await asyncio.to_thread(player.wait, 5)
    by_name = {d.name: d for d in loud.devices}
    assert {"pulse", "default"} <= set(by_name)
    assert all(d.mode == "input" for d in loud.devices)
    assert by_name["pulse"].working is True
    assert by_name["default"].working is True  # tested with its own short recording
    assert {d.name: d.working for d in quiet.devices}["pulse"] is False
    assert all(d.working is None for d in listed.devices)
    assert loud.site_id == site_id


async def test_audio_summaries_on_request(pulseaudio, run_service, mqtt_broker, mqtt_client, site_id):
    async with tap(mqtt_broker, AudioSummary.subscribe_filter(site_id=site_id), AudioFrame.subscribe_filter()) as t:
        async with run_service(AudioInputService, settings=AudioInputSettings(device="pulse"), site_ids=[site_id]):
            await t.until(lambda t: t.of(AudioFrame), what="first audio frame")
            assert t.of(AudioSummary) == []  # off until asked for
            await mqtt_client.publish(SummaryToggleOn(site_id=site_id))
            player = pulseaudio.speak_into_microphone(to_int16(tone(440, 1.0)))
            summaries = await t.until(
                lambda t: [s for s in t.of(AudioSummary) if s.debiased_energy > 1000], timeout=30, what="a loud summary"
            )
            await asyncio.to_thread(player.wait, 10)
            loud = [s.debiased_energy for s in t.of(AudioSummary) if s.debiased_energy > 1000]
    assert isinstance(summaries[0].is_speech, bool)
    # the median frame: the first and last loud frames hold only part of the tone (more so on a busy machine)
    assert float(np.median(loud)) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.15)


async def test_without_the_device_the_service_keeps_running(pulseaudio, run_service, mqtt_client, site_id, caplog):
    caplog.set_level(logging.WARNING)
    await mqtt_client.subscribe(AudioRecordError.subscribe_filter(), AudioDevices.subscribe_filter())
    settings = AudioInputSettings(device="no-such-mic", retry_seconds=60)
    async with run_service(AudioInputService, settings=settings, site_ids=[site_id]):
        error = await mqtt_client.expect(AudioRecordError, timeout=20, where=lambda m: m.site_id == site_id)
        await mqtt_client.publish(AudioGetDevices(modes=["input"], site_id=site_id, id="d"))
        devices = await mqtt_client.expect(AudioDevices, timeout=20, where=lambda m: m.id == "d")
    assert "'no-such-mic' not found" in error.error
    assert "pulse" in [d.name for d in devices.devices]
    assert any("keeps running without a microphone" in r.getMessage() for r in caplog.records)


async def test_record_test_brings_back_the_sound_of_the_chosen_microphone(pulseaudio, run_service, mqtt_client,
                                                                          site_id):
    """recordTest (the web UI's device test): the device the service records from gives the test from its live
    stream, another device is opened for it, and an unknown one is an error naming the request."""
    await mqtt_client.subscribe(AudioDevices.subscribe_filter(), AudioRecordTestResult.subscribe_filter(),
                                AudioRecordError.subscribe_filter(), AudioFrame.subscribe_filter(site_id=site_id))
    async with run_service(AudioInputService, settings=AudioInputSettings(device="pulse"), site_ids=[site_id]):
        await mqtt_client.expect(AudioFrame, timeout=20, where=lambda m: m.site_id == site_id)  # recording now
        await mqtt_client.publish(AudioGetDevices(modes=["input"], site_id=site_id, id="ids"))
        listed = await mqtt_client.expect(AudioDevices, timeout=20, where=lambda m: m.id == "ids")
        ids = {d.name: d.id for d in listed.devices}
        player = pulseaudio.speak_into_microphone(to_int16(tone(440, 6.0)))
        results = {}
        for name in ("pulse", "default"):
            await mqtt_client.publish(AudioRecordTest(device=ids[name], seconds=1.0, id=name, site_id=site_id))
            results[name] = await mqtt_client.expect(AudioRecordTestResult, timeout=20,
                                                     where=lambda m, name=name: m.request_id == name)
        await mqtt_client.publish(AudioRecordTest(device="nope", id="bad", site_id=site_id))
        error = await mqtt_client.expect(AudioRecordError, timeout=20, where=lambda m: m.context == "bad")
        player.kill()
        await asyncio.to_thread(player.wait, 5)
    live_info, live = read_wav(results["pulse"].wav_bytes)
    own_info, own = read_wav(results["default"].wav_bytes)
    assert (live_info.rate, live_info.channels, live_info.frames) == (16000, 1, 16000)  # exactly 1 s, live
    assert (own_info.rate, own_info.channels) == (16000, 1) and 0.9 < own_info.frames / 16000 <= 1.0
    for pcm in (live, own):
        assert abs(dominant_frequency(loud_part(pcm)) - 440) < 10
    assert "microphone test" in error.error and "nope" in error.error and error.site_id == site_id
