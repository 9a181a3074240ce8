"""The TTS service with engine piper on a real broker: playBytes at the voice's rate, errors that keep it up."""

from __future__ import annotations

import asyncio
import contextlib

from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.errors import TtsError
from hermes.status import ServiceStatus
from hermes.tts import GetVoices, TtsSay, TtsSayFinished, Voices
from hermes.wav import read_wav
from services.status import format_table
from services.tts.service import TtsService
from services.tts.settings import PiperTtsSettings, TtsSettings

from .piper_voices import add_corrupt_voice, add_voice, bundled_model


def piper_settings(**options) -> TtsSettings:
    return TtsSettings(engine="piper", piper=PiperTtsSettings(**options), play_finished_margin=0.3)


@contextlib.asynccontextmanager
async def audio_output(mqtt_client, site_id):
    """What an audio-output service answers: playFinished for each playBytes of the site (nothing is played)."""
    answered: set[str] = set()

    async def answer() -> None:
        while True:
            for play in mqtt_client.received(AudioPlayBytes, where=lambda m: m.site_id == site_id):
                if play.request_id not in answered:
                    answered.add(play.request_id)
                    await mqtt_client.publish(AudioPlayFinished(id=play.request_id, site_id=site_id))
            await asyncio.sleep(0.02)

    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(site_id=site_id))
    task = asyncio.create_task(answer())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_piper_answers_say_with_play_bytes_at_its_own_rate(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(TtsError.subscribe_filter(), TtsSayFinished.subscribe_filter(),
                                Voices.subscribe_filter())
    async with run_service(TtsService, settings=piper_settings()), audio_output(mqtt_client, site_id):
        await mqtt_client.publish(TtsSay(text="The garage door is closed. Good night.", site_id=site_id, id="p1",
                                         session_id="sess"))
        done = await mqtt_client.expect(TtsSayFinished, timeout=30, where=lambda m: m.id == "p1")
        await mqtt_client.publish(GetVoices(id="g1", site_id=site_id))
        voices = await mqtt_client.expect(Voices, timeout=20, where=lambda m: m.id == "g1")
    assert done.session_id == "sess"
    played = mqtt_client.received(AudioPlayBytes, where=lambda m: m.site_id == site_id)
    assert [p.request_id for p in played] == ["p1"]
    info, frames = read_wav(played[0].wav_bytes)
    assert (info.rate, info.width, info.channels) == (22050, 2, 1)
    assert 1.5 < info.seconds < 6.0
    assert mqtt_client.received(TtsError) == []  # playFinished came: no error
    assert [v.voice_id for v in voices.voices] == ["en_US-joe-medium"]


async def test_a_corrupt_voice_keeps_the_service_up_and_each_say_gets_an_error(run_service, mqtt_client, site_id,
                                                                            profile_dir):
    corrupt = add_corrupt_voice(profile_dir / "voices", "en_US-corrupt-medium")
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(), TtsError.subscribe_filter(),
                                TtsSayFinished.subscribe_filter())
    await mqtt_client.subscribe(ServiceStatus.subscribe_filter())
    settings = piper_settings(voice="voices/en_US-corrupt-medium.onnx")
    async with run_service(TtsService, settings=settings), audio_output(mqtt_client, site_id):
        status = await mqtt_client.expect(ServiceStatus, timeout=20, where=lambda m: m.service == "tts")
        for n in range(2):
            await mqtt_client.publish(TtsSay(text="hello", site_id=site_id, id=f"c{n}"))
            await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m, n=n: m.id == f"c{n}")
        errors = mqtt_client.received(TtsError, where=lambda m: m.site_id == site_id)
        assert mqtt_client.received(AudioPlayBytes) == []
        # Fixed in place: the next say speaks, and the status no longer names a problem.
        corrupt.unlink()
        corrupt.symlink_to(bundled_model())
        await mqtt_client.publish(TtsSay(text="hello", site_id=site_id, id="fixed"))
        await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "fixed")
        healthy = await mqtt_client.expect(ServiceStatus, timeout=20,
                                           where=lambda m: m.service == "tts" and not m.problems)
    assert [e.context for e in errors] == ["c0", "c1"]
    assert all(str(corrupt) in e.error and "cannot be loaded" in e.error and "[piper-voice-corrupt]" in e.error
               for e in errors)
    assert len(status.problems) == 1 and str(corrupt) in status.problems[0]
    assert f"problem: tts/{status.instance}: tts engine piper: piper voice model '{corrupt}'" in format_table([status])
    assert healthy.status == "online"
    # (overlapping subscriptions of the test client may deliver a playBytes twice)
    assert {p.request_id for p in mqtt_client.received(AudioPlayBytes)} == {"fixed"}


async def test_an_unknown_language_is_an_error_naming_the_voices(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(TtsError.subscribe_filter(), TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=piper_settings()):
        await mqtt_client.publish(TtsSay(text="hello", site_id=site_id, id="u1", lang="xx-nope"))
        await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "u1")
    error = mqtt_client.received(TtsError)[0]
    assert "no piper voice speaks 'xx-nope'" in error.error and "en_US-joe-medium (en_US)" in error.error


async def test_text_over_max_text_chars_is_refused_naming_the_setting_for_any_engine(run_service, mqtt_client,
                                                                                   site_id):
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(), TtsError.subscribe_filter(),
                                TtsSayFinished.subscribe_filter())
    long_text = "word " * 20_000  # 100,000 characters
    for engine in ("espeak", "piper"):
        settings = TtsSettings(engine=engine, max_text_chars=3000, play_finished_margin=0.3)
        async with run_service(TtsService, settings=settings):
            await mqtt_client.publish(TtsSay(text=long_text, site_id=site_id, id=f"long-{engine}"))
            await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m, e=engine: m.id == f"long-{e}")
    errors = mqtt_client.received(TtsError)
    assert len(errors) == 2
    assert all("refused to speak 100000 characters: over tts.max_text_chars (3000)" in e.error for e in errors)
    assert mqtt_client.received(AudioPlayBytes) == []
    assert TtsSettings().max_text_chars == 5000


async def test_an_unknown_voice_setting_keeps_the_service_up_naming_the_voices(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(TtsError.subscribe_filter(), TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=piper_settings(voice="en_GB-nope-low")):
        await mqtt_client.publish(TtsSay(text="hello", site_id=site_id, id="n1"))
        await mqtt_client.expect(TtsSayFinished, timeout=20, where=lambda m: m.id == "n1")
    error = mqtt_client.received(TtsError)[0]
    assert "unknown piper voice 'en_GB-nope-low'; installed voices: en_US-joe-medium" in error.error
    assert "[piper-unknown-voice]" in error.error


async def test_two_sites_speak_at_once(run_service, mqtt_client, site_id):
    sites = [f"{site_id}-a", f"{site_id}-b"]
    await mqtt_client.subscribe(TtsError.subscribe_filter(), TtsSayFinished.subscribe_filter())
    async with run_service(TtsService, settings=piper_settings()), audio_output(mqtt_client, sites[0]), \
            audio_output(mqtt_client, sites[1]):
        for n, site in enumerate(sites):
            await mqtt_client.publish(TtsSay(text=f"This is room number {n + 1}. The lights are off.",
                                             site_id=site, id=f"r{n}"))
        for n in range(2):
            await mqtt_client.expect(TtsSayFinished, timeout=30, where=lambda m, n=n: m.id == f"r{n}")
    assert mqtt_client.received(TtsError) == []
    for site in sites:
        (played,) = mqtt_client.received(AudioPlayBytes, where=lambda m, s=site: m.site_id == s)
        assert read_wav(played.wav_bytes)[0].seconds > 2.0


async def test_say_voice_picks_an_installed_voice_and_refuses_others_and_paths(run_service, mqtt_client, site_id,
                                                                             tmp_path):
    """say.voice names a voice of rhasspy/tts/voices; an unknown name or a path is an error naming the voices."""
    add_voice(tmp_path / "voices", "de_DE-copy-medium", "de_DE", speakers=("anna", "ben"))
    await mqtt_client.subscribe(TtsError.subscribe_filter(), TtsSayFinished.subscribe_filter(),
                                Voices.subscribe_filter())
    settings = piper_settings(voices_dir=str(tmp_path / "voices"))
    async with run_service(TtsService, settings=settings), audio_output(mqtt_client, site_id):
        await mqtt_client.publish(GetVoices(id="gv", site_id=site_id))
        voices = await mqtt_client.expect(Voices, timeout=20, where=lambda m: m.id == "gv")
        await mqtt_client.publish(TtsSay(text="Hello there.", site_id=site_id, id="v-ok", voice="en_US-joe-medium"))
        await mqtt_client.expect(TtsSayFinished, timeout=30, where=lambda m: m.id == "v-ok")
        for n, bad in enumerate(["en_US-nope-low", str(bundled_model()), "../voices/de_DE-copy-medium.onnx"]):
            await mqtt_client.publish(TtsSay(text="Hello.", site_id=site_id, id=f"v-bad{n}", voice=bad))
            await mqtt_client.expect(TtsSayFinished, timeout=30, where=lambda m, n=n: m.id == f"v-bad{n}")
    by_name = {v.voice_id: v for v in voices.voices}
    assert by_name["en_US-joe-medium"].languages == ["en_US"]
    assert by_name["de_DE-copy-medium"].languages == ["de_DE"]
    assert by_name["de_DE-copy-medium"].speakers == ["anna", "ben"]
    assert [p.request_id for p in mqtt_client.received(AudioPlayBytes, where=lambda m: m.site_id == site_id)] == ["v-ok"]
    errors = {e.context: e.error for e in mqtt_client.received(TtsError)}
    assert set(errors) == {"v-bad0", "v-bad1", "v-bad2"}
    for error in errors.values():
        assert "installed voices: de_DE-copy-medium, en_US-joe-medium" in error
