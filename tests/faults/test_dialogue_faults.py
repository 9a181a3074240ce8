"""Dialogue sessions when a service they wait on dies by ``kill -9``, or the broker restarts (issue 19, §4).

The dialogue manager runs in-process; ASR, NLU, TTS, the intent handler and an app are real processes. Every
session must end with a reason (here ``error``, with the cause in ``termination.error``); none may stay open.
Ending by the session's own timeout (10-30 s) fails these tests: each ``expect`` gives up after 10 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.dialogue import DialogueAction, DialogueSessionEnded, DialogueStartSession
from hermes.hotword import HotwordToggleOn
from hermes.nlu import Intent, NluIntent, NluQuery
from hermes.status import DialogueOpenSessions
from hermes.tts import TtsSay
from services.dialogue.engine import Phase
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from tests.conftest import HermesTestClient
from tests.pulse import virtual_sound_card

from .processes import ServiceProcess, settle

SESSIONS = IN_FLIGHT = 20  # the "20 sessions in flight"
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


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize("service", ["asr", "nlu"])
async def test_sessions_waiting_on_a_pool_end_with_error_soon_after_one_of_its_workers_dies(
        service, run_service, mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    """Nobody can tell which worker took a session's request, so when one dies the sessions waiting on the pool
    get ``worker_lost_timeout`` to be answered by the other (paused here, so it answers none), then end with
    ``error`` naming the dead worker; not after the 10 s (nlu) or 30 s (asr) timeout, with reason timeout."""
    workers = [ServiceProcess(service, mqtt_broker, profile_dir, tmp_path, "--pool", f"{service}-pool",
                              "--instance", f"w{i}") for i in range(2)]
    sites = [f"{site_id}-{i}" for i in range(IN_FLIGHT)]
    await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), AsrStartListening.subscribe_filter(),
                                NluQuery.subscribe_filter(), NluIntent.subscribe_filter())
    try:
        for worker in workers:
            await worker.start(mqtt_client)
        settings = DialogueSettings(sounds_enabled=False, worker_lost_timeout=1.0)
        async with run_service(DialogueService, settings=settings) as dialogue:
            for worker in workers:
                worker.pause()  # whichever took a session's request cannot answer it
            sessions = await open_sessions(mqtt_client, sites, service)
            await settle()
            await workers[0].killed_offline(mqtt_client)
            for site, session in sessions.items():
                end = await mqtt_client.expect(DialogueSessionEnded, where=lambda m, s=session: m.session_id == s)
                assert end.termination.reason == "error"
                assert end.termination.error == (
                    f"the {service} worker 'w0' went offline while the session was {DOING[service]}; it may have "
                    f"been the one serving it (the {service} pool is still up)")
                assert dialogue.engine.active_session(site) is None
            if service == "nlu":  # the pool still serves: a new session is recognised by the live worker
                workers[1].resume()
                mqtt_client.clear()
                fresh = (await open_sessions(mqtt_client, [f"{site_id}-again"], "nlu"))[f"{site_id}-again"]
                await mqtt_client.expect(NluIntent, where=lambda m: m.session_id == fresh)
    finally:
        for worker in workers:
            worker.stop()


async def handling_sessions(client: HermesTestClient, dialogue: DialogueService, sites: dict[str, str]) -> dict[str, str]:
    """One session per site, recognised as the site's intent (published as the NLU would); site -> session id."""
    sessions = await open_sessions(client, list(sites), "nlu")
    for site, session in sessions.items():
        await client.publish(NluIntent(input="what time is it", intent=Intent(intent_name=sites[site],
                                                                              confidence_score=1.0),
                                       site_id=site, session_id=session))
    await until(lambda: all((s := dialogue.engine.session(session)) is not None and s.phase == Phase.HANDLING
                            for session in sessions.values()))
    return sessions


async def test_sessions_handled_by_an_intent_handler_that_ends_sessions_end_with_error_when_it_dies(
        run_service, mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    handler = ServiceProcess("intent-handler", mqtt_broker, profile_dir, tmp_path, "--set", "end_session=true",
                             "--set", "command.program=/bin/true")
    sites = {f"{site_id}-{i}": "GetTime" for i in range(IN_FLIGHT)}
    await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), AsrStartListening.subscribe_filter(),
                                NluQuery.subscribe_filter())
    try:
        await handler.start(mqtt_client)
        async with run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False)) as dialogue:
            handler.pause()  # it gets the intents but ends no session
            sessions = await handling_sessions(mqtt_client, dialogue, sites)
            handler.kill()
            for session in sessions.values():
                end = await mqtt_client.expect(DialogueSessionEnded, where=lambda m, s=session: m.session_id == s)
                assert end.termination.reason == "error"
                assert end.termination.error == ("the intent-handler service went offline while the session was "
                                                 "waiting for GetTime to be handled")
            assert all(dialogue.engine.active_session(site) is None for site in sites)
    finally:
        handler.stop()


async def test_sessions_of_the_intent_an_app_handles_end_with_error_when_it_dies_and_others_go_on(
        run_service, mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    app = ServiceProcess.module("time-app", "tests.faults.time_app", mqtt_broker, profile_dir, tmp_path)
    sites = {f"{site_id}-{i}": "GetTime" if i else "SetTimer" for i in range(IN_FLIGHT)}
    await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), AsrStartListening.subscribe_filter(),
                                NluQuery.subscribe_filter())
    try:
        await app.start(mqtt_client)
        async with run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False)) as dialogue:
            app.pause()
            sessions = await handling_sessions(mqtt_client, dialogue, sites)
            app.kill()
            for site, session in sessions.items():
                if sites[site] != "GetTime":
                    continue
                end = await mqtt_client.expect(DialogueSessionEnded, where=lambda m, s=session: m.session_id == s)
                assert end.termination.reason == "error"
                assert end.termination.error == ("the time-app service went offline while the session was "
                                                 "waiting for GetTime to be handled")
            # ended in the same step as the others if it were wrongly taken for the app's: SetTimer is not its
            assert dialogue.engine.active_session(f"{site_id}-0") is not None
    finally:
        app.stop()


async def test_a_listening_session_ends_with_error_when_its_rooms_audio_input_dies_and_other_rooms_go_on(
        run_service, mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    """Two rooms, each with its own real `hermesh audio-input` on a virtual sound card, each with a listening
    session. kill -9 of the kitchen's microphone ends the kitchen's session with error at once (it would hear
    nothing until its timeout); the hall's session, whose microphone lives, goes on."""
    kitchen, hall = f"{site_id}-kitchen", f"{site_id}-hall"
    await mqtt_client.subscribe(DialogueSessionEnded.subscribe_filter(), AsrStartListening.subscribe_filter())
    with virtual_sound_card("hermesh-pulse-faults-"):
        mics = {site: ServiceProcess("audio-input", mqtt_broker, profile_dir, tmp_path, "--site-id", site,
                                     "--instance", site) for site in (kitchen, hall)}
        try:
            for process in mics.values():
                await process.start(mqtt_client)
            async with run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False)) as dialogue:
                sessions = {}
                for site in (kitchen, hall):
                    await mqtt_client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True),
                                                                   site_id=site))
                    listening = await mqtt_client.expect(AsrStartListening, where=lambda m, s=site: m.site_id == s)
                    sessions[site] = listening.session_id
                await settle()
                killed = time.monotonic()
                mics[kitchen].kill()
                end = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.session_id == sessions[kitchen])
                assert time.monotonic() - killed < LOOSE_BOUND
                assert end.termination.reason == "error"
                assert end.termination.error == (f"the audio-input service of site {kitchen} went offline while the "
                                                 "session was listening")
                assert dialogue.engine.active_session(kitchen) is None
                assert dialogue.engine.active_session(hall).session_id == sessions[hall]
        finally:
            for process in mics.values():
                process.stop()
