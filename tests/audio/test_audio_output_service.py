"""audio-output on the virtual PulseAudio speaker: playBytes in, sound out, playFinished back."""

from __future__ import annotations

import asyncio
import uuid

from hermes.audioserver import (
    AudioDevices,
    AudioGetDevices,
    AudioPlayBytes,
    AudioPlayFinished,
    AudioPlayTest,
    AudioSetVolume,
    AudioToggleOff,
    AudioToggleOn,
)
from hermes.errors import AudioPlayError
from hermes.wav import g711_wav
from services.audio.output_service import AudioOutputService, AudioOutputSettings

from .signals import dominant_frequency, float_wav, int16_wav, loud_part, peak, tone
from .tap import tap

PULSE = AudioOutputSettings(device="pulse")


def finished(request_id: str):
    return lambda t: t.of(AudioPlayFinished, where=lambda m: m.id == request_id)


def heard(seconds: float):
    """Condition on a speaker recorder: at least ``seconds`` of loud sound, followed by silence."""

    def condition(pcm: bytes) -> bool:
        sound = loud_part(pcm)
        return len(sound) >= seconds * 32000 and not pcm.endswith(sound)

    return condition


async def play_and_hear(t, client, speaker, site_id: str, wav: bytes, seconds: float) -> bytes:
    """Play ``wav`` on the site, wait for playFinished, then for the sound on the virtual speaker."""
    request_id = uuid.uuid4().hex
    start = len(speaker.pcm())
    await client.publish(AudioPlayBytes(site_id=site_id, request_id=request_id, wav_bytes=wav))
    await t.until(finished(request_id), timeout=20, what=f"playFinished {request_id}")
    # playFinished comes when the device has played the sound; the monitor recording may lag a little.
    pcm = await asyncio.to_thread(speaker.wait_for, lambda pcm: heard(seconds)(pcm[start:]), 10)
    return loud_part(pcm[start:])


async def test_play_bytes_of_any_format_come_out_of_the_virtual_sink(
    pulseaudio, run_service, mqtt_broker, mqtt_client, site_id
):
    async with tap(mqtt_broker, AudioPlayFinished.subscribe_filter(site_id=site_id)) as t:
        async with run_service(AudioOutputService, settings=PULSE, site_ids=[site_id]):
            with pulseaudio.record_speaker() as speaker:
                stereo_float = await play_and_hear(
                    t, mqtt_client, speaker, site_id, float_wav(tone(440, 0.8, 48000), 48000, channels=2), 0.6
                )
                mono_8k = await play_and_hear(t, mqtt_client, speaker, site_id, int16_wav(tone(660, 0.8, 8000), 8000), 0.6)
                telephony = [await play_and_hear(t, mqtt_client, speaker, site_id, g711_wav(
                    (tone(550, 0.8, 8000) * 32767).astype("<i2").tobytes(), encoding), 0.6) for encoding in ("mulaw", "alaw")]
                await mqtt_client.publish(AudioSetVolume(volume=0.5, site_id=site_id))
                quieter = await play_and_hear(
                    t, mqtt_client, speaker, site_id, int16_wav(tone(440, 0.8, 22050), 22050), 0.6
                )
    assert abs(dominant_frequency(stereo_float) - 440) < 10
    assert abs(dominant_frequency(mono_8k) - 660) < 10
    for sound in telephony:  # 8 kHz μ-law and A-law WAVs (format tags 7 and 6)
        assert abs(dominant_frequency(sound) - 550) < 10 and 0.45 < peak(sound) < 0.55
    assert 0.45 < peak(stereo_float) < 0.55
    assert 0.2 < peak(quieter) < 0.3  # master volume 0.5
    for message in t.of(AudioPlayFinished):
        assert message.session_id == message.id  # Rhasspy's speakers echo the request id in both


async def test_toggled_off_site_skips_the_sound_but_answers(pulseaudio, run_service, mqtt_broker, mqtt_client, site_id):
    async with tap(mqtt_broker, AudioPlayFinished.subscribe_filter(site_id=site_id)) as t:
        async with run_service(AudioOutputService, settings=PULSE, site_ids=[site_id]):
            with pulseaudio.record_speaker() as speaker:
                await mqtt_client.publish(AudioToggleOff(site_id=site_id))
                await mqtt_client.publish(AudioPlayBytes(site_id=site_id, request_id="muted", wav_bytes=int16_wav(tone(440, 0.8, 16000), 16000)))
                await t.until(finished("muted"), what="playFinished while off")
                await mqtt_client.publish(AudioToggleOn(site_id=site_id))
                after = await play_and_hear(t, mqtt_client, speaker, site_id, int16_wav(tone(880, 0.8, 16000), 16000), 0.6)
                everything = loud_part(speaker.pcm())
    # only the 880 Hz sound played after toggleOn was heard; the 440 Hz one (sent before it) never was
    assert abs(dominant_frequency(after) - 880) < 10
    assert abs(dominant_frequency(everything) - 880) < 10
    assert len(everything) < 0.9 * 32000


async def test_unplayable_bytes_still_answer_play_finished_and_report(pulseaudio, run_service, mqtt_broker, site_id, mqtt_client):
    async with tap(mqtt_broker, AudioPlayFinished.subscribe_filter(site_id=site_id), AudioPlayError.subscribe_filter()) as t:
        async with run_service(AudioOutputService, settings=PULSE, site_ids=[site_id]):
            await mqtt_client.publish(AudioPlayBytes(site_id=site_id, request_id="mp3", wav_bytes=b"ID3\x04 not a wav"))
            await t.until(finished("mp3"), what="playFinished for garbage")
            errors = await t.until(lambda t: t.of(AudioPlayError), what="play error")
    assert errors[0].context == "mp3"
    assert errors[0].site_id == site_id
    assert "not a WAV file" in errors[0].error
    assert t.order(AudioPlayError, AudioPlayFinished) == ["AudioPlayError", "AudioPlayFinished"]


async def test_missing_speaker_still_answers_play_finished(pulseaudio, run_service, mqtt_broker, site_id, mqtt_client):
    settings = AudioOutputSettings(device="no-such-speaker")
    async with tap(mqtt_broker, AudioPlayFinished.subscribe_filter(site_id=site_id), AudioPlayError.subscribe_filter()) as t:
        async with run_service(AudioOutputService, settings=settings, site_ids=[site_id]):
            await mqtt_client.publish(AudioPlayBytes(site_id=site_id, request_id="r1", wav_bytes=int16_wav(tone(440, 0.2), 16000)))
            await t.until(finished("r1"), what="playFinished without a speaker")
            errors = await t.until(lambda t: t.of(AudioPlayError), what="play error")
    assert "'no-such-speaker' not found" in errors[0].error


async def test_get_devices_lists_output_devices(pulseaudio, run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(AudioDevices.subscribe_filter())
    async with run_service(AudioOutputService, settings=PULSE, site_ids=[site_id]):
        await mqtt_client.publish(AudioGetDevices(modes=["output"], site_id=site_id, id="out"))
        reply = await mqtt_client.expect(AudioDevices, timeout=10, where=lambda m: m.id == "out")
    assert {"pulse", "default"} <= {d.name for d in reply.devices}
    assert all(d.mode == "output" and d.working is None for d in reply.devices)


async def test_toggle_off_stops_the_sound_that_is_playing(pulseaudio, run_service, mqtt_broker, mqtt_client, site_id):
    """What /api/stop relies on: output off for a site silences it at once, and playFinished still comes."""
    async with tap(mqtt_broker, AudioPlayFinished.subscribe_filter(site_id=site_id)) as t:
        async with run_service(AudioOutputService, settings=PULSE, site_ids=[site_id]):
            with pulseaudio.record_speaker() as speaker:
                start = len(speaker.pcm())
                await mqtt_client.publish(AudioPlayBytes(site_id=site_id, request_id="long",
                                                         wav_bytes=int16_wav(tone(500, 8.0, 16000), 16000)))
                await asyncio.to_thread(speaker.wait_for, lambda pcm: len(loud_part(pcm[start:])) > 0.3 * 32000, 10)
                await mqtt_client.publish(AudioToggleOff(site_id=site_id))
                await t.until(finished("long"), timeout=5, what="playFinished soon after the toggle")
                await asyncio.sleep(0.5)
                played = len(loud_part(speaker.pcm()[start:])) / 32000
            await mqtt_client.publish(AudioToggleOn(site_id=site_id))
    assert played < 4.0, f"{played:.1f} s of an 8 s sound played after the output was switched off"


async def test_play_test_plays_on_the_chosen_speaker(pulseaudio, run_service, mqtt_broker, mqtt_client, site_id):
    """playTest (the web UI's device test) plays on the device it names, not the configured one (here none that
    exists), and an unknown device is an error naming the request, followed by playFinished as for playBytes."""
    settings = AudioOutputSettings(device="no such speaker")
    async with tap(mqtt_broker, AudioPlayFinished.subscribe_filter(site_id=site_id), AudioPlayError.subscribe_filter(),
                   AudioDevices.subscribe_filter()) as t:
        async with run_service(AudioOutputService, settings=settings, site_ids=[site_id]):
            await mqtt_client.publish(AudioGetDevices(modes=["output"], site_id=site_id, id="ids"))
            listed = await t.until(lambda t: t.of(AudioDevices, where=lambda m: m.id == "ids"), what="devices")
            pulse = next(d.id for d in listed[0].devices if d.name == "pulse")
            with pulseaudio.record_speaker() as speaker:
                await mqtt_client.publish(AudioPlayTest(site_id=site_id, device=pulse, request_id="chosen",
                                                        wav_bytes=int16_wav(tone(440, 0.8), 16000)))
                await t.until(finished("chosen"), timeout=20, what="playFinished chosen")
                pcm = await asyncio.to_thread(speaker.wait_for, heard(0.6), 10)
            await mqtt_client.publish(AudioPlayTest(site_id=site_id, device="nope", request_id="bad",
                                                    wav_bytes=int16_wav(tone(440, 0.2), 16000)))
            await t.until(finished("bad"), timeout=20, what="playFinished bad")
    assert abs(dominant_frequency(loud_part(pcm)) - 440) < 10
    assert not t.of(AudioPlayError, where=lambda m: m.context == "chosen")
    errors = t.of(AudioPlayError, where=lambda m: m.context == "bad")
    assert errors and "nope" in errors[0].error
