"""The dialogue engine when a service it waits on goes offline or the broker connection drops (issue 19, §4).

Pure: ServiceStatus messages are fed as the retained hermesh/status topics would deliver them.
"""

from __future__ import annotations

from hermes.dialogue import DialogueContinueSession, DialogueEndSession, DialogueSessionEnded
from hermes.status import OpenSession, ServiceState, ServiceStatus

from .engine_helpers import Driver, names, only

END_IDLE = ["hotwordOn:dialogueSession"]


def status(service: str, state: ServiceState, instance: str = "host") -> ServiceStatus:
    return ServiceStatus(service=service, instance=instance, status=state)


def ended(out: list) -> DialogueSessionEnded:  # type: ignore[type-arg]
    return only(out, DialogueSessionEnded)


def test_asr_going_offline_ends_the_listening_session_with_an_error_naming_it():
    d = Driver(sounds_enabled=False)
    d.feed(status("asr", ServiceState.ONLINE))
    session_id = d.listening_session()
    out = d.feed(status("asr", ServiceState.OFFLINE))
    assert names(out) == ["stopListening", "sessionEnded:error", *END_IDLE]
    termination = ended(out).termination
    assert ended(out).session_id == session_id
    assert termination.error == "the asr service went offline while the session was listening"
    assert d.engine.active_session("default") is None


def test_nlu_going_offline_ends_the_recognizing_session_and_not_a_listening_one():
    d = Driver(sounds_enabled=False)
    recognizing = d.recognizing_session("kitchen")
    listening = d.listening_session("hall")
    out = d.feed(status("nlu", ServiceState.OFFLINE))
    assert [m.session_id for m in out if isinstance(m, DialogueSessionEnded)] == [recognizing]
    assert "recognising" in (ended(out).termination.error or "")
    assert d.engine.active_session("hall").session_id == listening  # type: ignore[union-attr]


def test_tts_going_offline_ends_a_speaking_session():
    d = Driver(sounds_enabled=False)
    session_id = d.handling_session()
    out = d.feed(DialogueEndSession(session_id=session_id, text="done"))
    assert "say" in names(out)
    out = d.feed(status("tts", ServiceState.OFFLINE))
    assert names(out) == ["hotwordOn:ttsSay", "asrOn:ttsSay", "sessionEnded:error", *END_IDLE]
    assert "speaking" in (ended(out).termination.error or "")


def mic(site: str, state: ServiceState) -> ServiceStatus:
    """The status of a room's audio input (an instance of its own, serving that one site)."""
    return ServiceStatus(service="audio-input", instance=site, status=state, site_ids=[site])


def test_a_rooms_audio_input_going_offline_ends_that_rooms_listening_session_only():
    """Audio inputs are rooms, not a pool: one gone (the others online) ends its room's listening session at once,
    not after a grace; sessions of other rooms, and of its room once it no longer listens, go on."""
    d = Driver(sounds_enabled=False)
    for site in ("kitchen", "hall", "attic"):
        d.feed(mic(site, ServiceState.ONLINE))
    kitchen = d.listening_session("kitchen")
    hall = d.listening_session("hall")
    attic = d.recognizing_session("attic")
    out = d.feed(mic("kitchen", ServiceState.OFFLINE))
    assert names(out) == ["stopListening", "sessionEnded:error", *END_IDLE]
    assert ended(out).session_id == kitchen
    assert ended(out).termination.error == ("the audio-input service of site kitchen went offline while the "
                                            "session was listening")
    assert d.engine.active_session("hall").session_id == hall  # type: ignore[union-attr]
    assert d.feed(mic("attic", ServiceState.OFFLINE)) == []  # heard already: recognising needs no microphone
    assert d.engine.active_session("attic").session_id == attic  # type: ignore[union-attr]


def test_an_audio_input_with_no_site_listed_is_the_default_sites_and_another_covering_a_site_keeps_it():
    d = Driver(sounds_enabled=False)
    d.feed(ServiceStatus(service="audio-input", instance="base", status=ServiceState.ONLINE))
    d.feed(ServiceStatus(service="audio-input", instance="spare", status=ServiceState.ONLINE, site_ids=["hall"]))
    d.feed(ServiceStatus(service="audio-input", instance="hall-2", status=ServiceState.ONLINE, site_ids=["hall"]))
    default = d.listening_session()
    d.listening_session("hall")
    assert d.feed(ServiceStatus(service="audio-input", instance="spare", status=ServiceState.OFFLINE,
                                site_ids=["hall"])) == []  # hall-2 still hears the hall
    out = d.feed(ServiceStatus(service="audio-input", instance="base", status=ServiceState.OFFLINE))
    assert ended(out).session_id == default and "of site default" in (ended(out).termination.error or "")


def test_a_pool_stays_up_while_one_instance_is_left():
    d = Driver(sounds_enabled=False)
    d.feed(status("asr", ServiceState.ONLINE, "worker-1"))
    d.feed(status("asr", ServiceState.ONLINE, "worker-2"))
    d.listening_session()
    assert d.feed(status("asr", ServiceState.OFFLINE, "worker-1")) == []
    assert names(d.feed(status("asr", ServiceState.OFFLINE, "worker-2")))[1] == "sessionEnded:error"


def test_a_session_is_not_begun_on_a_service_known_offline_and_works_once_it_is_back():
    d = Driver(sounds_enabled=False)
    d.feed(status("asr", ServiceState.OFFLINE))
    out = d.start_action()
    assert names(out) == ["sessionStarted", "hotwordOff:dialogueSession", "sessionEnded:error", *END_IDLE]
    assert ended(out).termination.error == "the asr service is offline (hermesh/status/asr/...)"
    d.feed(status("asr", ServiceState.ONLINE))  # restarted
    assert names(d.start_action())[-1] == "startListening"


def test_queued_sessions_do_not_hang_behind_a_failed_one():
    d = Driver(sounds_enabled=False)
    d.listening_session()
    d.start_action()  # queued
    out = d.feed(status("asr", ServiceState.OFFLINE))
    assert [name for name in names(out) if name.startswith("session")] == [
        "sessionEnded:error", "sessionStarted", "sessionEnded:error"]
    assert d.engine.active_session("default") is None and not d.engine.queued_sessions("default")


def test_audio_output_going_offline_skips_the_feedback_sound_instead_of_ending():
    d = Driver()
    out = d.wake()
    assert "playBytes:wake" in names(out)
    out = d.feed(status("audio-output", ServiceState.OFFLINE))
    assert names(out) == ["hotwordOn:playAudio", "asrOn:playAudio", "startListening"]


def test_broker_reconnected_ends_every_active_session_with_error():
    d = Driver(sounds_enabled=False)
    first, second = d.listening_session("a"), d.handling_session("b")
    out = d.engine.broker_reconnected(d.now)
    ends = [m for m in out if isinstance(m, DialogueSessionEnded)]
    assert sorted(m.session_id for m in ends) == sorted([first, second])
    assert all(m.termination.reason == "error" and "broker" in (m.termination.error or "") for m in ends)
    assert d.engine.next_deadline() is None


def test_sessions_left_open_by_a_killed_predecessor_end_with_error_and_free_their_sites():
    d = Driver(sounds_enabled=False)
    mine = d.listening_session("busy")
    out = d.engine.end_lost_sessions([OpenSession(session_id="old-1", site_id="idle", custom_data="cd"),
                                      OpenSession(session_id="old-2", site_id="busy"),
                                      OpenSession(session_id=mine, site_id="busy")], d.now)
    assert names(out) == ["stopListening", "sessionEnded:error", "hotwordOn:dialogueSession",
                          "stopListening", "sessionEnded:error"]  # no hotword on where a session of ours runs
    first = [m for m in out if isinstance(m, DialogueSessionEnded)][0]
    assert (first.session_id, first.custom_data) == ("old-1", "cd")
    assert first.termination.error == "the dialogue manager stopped while the session ran"
    assert d.engine.session(mine) is not None
    assert [s.session_id for s in d.engine.open_sessions()] == [mine]


def handler_status(state: ServiceState, intents: list[str], service: str = "intent-handler",
                   instance: str = "host") -> ServiceStatus:
    return ServiceStatus(service=service, instance=instance, status=state, intents=intents)


def test_one_worker_of_a_pool_gone_ends_its_sessions_after_the_grace_unless_they_moved_on():
    d = Driver(sounds_enabled=False, worker_lost_timeout=2.0)
    for worker in ("w0", "w1"):
        d.feed(status("nlu", ServiceState.ONLINE, worker))
    stuck, answered = d.recognizing_session("kitchen"), d.recognizing_session("hall")
    assert d.feed(status("nlu", ServiceState.OFFLINE, "w0")) == []  # w1 may hold them: not at once
    assert d.engine.next_deadline() == d.now + 2.0
    d.intent(answered, site="hall")  # w1 had this one
    out = d.advance(2.0)
    assert [m.session_id for m in out if isinstance(m, DialogueSessionEnded)] == [stuck]
    assert ended(out).termination.reason == "error"
    assert ended(out).termination.error == ("the nlu worker 'w0' went offline while the session was recognising; "
                                            "it may have been the one serving it (the nlu pool is still up)")
    assert d.engine.active_session("hall").session_id == answered  # type: ignore[union-attr]


def test_a_session_that_listens_again_within_the_grace_is_not_ended_for_the_lost_worker():
    d = Driver(sounds_enabled=False, worker_lost_timeout=2.0)
    for worker in ("w0", "w1"):
        d.feed(status("asr", ServiceState.ONLINE, worker))
    session_id = d.listening_session()
    d.feed(status("asr", ServiceState.OFFLINE, "w0"))
    d.feed(DialogueContinueSession(session_id=session_id))  # a new startListening, to the live worker
    assert d.advance(2.0) == []
    assert d.engine.active_session("default").phase == "listening"  # type: ignore[union-attr]


def test_the_intent_handler_that_ends_sessions_gone_ends_the_sessions_handling_intents():
    d = Driver(sounds_enabled=False)
    d.feed(handler_status(ServiceState.ONLINE, ["*"]))
    handling, listening = d.handling_session("kitchen"), d.listening_session("hall")
    out = d.feed(handler_status(ServiceState.OFFLINE, ["*"]))
    assert names(out) == ["sessionEnded:error", *END_IDLE]
    assert ended(out).session_id == handling
    assert ended(out).termination.error == ("the intent-handler service went offline while the session was "
                                            "waiting for LightOn to be handled")
    assert d.engine.active_session("hall").session_id == listening  # type: ignore[union-attr]


def test_a_handler_gone_leaves_sessions_that_another_client_handles_or_that_it_never_claimed():
    d = Driver(sounds_enabled=False)
    d.feed(handler_status(ServiceState.ONLINE, ["LightOn"], service="lights-app"))
    d.feed(handler_status(ServiceState.ONLINE, ["*"]))
    d.feed(status("speaker", ServiceState.ONLINE))  # a service whose status lists no intent
    session_id = d.handling_session()
    assert d.feed(handler_status(ServiceState.OFFLINE, ["*"])) == []  # lights-app still handles LightOn
    assert d.feed(status("speaker", ServiceState.OFFLINE)) == []  # claims no intent
    out = d.feed(handler_status(ServiceState.OFFLINE, ["LightOn"], service="lights-app"))
    assert ended(out).session_id == session_id and "lights-app" in (ended(out).termination.error or "")


def test_an_intent_whose_only_handler_is_offline_is_not_waited_for_until_one_is_back():
    d = Driver(sounds_enabled=False)
    d.feed(handler_status(ServiceState.ONLINE, ["LightOn"], service="lights-app"))
    d.feed(handler_status(ServiceState.OFFLINE, ["LightOn"], service="lights-app"))
    session_id = d.recognizing_session()
    out = d.intent(session_id)
    assert names(out) == ["sessionEnded:error", *END_IDLE]
    assert ended(out).termination.error == "the lights-app service that handles LightOn is offline " \
                                           "(hermesh/status/lights-app/...)"
    assert d.intent(d.recognizing_session("hall"), intent_name="Other", site="hall") == []  # not its intent
    d.feed(handler_status(ServiceState.ONLINE, ["*"]))  # another handler of every intent is up
    assert d.intent(d.recognizing_session("attic"), site="attic") == []
    d.feed(handler_status(ServiceState.OFFLINE, ["*"]))
    d.feed(handler_status(ServiceState.ONLINE, ["LightOn"], service="lights-app"))  # back: waited for again
    assert d.intent(d.recognizing_session("cellar"), site="cellar") == []
