"""The dialogue manager on a real broker with the real TTS service and scripted audio-output/ASR/NLU peers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from hermes.asr import AsrStartListening
from hermes.base import HermesMessage, HermesProtocolError
from hermes.dialogue import (
    DialogueAction,
    DialogueContinueSession,
    DialogueEndSession,
    DialogueNotification,
    DialogueSessionEnded,
    DialogueSessionQueued,
    DialogueSessionStarted,
    DialogueStartSession,
)
from hermes.errors import DialogueError
from hermes.errors import NluError as NluErrorMessage
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluTrain, NluTrainSuccess
from hermes.registry import parse
from hermes.status import ServiceStatus
from hermes.tts import TtsSay
from hermes.wav import wav_info
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from services.nlu.service import NluService
from services.tts.service import TtsService

from .engine_helpers import name
from .known_intents import dialogue_known_intents
from .peers import PeerSettings, ScriptedAsr, ScriptedAudioOutput, ScriptedNlu

REPO = Path(__file__).resolve().parents[2]


def timeline(client, site_id: str) -> list[str]:
    """Names of the messages seen for one site, in arrival order (toggles, session, ASR, NLU, TTS, audio)."""
    seen = []
    previous = None
    for topic, payload in client._inbox:
        if (topic, payload) == previous:
            continue  # overlapping subscriptions ("hermes/#" and expect's own filter) deliver twice
        previous = (topic, payload)
        try:
            message: HermesMessage = parse(topic, payload)
        except (HermesProtocolError, KeyError, ValueError):
            continue
        if getattr(message, "site_id", None) == site_id:
            seen.append(name(message))
    return seen


def wake(site_id: str, wakeword: str = "porcupine") -> HotwordDetected:
    return HotwordDetected(model_id=wakeword, site_id=site_id, wakeword_id=wakeword)


@contextlib.asynccontextmanager
async def mesh(run_service, site_ids, dialogue=None, peers=None, tts=False, asr=True, nlu=True):
    """The DM plus the peers a voice command needs, all on the test broker; yields the speaker peer."""
    async with contextlib.AsyncExitStack() as stack:
        speaker = await stack.enter_async_context(run_service(ScriptedAudioOutput, site_ids=site_ids))
        if asr:
            await stack.enter_async_context(run_service(ScriptedAsr, settings=peers or PeerSettings(), site_ids=site_ids))
        if nlu:
            await stack.enter_async_context(run_service(ScriptedNlu, settings=peers or PeerSettings(), site_ids=site_ids))
        if tts:
            await stack.enter_async_context(run_service(TtsService, site_ids=site_ids))
        await stack.enter_async_context(
            run_service(DialogueService, settings=dialogue or DialogueSettings(), site_ids=site_ids))
        yield speaker


async def test_voice_command_from_wake_word_to_spoken_reply(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe("hermes/#")
    async with mesh(run_service, [site_id], tts=True) as speaker:
        await mqtt_client.publish(wake(site_id))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.site_id == site_id, timeout=20)
        # the app's part: answer the intent by ending the session with a text
        await mqtt_client.publish(DialogueEndSession(session_id=intent.session_id, text="The light is on"))
        ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == site_id, timeout=30)
    assert ended.termination.reason == "nominal" and ended.session_id == intent.session_id
    assert intent.custom_data == "porcupine" and intent.intent_name == "LightOn"
    assert timeline(mqtt_client, site_id) == [
        "HotwordDetected",
        "sessionStarted", "hotwordOff:dialogueSession",
        "hotwordOff:playAudio", "asrOff:playAudio", "playBytes", "AudioPlayFinished",
        "hotwordOn:playAudio", "asrOn:playAudio", "startListening", "AsrTextCaptured",
        "stopListening", "hotwordOff:playAudio", "asrOff:playAudio", "playBytes", "AudioPlayFinished",
        "hotwordOn:playAudio", "asrOn:playAudio", "hotwordOn:dialogueSession", "nluQuery", "NluIntent",
        "hotwordOff:ttsSay", "asrOff:ttsSay", "say", "playBytes", "AudioPlayFinished", "TtsSayFinished",
        "hotwordOn:ttsSay", "asrOn:ttsSay", "sessionEnded:nominal", "hotwordOn:dialogueSession",
    ]
    # wake beep, recorded beep, then real espeak-ng speech, all on the session's own site
    assert [p.site_id for p in speaker.played] == [site_id] * 3
    assert wav_info(speaker.played[2].wav_bytes).seconds > wav_info(speaker.played[0].wav_bytes).seconds


async def test_continue_session_then_not_recognized_ends_the_session(run_service, mqtt_client, site_id):
    peers = PeerSettings(transcripts=["turn on the light", "open the pod bay doors"])
    async with mesh(run_service, [site_id], peers=peers, dialogue=DialogueSettings(sounds_enabled=False)):
        await mqtt_client.subscribe("hermes/#")
        await mqtt_client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True), site_id=site_id,
                                                       custom_data="app-1"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.site_id == site_id)
        assert intent.custom_data == "app-1"
        await mqtt_client.publish(DialogueContinueSession(session_id=intent.session_id, custom_data="app-2"))
        ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == site_id)
    assert ended.termination.reason == "intentNotRecognized" and ended.custom_data == "app-2"


async def test_a_continue_session_naming_another_site_continues_its_session(run_service, mqtt_client, site_id):
    """continueSession is tied to its sessionId: rhasspy-hermes 0.3 sends siteId "default" in it, a site this
    dialogue manager does not even serve. The raw JSON goes on the wire, as DialogueContinueSession has no siteId
    field (and the models ignore extra fields), so a test through the model would pass whatever the code did."""
    livingroom, satellite = f"livingroom-{site_id}", f"satellite1-{site_id}"
    sites = [livingroom, satellite]
    peers = PeerSettings(transcripts=["what time is it", "open the pod bay doors"])
    async with run_service(NluService, site_ids=sites), \
            mesh(run_service, sites, peers=peers, dialogue=DialogueSettings(sounds_enabled=False), tts=True,
                 nlu=False):
        await mqtt_client.subscribe("hermes/#")
        await mqtt_client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True), site_id=satellite,
                                                       custom_data="app"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.site_id == satellite, timeout=20)
        await mqtt_client.publish_raw(DialogueContinueSession(session_id=intent.session_id).topic(), json.dumps({
            "sessionId": intent.session_id, "siteId": "default", "text": "Which clock?", "customData": "done"}))
        ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.session_id == intent.session_id,
                                         timeout=30)
    assert intent.intent_name == "GetTime"  # the real NLU, on the ASR peer's first transcript
    said = mqtt_client.received(TtsSay, where=lambda m: m.session_id == intent.session_id)
    assert [(m.text, m.site_id) for m in said] == [("Which clock?", satellite)]
    listened = mqtt_client.received(AsrStartListening, where=lambda m: m.session_id == intent.session_id)
    assert [m.site_id for m in listened] == [satellite, satellite]  # the second: after the continue was spoken
    not_recognized = mqtt_client.received(NluIntentNotRecognized, where=lambda m: m.session_id == intent.session_id)
    assert not_recognized and not_recognized[0].input == "open the pod bay doors"
    assert (ended.site_id, ended.termination.reason, ended.custom_data) == (satellite, "intentNotRecognized", "done")
    assert not mqtt_client.received(DialogueError, where=lambda m: m.session_id == intent.session_id)
    assert not mqtt_client.received(DialogueSessionStarted, where=lambda m: m.site_id in (livingroom, "default"))


async def test_the_known_intents_follow_the_nlus_successful_trainings_only(run_service, mqtt_client, site_id,
                                                                           profile_dir):
    """The dialogue manager takes the intents of a training when the real NLU answers it with trainSuccess: one
    the NLU refuses changes nothing, and the files on disk (never changed here) are not what it follows."""
    sentences = (profile_dir / "sentences.ini").read_text()
    broken = NluTrain(id="train-broken", sentences={"sentences.ini": sentences + "\n[Broken]\nturn on (the light\n"})
    good = NluTrain(id="train-good", sentences={"sentences.ini": sentences + "\n[GetWeather]\nhow is the weather\n"})
    async with run_service(NluService), \
            run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False), site_ids=[site_id]):
        before = await dialogue_known_intents(mqtt_client, site_id, "before")
        await mqtt_client.publish(broken)
        await mqtt_client.expect(NluErrorMessage, where=lambda m: m.context == "train-broken")
        after_refusal = await dialogue_known_intents(mqtt_client, site_id, "after refusal")
        await mqtt_client.publish(good)
        await mqtt_client.expect(NluTrainSuccess, where=lambda m: m.id == "train-good")
        after_success = await dialogue_known_intents(mqtt_client, site_id, "after success")
    assert "GetTime" in before and before == after_refusal and "Broken" not in after_refusal
    assert after_success == before | {"GetWeather"}


async def test_timeouts_end_sessions_when_peers_stay_silent(run_service, mqtt_client, site_id):
    listening, handling = site_id + "-listen", site_id + "-handle"
    settings = DialogueSettings(sounds_enabled=False, session_timeout=0.5, handler_timeout=0.5)
    async with run_service(ScriptedNlu, site_ids=[handling]), \
            run_service(ScriptedAsr, site_ids=[handling]), \
            run_service(DialogueService, settings=settings, site_ids=[listening, handling]):
        await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), NluIntent.subscribe_filter())
        await mqtt_client.publish(wake(listening))  # no ASR serves this site: the listening wait expires
        await mqtt_client.publish(wake(handling))  # nobody answers the intent: the handler wait expires
        first = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == listening)
        second = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == handling)
    assert first.termination.reason == second.termination.reason == "timeout"
    assert mqtt_client.received(NluIntent, where=lambda m: m.site_id == handling)


async def test_two_sites_at_once_each_driven_on_its_own_topics(run_service, mqtt_client, site_id):
    base, satellite = site_id + "-base", site_id + "-satellite"
    async with mesh(run_service, [base, satellite]) as speaker:
        await mqtt_client.subscribe(NluIntent.subscribe_filter(), DialogueSessionEnded.subscribe_filter())
        await mqtt_client.publish(wake(base))
        await mqtt_client.publish(wake(satellite, "jarvis"))
        intents = {}
        for site in (base, satellite):
            intents[site] = await mqtt_client.expect(NluIntent, where=lambda m, s=site: m.site_id == s)
        assert intents[base].session_id != intents[satellite].session_id
        assert intents[satellite].session_id.startswith(f"{satellite}-jarvis-")
        for intent in intents.values():
            await mqtt_client.publish(DialogueEndSession(session_id=intent.session_id))
        for site in (base, satellite):
            ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m, s=site: m.site_id == s)
            assert ended.termination.reason == "nominal"
    by_site = {site: [p for p in speaker.played if p.site_id == site] for site in (base, satellite)}
    assert len(by_site[base]) == len(by_site[satellite]) == 2  # wake + recorded beep on each site's speaker
    assert all(p.topic().startswith(f"hermes/audioServer/{satellite}/playBytes/") for p in by_site[satellite])


async def test_snips_feedback_sound_toggle_silences_one_site(run_service, mqtt_client, site_id):
    async with mesh(run_service, [site_id]) as speaker:
        await mqtt_client.subscribe(NluIntent.subscribe_filter(), DialogueSessionEnded.subscribe_filter())
        # one publisher's messages arrive in order, and the toggle is applied as it arrives
        await mqtt_client.publish_raw("hermes/feedback/sound/toggleOff", f'{{"siteId": "{site_id}"}}')
        await mqtt_client.publish(wake(site_id))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.site_id == site_id)
        await mqtt_client.publish(DialogueEndSession(session_id=intent.session_id))
        await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == site_id)
        assert speaker.played == []
        await mqtt_client.publish_raw("hermes/feedback/sound/toggleOn", f'{{"siteId": "{site_id}"}}')
        await mqtt_client.publish(wake(site_id))
        second = await mqtt_client.expect(NluIntent, where=lambda m: m.session_id != intent.session_id)
        await mqtt_client.publish(DialogueEndSession(session_id=second.session_id))
    assert len(speaker.played) == 2  # wake and recorded beeps are back


async def test_notification_and_queued_action_with_real_tts(run_service, mqtt_client, site_id):
    async with mesh(run_service, [site_id], tts=True, dialogue=DialogueSettings(sounds_enabled=False)):
        await mqtt_client.subscribe("hermes/dialogueManager/#", NluIntent.subscribe_filter())
        await mqtt_client.publish(DialogueStartSession(init=DialogueNotification(text="The timer is done"),
                                                       site_id=site_id, custom_data="timer"))
        await mqtt_client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True), site_id=site_id,
                                                       custom_data="queued"))
        queued = await mqtt_client.expect(DialogueSessionQueued, where=lambda m: m.site_id == site_id)
        first = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.custom_data == "timer")
        assert first.termination.reason == "nominal"
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.session_id == queued.session_id)
        await mqtt_client.publish(DialogueEndSession(session_id=intent.session_id))
        await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.session_id == queued.session_id)
    started = mqtt_client.received(DialogueSessionStarted, where=lambda m: m.site_id == site_id)
    assert [s.custom_data for s in started] == ["timer", "queued"]


async def test_hermesh_dialogue_runs_as_its_own_process(mqtt_broker, mqtt_client, site_id, profile_dir):
    await mqtt_client.subscribe(ServiceStatus.subscribe_filter(), "hermes/dialogueManager/#", TtsSay.subscribe_filter())
    hermesh = Path(sys.executable).parent / "hermesh"
    process = subprocess.Popen(
        [str(hermesh), "dialogue", "--profile", str(profile_dir), "--mqtt-port", str(mqtt_broker.port),
         "--site-id", site_id, "--instance", site_id, "--set", "say_min_timeout=0.3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        await mqtt_client.expect(ServiceStatus, timeout=30,
                                 where=lambda m: m.service == "dialogue" and m.instance == site_id
                                 and m.status == "online")
        await mqtt_client.publish(DialogueStartSession(init=DialogueNotification(text="hello"), site_id=site_id))
        await mqtt_client.expect(TtsSay, where=lambda m: m.site_id == site_id and m.text == "hello")
        # no TTS runs here: the wait for sayFinished expires and the session still ends
        ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == site_id)
        assert ended.termination.reason == "nominal"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
