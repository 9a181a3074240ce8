"""Dialogue sessions when a service they wait on dies by ``kill -9``, or the broker restarts (issue 19, §4).

The dialogue manager runs in-process; ASR, NLU and TTS are real processes. Every session must end with a
reason (here ``error``, with the cause in ``termination.error``); none may stay open.
"""

from __future__ import annotations

import time

import pytest

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.dialogue import DialogueAction, DialogueSessionEnded, DialogueStartSession
from hermes.hotword import HotwordToggleOn
from hermes.nlu import NluQuery
from hermes.status import DialogueOpenSessions
from hermes.tts import TtsSay
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from tests.conftest import HermesTestClient

from .processes import ServiceProcess, settle

SESSIONS = 4
LOOSE_BOUND = 10.0  # "within 2 s" in the issue; loose here so a loaded machine cannot make it flaky

# service killed -> what the sessions wait for when it dies
WAITING = {"asr": AsrStartListening, "nlu": NluQuery, "tts": TtsSay}
DOING = {"asr": "listening", "nlu": "recognising", "tts": "speaking"}


async def open_sessions(client: HermesTestClient, sites: list[str], service: str) -> dict[str, str]:
    """One session per site, each brought to the point where it waits on ``service``; site -> session id."""
    text = "one moment please" if service == "tts" else None
    for site in sites:
        await client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True, text=text), site_id=site))
    sessions = {}
    for site in sites:
        listening = await client.expect(AsrStartListening if service != "tts" else TtsSay,
                                        where=lambda m, site=site: m.site_id == site)
        assert listening.session_id is not None
        sessions[site] = listening.session_id
    if service == "nlu":  # as the ASR would: the transcript moves the session on to the NLU
        for site, session in sessions.items():
            await client.publish(AsrTextCaptured(text="what time is it", likelihood=1.0, seconds=1.0, site_id=site,
                                                 session_id=session))
    for site in sites:
        await client.expect(WAITING[service], where=lambda m, site=site: m.site_id == site)
    return sessions


@pytest.mark.parametrize("service", ["asr", "nlu", "tts"])
async def test_sessions_waiting_on_a_killed_service_end_with_error(
        service, run_service, mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    process = ServiceProcess(service, mqtt_broker, profile_dir, tmp_path)
    sites = [f"{site_id}-{i}" for i in range(SESSIONS)]
    await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), AsrStartListening.subscribe_filter(),
                                NluQuery.subscribe_filter(), TtsSay.subscribe_filter())
    try:
        await process.start(mqtt_client)
        async with run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False)) as dialogue:
            process.pause()  # it takes the requests but answers none: the sessions stay waiting on it
            sessions = await open_sessions(mqtt_client, sites, service)
            await settle()
            killed = time.monotonic()
            process.kill()
            for site, session in sessions.items():
                end = await mqtt_client.expect(DialogueSessionEnded, where=lambda m, s=session: m.session_id == s)
                assert end.termination.reason == "error"
                assert end.termination.error == f"the {service} service went offline while the session was " \
                                                f"{DOING[service]}"
                assert dialogue.engine.active_session(site) is None
            assert time.monotonic() - killed < LOOSE_BOUND
    finally:
        process.stop()


async def test_sessions_across_a_broker_restart_end_with_error_once_it_is_back(
        run_service, mqtt_broker, mqtt_client, site_id):
    sites = [f"{site_id}-{i}" for i in range(SESSIONS)]
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter())
    async with run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False)) as dialogue:
        sessions = await open_sessions(mqtt_client, sites, "asr")  # listening; nothing will ever answer
        mqtt_broker.stop()
        mqtt_broker.start()
        async with HermesTestClient(mqtt_broker) as client:
            await client.subscribe(DialogueSessionEnded.subscribe_filter())
            for session in sessions.values():
                end = await client.expect(DialogueSessionEnded, where=lambda m, s=session: m.session_id == s)
                assert end.termination.reason == "error" and "broker" in (end.termination.error or "")
        assert all(dialogue.engine.active_session(site) is None for site in sites)
        assert dialogue.connections == 2
        # resubscribed: a new session works as before
        async with HermesTestClient(mqtt_broker) as client:
            await client.subscribe(AsrStartListening.subscribe_filter())
            await client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True), site_id=sites[0]))
            await client.expect(AsrStartListening, where=lambda m: m.site_id == sites[0])


async def test_sessions_of_a_killed_dialogue_manager_are_ended_by_the_next_one(
        mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    sites = [f"{site_id}-{i}" for i in range(SESSIONS)]
    dialogue = ServiceProcess("dialogue", mqtt_broker, profile_dir, tmp_path, "--instance", site_id)
    await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), AsrStartListening.subscribe_filter(),
                                HotwordToggleOn.subscribe_filter(), DialogueOpenSessions.subscribe_filter())
    try:
        await dialogue.start(mqtt_client)
        sessions = await open_sessions(mqtt_client, sites, "asr")
        # the retained record lists them all (it is written after each change)
        await mqtt_client.expect(DialogueOpenSessions, where=lambda m: m.instance == site_id and
                                 {s.session_id for s in m.sessions} == set(sessions.values()))
        await dialogue.killed_offline(mqtt_client)
        mqtt_client.clear()
        await dialogue.start(mqtt_client)  # as `hermesh up` restarts it
        for site, session in sessions.items():
            end = await mqtt_client.expect(DialogueSessionEnded, where=lambda m, s=session: m.session_id == s)
            assert end.termination.reason == "error" and "dialogue manager" in (end.termination.error or "")
            await mqtt_client.expect(HotwordToggleOn, where=lambda m, site=site: m.site_id == site)
        # the record is empty again, so a second restart ends nothing twice
        await mqtt_client.expect(DialogueOpenSessions, where=lambda m: m.instance == site_id and not m.sessions)
    finally:
        dialogue.stop()
