"""The pure dialogue state machine: every transition and termination reason, queues, sites, fake-clock timeouts."""

from __future__ import annotations

import pytest

from hermes.asr import AsrStartListening
from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.dialogue import (
    DialogueConfigure,
    DialogueConfigureIntent,
    DialogueContinueSession,
    DialogueEndSession,
    DialogueIntentNotRecognized,
    DialogueSessionEnded,
    DialogueSessionQueued,
    DialogueSessionStarted,
)
from hermes.errors import AsrError, DialogueError, NluError
from hermes.nlu import NluIntentNotRecognized, NluQuery
from hermes.tts import TtsSay, TtsSayFinished
from services.dialogue.engine import Phase

from .engine_helpers import Driver, names, only

END_IDLE = ["hotwordOn:dialogueSession"]


# ---- the voice command, message by message ------------------------------------------------------------------
def test_wake_to_nominal_end_message_by_message():
    d = Driver()
    out = d.wake(wakeword="porcupine")
    assert names(out) == ["sessionStarted", "hotwordOff:dialogueSession",
                          "hotwordOff:playAudio", "asrOff:playAudio", "playBytes:wake"]
    started = only(out, DialogueSessionStarted)
    assert started.session_id.startswith("default-porcupine-")
    assert started.custom_data == "porcupine"  # Rhasspy: wake sessions carry the wakeword id
    session_id = started.session_id

    out = d.played(out)
    assert names(out) == ["hotwordOn:playAudio", "asrOn:playAudio", "startListening"]
    listen = only(out, AsrStartListening)
    assert (listen.session_id, listen.site_id, listen.wakeword_id) == (session_id, "default", "porcupine")
    assert listen.send_audio_captured is True and listen.stop_on_silence is True and listen.intent_filter is None

    out = d.captured(session_id, "turn on the light", likelihood=0.8)
    assert names(out) == ["stopListening", "hotwordOff:playAudio", "asrOff:playAudio", "playBytes:recorded"]
    out = d.played(out)
    assert names(out) == ["hotwordOn:playAudio", "asrOn:playAudio", "hotwordOn:dialogueSession", "nluQuery"]
    query = only(out, NluQuery)
    assert (query.input, query.session_id, query.site_id) == ("turn on the light", session_id, "default")
    assert (query.custom_data, query.wakeword_id, query.asr_confidence, query.intent_filter) == (
        "porcupine", "porcupine", 0.8, None)

    assert d.intent(session_id) == []  # the NLU published the intent itself; the DM only waits for the handler
    assert d.engine.active_session("default").phase == Phase.HANDLING

    out = d.feed(DialogueEndSession(session_id=session_id, text="Done", custom_data="new data"))
    assert names(out) == ["hotwordOff:ttsSay", "asrOff:ttsSay", "say"]
    say = only(out, TtsSay)
    assert (say.text, say.site_id, say.session_id) == ("Done", "default", session_id)

    out = d.said(out)
    assert names(out) == ["hotwordOn:ttsSay", "asrOn:ttsSay", "sessionEnded:nominal", *END_IDLE]
    ended = only(out, DialogueSessionEnded)
    assert (ended.session_id, ended.custom_data) == (session_id, "new data")
    assert d.engine.active_session("default") is None and d.engine.next_deadline() is None


def test_without_sounds_and_text_the_flow_is_direct():
    d = Driver(sounds_enabled=False)
    out = d.wake()
    assert names(out) == ["sessionStarted", "hotwordOff:dialogueSession", "startListening"]
    session_id = d.session_id()
    assert names(d.captured(session_id)) == ["stopListening", "hotwordOn:dialogueSession", "nluQuery"]
    assert d.intent(session_id) == []
    out = d.feed(DialogueEndSession(session_id=session_id))
    assert names(out) == ["sessionEnded:nominal", *END_IDLE]


def test_hotword_detected_extras_choose_session_id_audio_and_language():
    d = Driver(sounds_enabled=False)
    out = d.wake(session_id="my-session", send_audio_captured=False, lang="de",
                 custom_entities={"room": "kitchen"})
    assert only(out, DialogueSessionStarted).session_id == "my-session"
    listen = only(out, AsrStartListening)
    assert listen.send_audio_captured is False and listen.lang == "de"
    out = d.captured("my-session")
    query = only(out, NluQuery)
    assert query.custom_entities == {"room": "kitchen"} and query.lang == "de"


def test_wakeword_filter_ignores_other_wake_words():
    d = Driver(sounds_enabled=False, wakeword_ids=["jarvis"])
    assert d.wake(wakeword="porcupine") == []
    assert names(d.wake(wakeword="jarvis"))[0] == "sessionStarted"


# ---- continueSession --------------------------------------------------------------------------------------
def test_continue_session_speaks_then_listens_with_the_new_filter_and_data():
    d = Driver(sounds_enabled=False)
    session_id = d.handling_session()
    out = d.feed(DialogueContinueSession(session_id=session_id, text="Which room?", intent_filter=["Room"],
                                         send_intent_not_recognized=True, custom_data="step2", slot="room"))
    assert names(out) == ["hotwordOff:dialogueSession", "hotwordOff:ttsSay", "asrOff:ttsSay", "say"]
    assert d.engine.session(session_id).step == 1
    out = d.said(out)
    assert names(out) == ["hotwordOn:ttsSay", "asrOn:ttsSay", "startListening"]
    assert only(out, AsrStartListening).intent_filter == ["Room"]
    out = d.captured(session_id, "kitchen")
    query = only(out, NluQuery)
    assert (query.intent_filter, query.custom_data) == (["Room"], "step2")
    # sendIntentNotRecognized is now true: the session stays open and the app is told.
    out = d.not_recognized(session_id, "garage")
    assert names(out) == ["dmNotRecognized"]
    assert d.engine.session(session_id).phase == Phase.HANDLING


def test_continue_without_text_listens_at_once_and_replaces_filter_with_none():
    d = Driver(sounds_enabled=False)
    d.start_action(intent_filter=["A"])
    session_id = d.session_id()
    out = d.feed(DialogueContinueSession(session_id=session_id))
    assert names(out) == ["stopListening", "hotwordOff:dialogueSession", "startListening"]
    assert only(out, AsrStartListening).intent_filter is None


# ---- intent not recognized ----------------------------------------------------------------------------------
def test_not_recognized_plays_error_sound_and_ends_session():
    d = Driver()
    session_id = d.recognizing_session()
    out = d.not_recognized(session_id)
    assert names(out) == ["hotwordOff:playAudio", "asrOff:playAudio", "playBytes:error"]
    out = d.played(out)
    assert names(out) == ["hotwordOn:playAudio", "asrOn:playAudio", "sessionEnded:intentNotRecognized", *END_IDLE]


def test_not_recognized_is_forwarded_when_the_session_asks_and_session_stays():
    d = Driver(sounds_enabled=False)
    d.start_action(send_intent_not_recognized=True, custom_data="cd")
    session_id = d.session_id()
    d.captured(session_id, "gibberish")
    out = d.not_recognized(session_id, "gibberish")
    message = only(out, DialogueIntentNotRecognized)
    assert (message.session_id, message.input, message.custom_data) == (session_id, "gibberish", "cd")
    assert names(out) == ["dmNotRecognized"]
    assert names(d.feed(DialogueEndSession(session_id=session_id))) == ["sessionEnded:nominal", *END_IDLE]


def test_low_asr_confidence_is_not_recognized_without_asking_the_nlu():
    d = Driver(sounds_enabled=False, min_asr_confidence=0.5)
    session_id = d.listening_session()
    out = d.captured(session_id, "mumble", likelihood=0.2)
    assert names(out) == ["stopListening", "hotwordOn:dialogueSession", "nluNotRecognized",
                          "sessionEnded:intentNotRecognized", *END_IDLE]
    assert only(out, NluIntentNotRecognized).session_id == session_id


def test_an_intent_not_recognized_naming_a_listening_session_ends_it_as_apps_do():
    d = Driver(sounds_enabled=False)
    session_id = d.listening_session()
    out = d.feed(NluIntentNotRecognized(input="", site_id="default", session_id=session_id, custom_data="by app"))
    assert names(out) == ["stopListening", "sessionEnded:intentNotRecognized", *END_IDLE]
    assert only(out, DialogueSessionEnded).custom_data == "by app"


# Each phase a session can be in when an app (or the NLU) publishes intentNotRecognized naming it. A builder
# returns the session id and the messages of the wait it is in (a say or a sound), answered after the end.
def _speaking_the_action_text(d: Driver) -> tuple[str, list]:
    out = d.start_action(text="What can I do?", custom_data="app")
    return d.session_id(), out


def _speaking_a_continue_text(d: Driver) -> tuple[str, list]:
    session_id = d.handling_session()
    return session_id, d.feed(DialogueContinueSession(session_id=session_id, text="Which room?", custom_data="app"))


def _playing_the_wake_sound(d: Driver) -> tuple[str, list]:
    out = d.wake()
    return d.session_id(), out


def _waiting_for_the_app(d: Driver) -> tuple[str, list]:
    return d.handling_session(), []


def _recognising(d: Driver) -> tuple[str, list]:
    return d.recognizing_session(), []


@pytest.mark.parametrize("phase", [_speaking_the_action_text, _speaking_a_continue_text, _playing_the_wake_sound,
                                   _waiting_for_the_app, _recognising], ids=lambda f: f.__name__.strip("_"))
def test_an_intent_not_recognized_naming_a_session_ends_it_in_every_phase(phase):
    d = Driver()
    session_id, waiting = phase(d)
    out = d.feed(NluIntentNotRecognized(input="", site_id="default", session_id=session_id, custom_data="by app"))
    if phase is _recognising:  # the NLU's own answer: the error beep first, then the end
        assert names(out) == ["hotwordOff:playAudio", "asrOff:playAudio", "playBytes:error"]
        out = d.played(out)
    ended = only(out, DialogueSessionEnded)
    assert ended.session_id == session_id and ended.termination.reason == "intentNotRecognized"
    assert ended.custom_data == "by app"
    assert names(out)[-2:] == ["sessionEnded:intentNotRecognized", *END_IDLE]
    assert d.engine.active_session("default") is None
    # What the interrupted say or sound switched off is on again, and its late answer starts nothing.
    if any(isinstance(m, TtsSay) for m in waiting):
        assert names(out)[:2] == ["hotwordOn:ttsSay", "asrOn:ttsSay"]
        assert d.said(waiting) == []
    elif any(isinstance(m, AudioPlayBytes) for m in waiting):
        assert names(out)[:2] == ["hotwordOn:playAudio", "asrOn:playAudio"]
        assert d.played(waiting) == []


def test_three_sites_each_ended_by_intent_not_recognized_and_a_continued_one_keeps_its_custom_data():
    d = Driver(sounds_enabled=False)
    sites = ("default", "satellite1", "satellite2")
    for site in sites:
        d.start_action(site=site)
    sessions = {site: d.session_id(site) for site in sites}
    # rhasspy-hermes 0.3 fills in siteId "default": the session is the one its sessionId names
    continued = d.feed(DialogueContinueSession(session_id=sessions["satellite2"], site_id="default",
                                               custom_data="done"))
    assert only(continued, AsrStartListening).site_id == "satellite2"
    ended = {}
    for site in sites:
        out = d.feed(NluIntentNotRecognized(input="", site_id=site, session_id=sessions[site]))
        ended[site] = only(out, DialogueSessionEnded)
    assert {site: e.termination.reason for site, e in ended.items()} == dict.fromkeys(sites, "intentNotRecognized")
    assert [ended[site].custom_data for site in sites] == [None, None, "done"]
    assert all(d.engine.active_session(site) is None for site in sites)


def test_with_send_intent_not_recognized_only_the_nlu_answer_counts():
    d = Driver(sounds_enabled=False)
    d.start_action(send_intent_not_recognized=True)
    session_id = d.session_id()
    assert d.not_recognized(session_id) == []  # still listening: nothing changes
    assert d.engine.active_session("default") is not None


def test_our_own_intent_not_recognized_coming_back_from_the_broker_beeps_once():
    d = Driver(min_asr_confidence=0.5)
    session_id = d.listening_session()
    out = d.captured(session_id, "mumble", likelihood=0.2)
    if any(isinstance(m, AudioPlayBytes) for m in out):  # the "recorded" sound first
        out = d.played(out)
    echo = only(out, NluIntentNotRecognized)
    assert names(out).count("playBytes:error") == 1
    assert d.feed(echo) == []  # the copy the broker sends back
    out = d.played(out)
    assert "sessionEnded:intentNotRecognized" in names(out)


# ---- programmatic sessions ----------------------------------------------------------------------------------
def test_start_session_action_with_text_speaks_then_listens():
    d = Driver()
    out = d.start_action(text="What can I do?", intent_filter=["A", "B"], custom_data="app", lang="fr")
    assert names(out) == ["sessionStarted", "hotwordOff:dialogueSession", "hotwordOff:ttsSay", "asrOff:ttsSay",
                          "say"]
    started = only(out, DialogueSessionStarted)
    assert started.custom_data == "app" and started.lang == "fr"
    assert started.session_id == "id1"  # a plain id for programmatic sessions
    assert only(out, TtsSay).lang == "fr"
    out = d.said(out)
    listen = only(out, AsrStartListening)
    assert listen.intent_filter == ["A", "B"] and listen.wakeword_id is None and listen.lang == "fr"


def test_notification_on_idle_site_speaks_and_ends():
    d = Driver()
    out = d.notify("The oven is hot", custom_data="oven")
    assert names(out) == ["sessionStarted", "hotwordOff:ttsSay", "asrOff:ttsSay", "say"]
    out = d.said(out)
    assert names(out) == ["hotwordOn:ttsSay", "asrOn:ttsSay", "sessionEnded:nominal", *END_IDLE]
    assert only(out, DialogueSessionEnded).custom_data == "oven"


def test_notification_on_busy_site_is_queued_then_spoken():
    d = Driver(sounds_enabled=False)
    active = d.handling_session()
    out = d.notify("Timer done")
    assert names(out) == ["sessionQueued"]
    queued_id = only(out, DialogueSessionQueued).session_id
    out = d.feed(DialogueEndSession(session_id=active))
    assert names(out) == ["sessionEnded:nominal", "sessionStarted", "hotwordOff:ttsSay", "asrOff:ttsSay", "say"]
    assert only(out, DialogueSessionStarted).session_id == queued_id
    assert names(d.said(out))[-2:] == ["sessionEnded:nominal", *END_IDLE]


def test_enqueued_actions_wait_their_turn_in_order():
    d = Driver(sounds_enabled=False)
    first = d.handling_session()
    second = only(d.start_action(custom_data="2"), DialogueSessionQueued).session_id
    third = only(d.start_action(custom_data="3"), DialogueSessionQueued).session_id
    assert [s.session_id for s in d.engine.queued_sessions("default")] == [second, third]
    out = d.feed(DialogueEndSession(session_id=first))
    assert names(out) == ["sessionEnded:nominal", "sessionStarted", "hotwordOff:dialogueSession", "startListening"]
    assert only(out, DialogueSessionStarted).session_id == second
    out = d.advance(30.0)  # the second one times out while listening; the third starts
    assert names(out) == ["stopListening", "sessionEnded:timeout", "sessionStarted", "hotwordOff:dialogueSession",
                          "startListening"]
    assert only(out, DialogueSessionStarted).session_id == third


def test_action_that_cannot_be_enqueued_aborts_the_active_session():
    d = Driver(sounds_enabled=False)
    old = d.listening_session()
    out = d.start_action(enqueue=False, custom_data="urgent")
    assert names(out) == ["stopListening", "sessionEnded:abortedByUser", "sessionStarted",
                          "hotwordOff:dialogueSession", "startListening"]
    assert only(out, DialogueSessionEnded).session_id == old
    assert only(out, DialogueSessionStarted).custom_data == "urgent"


def test_wake_word_during_a_session_aborts_it_and_jumps_the_queue():
    d = Driver(sounds_enabled=False)
    old = d.handling_session()
    queued = only(d.start_action(), DialogueSessionQueued).session_id
    out = d.wake(wakeword="jarvis")
    assert names(out) == ["sessionEnded:abortedByUser", "sessionStarted", "hotwordOff:dialogueSession",
                          "startListening"]
    assert only(out, DialogueSessionEnded).session_id == old
    new = only(out, DialogueSessionStarted).session_id
    assert new.startswith("default-jarvis-")
    assert [s.session_id for s in d.engine.queued_sessions("default")] == [queued]


# ---- timeouts (fake clock) ----------------------------------------------------------------------------------
def test_listening_timeout_ends_the_session():
    d = Driver(sounds_enabled=False, session_timeout=12)
    session_id = d.listening_session()
    assert d.engine.next_deadline() == d.now + 12
    assert d.advance(11.9) == []
    out = d.advance(0.1)
    assert names(out) == ["stopListening", "sessionEnded:timeout", *END_IDLE]
    assert only(out, DialogueSessionEnded).session_id == session_id


def test_nlu_timeout_ends_the_session():
    d = Driver(sounds_enabled=False, nlu_timeout=5)
    d.recognizing_session()
    assert d.advance(4.99) == []
    assert names(d.advance(0.01)) == ["sessionEnded:timeout", *END_IDLE]


def test_handler_timeout_ends_the_session():
    d = Driver(sounds_enabled=False, handler_timeout=20)
    d.handling_session()
    assert d.advance(19) == []
    assert names(d.advance(1)) == ["sessionEnded:timeout", *END_IDLE]


def test_missing_play_finished_and_say_finished_do_not_hang():
    d = Driver(sound_timeout_margin=1.0, say_min_timeout=10, say_chars_per_second=10)
    out = d.wake()
    assert d.engine.next_deadline() == pytest.approx(d.now + 0.2 + 1.0)  # wake sound 0.2 s + margin
    out = d.advance(1.2)
    assert names(out) == ["hotwordOn:playAudio", "asrOn:playAudio", "startListening"]
    session_id = d.session_id()
    d.captured(session_id)
    d.advance(1.1)  # recorded sound never finishes either
    d.intent(session_id)
    long_text = "x" * 150  # 15 s at 10 chars/s, longer than the 10 s minimum
    d.feed(DialogueEndSession(session_id=session_id, text=long_text))
    assert d.advance(14.9) == []
    assert names(d.advance(0.1)) == ["hotwordOn:ttsSay", "asrOn:ttsSay", "sessionEnded:nominal", *END_IDLE]


def test_late_and_foreign_finish_messages_are_ignored():
    d = Driver()
    out = d.wake()
    play = only(out, AudioPlayBytes)
    assert d.feed(AudioPlayFinished(site_id="default", id="someone-else")) == []
    assert d.feed(AudioPlayFinished(site_id="other-site", id=play.request_id)) == []
    assert d.feed(TtsSayFinished(site_id="default", id=play.request_id)) == []  # wrong kind of wait
    assert names(d.played(out))[-1] == "startListening"
    assert d.played(out) == []  # a duplicate


# ---- errors --------------------------------------------------------------------------------------------------
def test_asr_error_of_a_listening_session_ends_it_with_reason_error():
    d = Driver(sounds_enabled=False)
    session_id = d.listening_session()
    out = d.feed(AsrError(error="microphone gone", site_id="default", session_id=session_id))
    assert names(out) == ["stopListening", "sessionEnded:error", *END_IDLE]


def test_nlu_error_of_a_recognizing_session_ends_it_with_reason_error():
    d = Driver(sounds_enabled=False)
    session_id = d.recognizing_session()
    assert d.feed(NluError(error="other session", session_id="nope")) == []
    assert names(d.feed(NluError(error="no model", session_id=session_id))) == ["sessionEnded:error", *END_IDLE]


def test_unknown_sessions_get_a_dialogue_error_and_nothing_else():
    d = Driver(sounds_enabled=False)
    out = d.feed(DialogueEndSession(session_id="ghost"))
    error = only(out, DialogueError)
    assert "ghost" in error.error and error.context == "endSession"
    assert names(d.feed(DialogueContinueSession(session_id="ghost"))) == ["dmError"]
    assert d.captured("ghost") == [] and d.intent("ghost") == [] and d.not_recognized("ghost") == []
    # a session that ended (e.g. by timeout) is unknown afterwards
    session_id = d.listening_session()
    d.advance(30)
    assert names(d.feed(DialogueEndSession(session_id=session_id))) == ["dmError"]


def test_end_session_while_a_sound_plays_re_enables_hotword_and_asr():
    d = Driver()
    session_id = d.listening_session()
    out = d.captured(session_id)
    assert names(out)[-1] == "playBytes:recorded"
    out = d.feed(DialogueEndSession(session_id=session_id))
    assert names(out) == ["hotwordOn:playAudio", "asrOn:playAudio", "sessionEnded:nominal", *END_IDLE]


def test_every_termination_reason_is_reachable():
    reasons = set()
    for drive in (_nominal, _aborted, _not_recognized, _timeout, _error):
        d = Driver(sounds_enabled=False)
        drive(d)
        reasons |= {m.termination.reason for m in d.log if isinstance(m, DialogueSessionEnded)}
    assert reasons == {"nominal", "abortedByUser", "intentNotRecognized", "timeout", "error"}


def _nominal(d: Driver) -> None:
    d.feed(DialogueEndSession(session_id=d.handling_session()))


def _aborted(d: Driver) -> None:
    d.listening_session()
    d.wake()


def _not_recognized(d: Driver) -> None:
    d.not_recognized(d.recognizing_session())


def _timeout(d: Driver) -> None:
    d.listening_session()
    d.advance(60)


def _error(d: Driver) -> None:
    d.feed(AsrError(error="x", session_id=d.listening_session()))


# ---- several sites ------------------------------------------------------------------------------------------
def test_two_sites_run_sessions_at_once_on_their_own_topics():
    d = Driver()
    out_a = d.wake(site="kitchen")
    out_b = d.wake(site="satellite1")
    assert only(out_a, AudioPlayBytes).topic().startswith("hermes/audioServer/kitchen/playBytes/")
    assert only(out_b, AudioPlayBytes).topic().startswith("hermes/audioServer/satellite1/playBytes/")
    assert {m.site_id for m in out_b if hasattr(m, "site_id")} == {"satellite1"}
    d.played(out_a)
    d.played(out_b)
    a, b = d.session_id("kitchen"), d.session_id("satellite1")
    assert a != b
    d.captured(a, site="kitchen")  # kitchen moves on; satellite still listening
    assert d.engine.active_session("kitchen").wait is not None
    assert d.engine.active_session("satellite1").phase == Phase.LISTENING
    out = d.advance(30)  # satellite listening times out; kitchen's recorded sound timed out long ago
    assert any(isinstance(m, DialogueSessionEnded) and m.site_id == "satellite1" for m in out)
    assert d.engine.active_session("kitchen") is not None
    # a wake word on one site never touches the other
    out = d.wake(site="satellite1")
    assert all(getattr(m, "site_id", "satellite1") == "satellite1" for m in out)


def test_queues_are_per_site():
    d = Driver(sounds_enabled=False)
    d.handling_session("a")
    assert names(d.start_action(site="b")) == ["sessionStarted", "hotwordOff:dialogueSession", "startListening"]
    assert names(d.start_action(site="a")) == ["sessionQueued"]
    assert d.engine.queued_sessions("b") == []


# ---- configure and intent filters -------------------------------------------------------------------------
def test_configure_disables_an_intent_on_one_site_only():
    d = Driver(sounds_enabled=False, known_intents=("LightOn", "LightOff", "Weather"))
    d.feed(DialogueConfigure(intents=[DialogueConfigureIntent(intent_id="Weather", enable=False)], site_id="a"))
    session_a = d.listening_session("a")
    query = only(d.captured(session_a, site="a"), NluQuery)
    assert query.intent_filter == ["LightOff", "LightOn"]
    session_b = d.listening_session("b")
    assert only(d.captured(session_b, site="b"), NluQuery).intent_filter is None
    # an intent the site disabled is treated as not recognised
    out = d.intent(session_a, "Weather", site="a")
    assert names(out) == ["sessionEnded:intentNotRecognized", *END_IDLE]


def test_configure_limits_a_session_filter_and_can_re_enable():
    d = Driver(sounds_enabled=False)
    configure = DialogueConfigure(intents=[DialogueConfigureIntent(intent_id="B", enable=False)])
    d.feed(configure)
    d.start_action(intent_filter=["A", "B"])
    assert only(d.captured(d.session_id()), NluQuery).intent_filter == ["A"]
    d.feed(DialogueEndSession(session_id=d.session_id()))
    d.feed(DialogueConfigure(intents=[DialogueConfigureIntent(intent_id="B", enable=True)]))
    d.start_action(intent_filter=["A", "B"])
    assert only(d.captured(d.session_id()), NluQuery).intent_filter == ["A", "B"]


def test_a_filter_left_empty_by_configure_is_answered_without_the_nlu():
    d = Driver(sounds_enabled=False)
    d.feed(DialogueConfigure(intents=[DialogueConfigureIntent(intent_id="A", enable=False)]))
    d.start_action(intent_filter=["A"])
    out = d.captured(d.session_id())
    assert "nluQuery" not in names(out)
    assert names(out)[-3:] == ["nluNotRecognized", "sessionEnded:intentNotRecognized", *END_IDLE]


def test_intent_outside_the_session_filter_is_not_recognized():
    d = Driver(sounds_enabled=False)
    d.start_action(intent_filter=["Yes", "No"], send_intent_not_recognized=True)
    session_id = d.session_id()
    d.captured(session_id)
    assert names(d.intent(session_id, "LightOn")) == ["dmNotRecognized"]


# ---- feedback sound switches ------------------------------------------------------------------------------
def test_sounds_can_be_switched_off_per_site():
    d = Driver(no_sound_site_ids=["quiet"])
    assert "playBytes:wake" not in names(d.wake(site="quiet"))
    assert "playBytes:wake" in names(d.wake(site="loud"))
    d.engine.set_feedback_sound("other", False)
    assert "playBytes:wake" not in names(d.wake(site="other"))
    d.engine.set_feedback_sound("other", True)
    d.feed(DialogueEndSession(session_id=d.session_id("other")))
    assert "playBytes:wake" in names(d.wake(site="other"))


def test_a_missing_sound_event_is_skipped():
    d = Driver(sounds={})
    assert names(d.wake()) == ["sessionStarted", "hotwordOff:dialogueSession", "startListening"]


def test_group_separator_lets_one_site_of_a_room_listen_at_a_time():
    d = Driver(sounds_enabled=False, group_separator=".")
    first = d.listening_session("kitchen.left")
    assert d.wake(site="kitchen.right") == []  # the same wake word heard by the other satellite in the room
    assert names(d.wake(site="hall.one"))[0] == "sessionStarted"  # another room
    d.captured(first, site="kitchen.left")
    assert names(d.wake(site="kitchen.right"))[0] == "sessionStarted"  # text captured: the group is free again
    assert d.wake(site="kitchen.left") == []  # now kitchen.right is listening
    d.captured(d.session_id("kitchen.right"), site="kitchen.right")
    assert names(d.wake(site="kitchen.left"))[0] == "sessionEnded:abortedByUser"  # its own old session ends
