"""Every call of rhasspy-client 1.1.1's RhasspyClient class against the bridge with the real services behind it
(issue 14): sentences, slots, custom words, lookup, profile, train, text/speech/stream to text and intent,
text to speech, wake-up-and-wait through the real dialogue manager, and restart."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from rhasspyclient import RhasspyClient
from rhasspyclient.speech import TranscriptionResult
from rhasspyclient.train import TrainingResult

from hermes.asr import AsrStartListening
from hermes.audioserver import AudioFrame
from hermes.dialogue import DialogueSessionStarted
from hermes.status import ServiceRestart
from hermes.wav import wav_chunks
from services.dialogue.service import DialogueService
from tests.conftest import make_common, running

from .mesh import mesh
from .speech import spoken_pcm, spoken_wav

SENTENCES = {
    "GetTime": ["what time is it", "tell me the time"],
    "SetColor": ["make it ($color){color}"],
}


async def test_every_rhasspy_client_call(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter(), DialogueSessionStarted.subscribe_filter(),
                                ServiceRestart.subscribe_filter())
    async with mesh(mqtt_broker, profile_dir, asr=True, tts=True, output=True, site_ids=[site_id]) as bridge, \
            running(DialogueService(make_common(mqtt_broker, profile_dir))), \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        client = RhasspyClient(f"{bridge.base_url}/api", session)
        version = await client.version()

        wrote_sentences = await client.set_sentences(SENTENCES)
        sentences_ini = (profile_dir / "sentences.ini").read_text()
        with pytest.raises(ValueError, match="unpack"):
            # 1.1.1 unpacks each configparser key as (key, value): it fails on any sentence longer than two
            # characters, against Rhasspy too. The bridge answered the ini; the client's parser cannot read it.
            await client.get_sentences()

        wrote_slots = await client.set_slots({"color": ["red", "zorblat"]}, overwrite=True)
        merged_slots = await client.set_slots({"color": ["teal"]}, overwrite=False)
        slots = await client.get_slots()

        wrote_words = await client.set_custom_words({"zorblat": {"Z AO R B L AE T"}, "teal": "T IY L"})
        words = await client.get_custom_words()
        in_dictionary, pronunciations = await client.get_pronunciations("light", n=2)

        profile = await client.get_profile(defaults=False)
        full_profile = await client.get_profile(defaults=True)
        wrote_profile = await client.set_profile({**profile, "nlu": {"fuzzy": False}})
        profile_after = await client.get_profile(defaults=False)

        trained = await client.train(no_cache=True)
        intent = await client.text_to_intent("make it zorblat")
        transcription = await client.speech_to_text(spoken_wav("what time is it"))
        streamed = await client.stream_to_text(spoken_pcm("tell me the time"))  # type: ignore[arg-type]
        speech = await client.text_to_speech("hello from the bridge")

        # The command is spoken once the dialogue's own session listens: the transcriptions above published
        # startListening on this site too, and speaking at the first one of the site (theirs, already received)
        # put the audio before the wake-up, so the dialogue's session heard nothing.
        woken = asyncio.create_task(client.wakeup_and_wait(handle_intent=False))
        started = await mqtt_client.expect(DialogueSessionStarted, where=lambda m: m.site_id == site_id, timeout=30)
        await mqtt_client.expect(AsrStartListening, where=lambda m: m.session_id == started.session_id, timeout=30)
        for chunk in wav_chunks(spoken_pcm("what time is it"), 1024):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
        command = await asyncio.wait_for(woken, 60)

        restarted = await client.restart()  # last: the services it asks to restart leave the broker
        restart = await mqtt_client.expect(ServiceRestart, timeout=10)

    assert version == "2.5.11"
    assert wrote_sentences.startswith("Wrote ") and "[SetColor]\nmake it ($color){color}" in sentences_ini
    assert wrote_slots == "OK" and merged_slots == "OK"
    assert slots["color"] == ["red", "zorblat", "teal"]
    assert wrote_words.startswith("Wrote 2 line(s)")
    assert words == {"teal": {"T IY L"}, "zorblat": {"Z AO R B L AE T"}}
    assert in_dictionary is True and "L AY T" in pronunciations
    assert "language" in full_profile and "bridge" in full_profile
    assert wrote_profile.startswith("Wrote profile to ")
    assert profile_after["nlu"] == {"fuzzy": False}
    assert json.loads((profile_dir / "profile.json").read_text())["nlu"] == {"fuzzy": False}
    assert trained.result == TrainingResult.SUCCESS, trained.errors
    assert intent["intent"]["name"] == "SetColor" and intent["slots"] == {"color": "zorblat"}
    assert transcription.result == TranscriptionResult.SUCCESS and transcription.text == "what time is it"
    assert streamed == "tell me the time"
    assert speech[:4] == b"RIFF"
    assert command["intent"]["name"] == "GetTime" and command["text"] == "what time is it", command
    assert restarted == "Restarted Rhasspy" and "nlu" in restart.services
