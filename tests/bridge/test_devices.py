"""Devices, wake words, voices, playback, volume and pronunciations, answered by the real services."""

from __future__ import annotations

import io
import wave

from hermes.asr import AsrToggleOff, AsrToggleOn
from hermes.audioserver import AudioSetVolume
from hermes.hotword import HotwordToggleOff, HotwordToggleOn
from hermes.wav import pcm_to_wav
from services.asr.service import AsrService, AsrSettings
from services.audio.input_service import AudioInputService, AudioInputSettings
from services.audio.output_service import AudioOutputService, AudioOutputSettings
from services.tts.service import TtsService
from services.wake.service import WakeService
from tests.conftest import make_common, running

from .harness import http, run_bridge
from .peers import AudioOutputPeer


async def test_device_lists_voices_and_wake_words_come_from_the_services(mqtt_broker, profile_dir):
    common = make_common(mqtt_broker, profile_dir)
    async with running(AudioOutputService(common, AudioOutputSettings())), \
            running(AudioInputService(common, AudioInputSettings())), running(TtsService(common)), \
            running(WakeService(common)), run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        speakers = await client.get("/api/speakers")
        microphones = await client.get("/api/microphones")
        voices = await client.get("/api/tts-voices")
        wake_words = await client.get("/api/wake-words")
    for reply in (speakers, microphones, voices, wake_words):
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/json"
    assert isinstance(speakers.json(), dict) and isinstance(microphones.json(), dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in speakers.json().items())
    assert voices.json() and {"voiceId", "description"} == set(voices.json()[0])
    assert wake_words.json() and {"modelId", "modelWords", "modelVersion", "modelType"} == set(wake_words.json()[0])


async def test_device_endpoints_name_the_missing_service(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, reply_timeout=0.5) as bridge, http(bridge) as client:
        replies = {name: await client.get(f"/api/{path}") for name, path in [
            ("audio-output", "speakers"), ("audio-input", "test-microphones"), ("tts", "tts-voices"),
            ("wake", "wake-words")]}
    for service, reply in replies.items():
        assert reply.status_code == 503 and f"the {service} service" in reply.text


async def test_play_wav_volume_and_wake_toggles(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(HotwordToggleOff.subscribe_filter(), HotwordToggleOn.subscribe_filter(),
                                AsrToggleOff.subscribe_filter(), AsrToggleOn.subscribe_filter(),
                                AudioSetVolume.subscribe_filter())
    wav = pcm_to_wav(b"\x10\x00" * 1600)
    (profile_dir / "sounds").mkdir()
    (profile_dir / "sounds" / "beep.wav").write_bytes(wav)
    common = make_common(mqtt_broker, profile_dir)
    async with running(AudioOutputPeer(common)) as output, run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        played = await client.post("/api/play-wav", content=wav, params={"siteId": f"{site_id},{site_id}-2"},
                                   headers={"Content-Type": "audio/wav"})
        by_path = await client.post("/api/play-wav", content="sounds/beep.wav", params={"siteId": site_id})
        absolute = await client.post("/api/play-wav", content=str(profile_dir / "sounds" / "beep.wav"))
        outside = await client.post("/api/play-wav", content="/etc/hostname")
        url = await client.post("/api/play-wav", content="http://example.com/x.wav")
        volume = await client.post("/api/set-volume", content="0.25", params={"siteId": ""})
        too_loud = await client.post("/api/set-volume", content="2")
        nothing = await client.post("/api/play-recording")
        bridge.remember_recording(wav)
        replayed = await client.post("/api/play-recording")
        off = await client.post("/api/listen-for-wake", content="off", params={"siteId": site_id})
        on = await client.post("/api/listen-for-wake", content="on", params={"siteId": site_id})
        await mqtt_client.expect(HotwordToggleOn, where=lambda m: m.site_id == site_id and m.reason == "")
        await mqtt_client.expect(AudioSetVolume)
    assert played.text == "OK" and by_path.text == "OK" and absolute.text == "OK"
    assert nothing.status_code == 404 and replayed.text == "OK"
    assert sorted(m.site_id for m in output.played) == sorted([site_id, f"{site_id}-2", site_id, "default",
                                                               "default"])
    assert all(m.wav_bytes == wav for m in output.played)
    assert outside.status_code == 400 and url.status_code == 400
    reasons = [m.reason for m in mqtt_client.received(HotwordToggleOff, where=lambda m: m.site_id == site_id)]
    assert reasons[:2] == ["playAudio", "playAudio"] and "" in reasons
    assert mqtt_client.received(AsrToggleOn, where=lambda m: m.site_id == site_id and m.reason == "playAudio")
    assert volume.text == "0.25" and too_loud.status_code == 400
    assert mqtt_client.received(AudioSetVolume)[0].site_id == "default"  # empty siteId: own site, not ""
    assert (off.text, on.text) == ("off", "on")


async def test_lookup_and_pronounce(mqtt_broker, profile_dir):
    common = make_common(mqtt_broker, profile_dir)
    async with running(AsrService(common, AsrSettings())), running(AudioOutputPeer(common)) as output, \
            run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        known = await client.post("/api/lookup", content="Light")
        guessed = await client.post("/api/lookup", content="hermeshy", params={"n": "2"})
        hermes = await client.post("/api/lookup", content="light", params={"outputFormat": "hermes"})
        two = await client.post("/api/lookup", content="two words")
        download = await client.post("/api/pronounce", content="l'aIt", params={"download": "true"})
        spoken = await client.post("/api/pronounce", content="hello", params={"type": "word"})
    assert known.json()["in_dictionary"] is True
    assert "L AY T" in known.json()["pronunciations"] and known.json()["phonemes"]
    assert guessed.json()["in_dictionary"] is False and 1 <= len(guessed.json()["pronunciations"]) <= 2
    assert hermes.json()["type"] == "phonemes" and "light" in hermes.json()["value"]["wordPhonemes"]
    assert two.status_code == 400
    assert download.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(download.content)) as wav:
        assert wav.getnframes() > 100
    assert spoken.text == "OK" and len(output.played) == 1


async def test_audio_summaries_toggle_and_socket(mqtt_broker, profile_dir, mqtt_client, site_id):
    from hermes.audioserver import AudioSummary, SummaryToggleOff, SummaryToggleOn

    from .harness import next_json, wait_subscribers, websocket

    await mqtt_client.subscribe(SummaryToggleOn.subscribe_filter(), SummaryToggleOff.subscribe_filter())
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client, \
            websocket(bridge, "/api/events/audiosummary") as socket:
        await wait_subscribers(bridge, "audiosummary")
        on = await client.post("/api/audio-summaries", content="on", params={"siteId": site_id})
        await mqtt_client.expect(SummaryToggleOn, where=lambda m: m.site_id == site_id)
        for energy in (10.0, 40.0, 20.0):
            await mqtt_client.publish(AudioSummary(site_id=site_id, debiased_energy=energy, is_speech=False))
        frames = [await next_json(socket) for _ in range(3)]
        off = await client.post("/api/audio-summaries", content="off", params={"siteId": site_id})
        await mqtt_client.expect(SummaryToggleOff, where=lambda m: m.site_id == site_id)
    assert (on.text, off.text) == ("on", "off")
    assert frames[-1] == {"current_energy": 20.0, "max_energy": 40.0, "min_energy": 10.0, "max_current_ratio": 2.0}
    assert frames[0]["max_current_ratio"] == 1.0


async def test_device_tests_refuse_bad_input_with_400_and_foreign_pages_with_403(mqtt_broker, profile_dir):
    """POST /api/test-microphone and /api/test-speaker (the web UI's device test) check what they are given before
    anything records or plays, and follow the Origin rule of every state-changing request."""
    common = make_common(mqtt_broker, profile_dir)
    wav = pcm_to_wav(b"\x10\x00" * 1600)
    async with running(AudioOutputService(common, AudioOutputSettings())), \
            running(AudioInputService(common, AudioInputSettings())), \
            run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        microphones = (await client.get("/api/microphones")).json()
        replies = {
            "zero seconds": await client.post("/api/test-microphone", params={"device": "0", "seconds": "0"}),
            "too long": await client.post("/api/test-microphone", params={"device": "0", "seconds": "11"}),
            "nan": await client.post("/api/test-microphone", params={"device": "0", "seconds": "nan"}),
            "no device": await client.post("/api/test-microphone"),
            "unknown microphone": await client.post("/api/test-microphone", params={"device": "nope"}),
            "not a wav": await client.post("/api/test-speaker", params={"device": "0"}, content=b"hello",
                                           headers={"Content-Type": "audio/wav"}),
            "unknown speaker": await client.post("/api/test-speaker", params={"device": "nope"}, content=wav,
                                                 headers={"Content-Type": "audio/wav"}),
        }
        foreign = await client.post("/api/test-microphone", params={"device": "0"},
                                    headers={"Origin": "http://evil.example"})
    for case, reply in replies.items():
        assert reply.status_code == 400, (case, reply.text)
    assert "at most 10" in replies["too long"].text and "more than 0" in replies["zero seconds"].text
    assert "query parameter device is missing" in replies["no device"].text
    assert "'nope' is not a microphone" in replies["unknown microphone"].text
    assert all(device in replies["unknown microphone"].text for device in microphones)  # names the choices
    assert "not a WAV file" in replies["not a wav"].text
    assert "'nope' is not a speaker" in replies["unknown speaker"].text
    assert foreign.status_code == 403 and "Origin" in foreign.text
