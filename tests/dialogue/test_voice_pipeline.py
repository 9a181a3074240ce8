"""One spoken command through the real services: wake (pocketsphinx), dialogue, ASR (pocketsphinx), NLU, TTS.

Speech is espeak-ng audio streamed as audioFrames; only the speaker is scripted (it answers playBytes).
"""

from __future__ import annotations

from pathlib import Path

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioFrame
from hermes.dialogue import DialogueEndSession, DialogueSessionEnded
from hermes.nlu import NluIntent
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import pcm_to_wav
from services.asr.service import AsrService, AsrSettings
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from services.nlu.service import NluService
from services.nlu.settings import NluSettings
from services.nlu.training import train_profile
from services.tts.service import TtsService
from services.wake.service import WakeService
from services.wake.settings import PocketsphinxWakeSettings, WakePhraseSettings, WakeSettings
from tests.asr.profiles import write_profile
from tests.asr.speech import frames, noise_only, utterance

from .peers import ScriptedAudioOutput

WAKE = WakeSettings(pocketsphinx=PocketsphinxWakeSettings(
    phrases=[WakePhraseSettings(phrase="bumblebee", threshold=1e-30)]))


async def stream(client, site_id: str, pcm: bytes) -> None:
    for chunk in frames(pcm):
        await client.publish(AudioFrame(site_id=site_id, wav_bytes=pcm_to_wav(chunk)))


async def test_spoken_command_with_real_wake_asr_nlu_and_tts(run_service, mqtt_client, site_id, tmp_path: Path):
    profile = write_profile(tmp_path / "profile")
    train_profile(profile)  # what `hermesh train` does before the services start
    sites = [site_id]
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter(), AsrTextCaptured.subscribe_filter(),
                                NluIntent.subscribe_filter(), TtsSay.subscribe_filter(),
                                TtsSayFinished.subscribe_filter(), DialogueSessionEnded.subscribe_filter())
    async with run_service(ScriptedAudioOutput, site_ids=sites) as speaker, \
            run_service(WakeService, settings=WAKE, profile=profile, site_ids=sites), \
            run_service(AsrService, settings=AsrSettings(), profile=profile, site_ids=sites), \
            run_service(NluService, settings=NluSettings(), profile=profile, site_ids=sites), \
            run_service(TtsService, profile=profile, site_ids=sites), \
            run_service(DialogueService, settings=DialogueSettings(), profile=profile, site_ids=sites):
        await stream(mqtt_client, site_id, utterance("bumblebee") + noise_only(0.5))
        # the microphone streams on; what is said after the wake beep is the command
        listen = await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id, timeout=60)
        await stream(mqtt_client, site_id, utterance("turn on the kitchen light"))
        captured = await mqtt_client.expect(AsrTextCaptured, where=lambda m: m.session_id == listen.session_id,
                                            timeout=60)
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.session_id == listen.session_id, timeout=30)
        await mqtt_client.publish(DialogueEndSession(session_id=intent.session_id, text="The kitchen light is on"))
        ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.session_id == intent.session_id,
                                         timeout=30)
    assert captured.text == "turn on the kitchen light"
    assert intent.intent_name == "ChangeLightState" and intent.custom_data == "bumblebee"
    assert {s.slot_name: s.value["value"] for s in intent.slots or []} == {"state": "on", "name": "kitchen light"}
    assert ended.termination.reason == "nominal"
    # wake beep, recorded beep and the spoken reply, all on the session's site
    assert len(speaker.played) == 3 and {p.site_id for p in speaker.played} == {site_id}
