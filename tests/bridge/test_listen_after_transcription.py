"""HTTP transcriptions on a site, then a voice command on the same site, round after round, through the real
mesh (bridge, ASR, NLU, dialogue manager): a finished HTTP session must leave nothing behind for the next one.

The audio of the command is fed once the dialogue's own session listens (its startListening, matched by the
session id of its sessionStarted). The HTTP transcriptions publish startListening on the same site first: a
test that took "the first startListening of the site" got theirs and spoke before the dialogue listened (the
empty command of tests/bridge/test_rhasspy_client_library.py)."""

from __future__ import annotations

import asyncio
import os

from hermes.asr import AsrStartListening
from hermes.audioserver import AudioFrame
from hermes.dialogue import DialogueSessionStarted
from hermes.wav import wav_chunks
from services.dialogue.service import DialogueService
from tests.conftest import make_common, running

from .harness import http
from .mesh import mesh
from .speech import spoken_pcm, spoken_wav

ROUNDS = int(os.environ.get("HERMESH_STRESS_ROUNDS", "5"))  # more under load: HERMESH_STRESS_ROUNDS=20


async def test_voice_commands_after_http_transcriptions_on_the_same_site(mqtt_broker, profile_dir, mqtt_client,
                                                                          site_id):
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter(), DialogueSessionStarted.subscribe_filter())
    commands, transcripts, http_sessions = [], [], set()
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True, output=True) as bridge, \
            running(DialogueService(make_common(mqtt_broker, profile_dir))), http(bridge) as client:
        done: set[str] = set()
        for _ in range(ROUNDS):
            heard = await client.post("/api/speech-to-text", params={"siteId": site_id, "outputFormat": "hermes"},
                                      content=spoken_wav("what time is it"))
            assert heard.status_code == 200, heard.text
            transcripts.append(heard.json()["value"]["text"])
            http_sessions.add(heard.json()["value"]["sessionId"])
            recognised = await client.post("/api/speech-to-intent", params={"siteId": site_id},
                                           content=spoken_wav("tell me the time"))
            assert recognised.status_code == 200, recognised.text
            transcripts.append(recognised.json()["text"])

            command = asyncio.create_task(client.post("/api/listen-for-command", params={
                "siteId": site_id, "nohass": "true", "timeout": "30"}))
            started = await mqtt_client.expect(
                DialogueSessionStarted, where=lambda m: m.site_id == site_id and m.session_id not in done, timeout=30)
            session = started.session_id
            done.add(session)
            listening = await mqtt_client.expect(
                AsrStartListening, where=lambda m, session=session: m.session_id == session, timeout=30)
            assert listening.stop_on_silence
            for chunk in wav_chunks(spoken_pcm("what time is it"), 1024):
                await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
            reply = await asyncio.wait_for(command, 60)
            assert reply.status_code == 200, reply.text
            commands.append((reply.json()["intent"]["name"], reply.json()["text"]))
    assert transcripts == ["what time is it", "tell me the time"] * ROUNDS
    assert commands == [("GetTime", "what time is it")] * ROUNDS
    # each HTTP transcription asked for listening once, on its own session (nothing published twice)
    starts = mqtt_client.received(AsrStartListening, where=lambda m: m.site_id == site_id)
    assert len(starts) == len({s.session_id for s in starts}) == 3 * ROUNDS
    assert http_sessions.isdisjoint(done)
