"""Message-shape quirks of Rhasspy 2.5 and Snips (hermes-protocol.md §5-§7), each pinned by a test.

Where rhasspy-hermes 0.6.2 can speak to the point, it is asked too.
"""

from __future__ import annotations

import json
import warnings

import pytest

from hermes import asr, audioserver, dialogue, errors, hotword, nlu, registry, tts
from hermes.base import HermesProtocolError, UnknownTopicError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import rhasspyhermes.asr as r_asr
    import rhasspyhermes.audioserver as r_audio
    import rhasspyhermes.dialogue as r_dialogue
    import rhasspyhermes.nlu as r_nlu
    import rhasspyhermes.wake as r_wake

# The oracle warns (RuntimeWarning) while it fills a null slotName/rawValue; that is the behaviour under test.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def wire(message) -> dict:
    return json.loads(message.payload())


# ---- playFinished -------------------------------------------------------------------------------------------
def test_play_finished_has_no_site_id_field():
    message = audioserver.AudioPlayFinished(id="r1", session_id="r1", site_id="kitchen")
    assert wire(message) == {"id": "r1", "sessionId": "r1"}
    assert message.topic() == "hermes/audioServer/kitchen/playFinished"
    assert message.payload() == r_audio.AudioPlayFinished(id="r1", session_id="r1").payload().encode()


def test_snips_play_finished_site_id_is_ignored_and_the_topic_wins():
    parsed = registry.parse("hermes/audioServer/kitchen/playFinished", b'{"id": "r1", "siteId": "attic"}')
    assert isinstance(parsed, audioserver.AudioPlayFinished)
    assert parsed.site_id == "kitchen"
    assert wire(parsed) == {"id": "r1", "sessionId": None}


# ---- NluIntent ------------------------------------------------------------------------------------------------
def test_nlu_intent_optional_fields_default_to_null_not_empty_string():
    """reference.md claims id/sessionId/customData default to ""; rhasspy-hermes (and Hermesh) send null."""
    message = nlu.NluIntent(input="hi", intent=nlu.Intent(intent_name="Greet", confidence_score=1.0))
    payload = wire(message)
    for key in ("id", "sessionId", "customData", "slots", "asrTokens", "asrConfidence", "rawInput", "wakewordId", "lang"):
        assert payload[key] is None, key
    assert payload["siteId"] == "default"
    their = r_nlu.NluIntent(input="hi", intent=r_nlu.Intent(intent_name="Greet", confidence_score=1.0))
    assert payload == json.loads(their.payload())


def test_nlu_intent_field_order_is_rhasspys():
    message = nlu.NluIntent(input="hi", intent=nlu.Intent(intent_name="Greet", confidence_score=1.0))
    assert list(wire(message)) == [
        "input", "intent", "siteId", "id", "slots", "sessionId", "customData",
        "asrTokens", "asrConfidence", "rawInput", "wakewordId", "lang",
    ]


@pytest.mark.parametrize("name", ["Domain/TurnOn", "a/b/c", "user:lightsColor", "Grüßen"])
def test_intent_names_with_slashes_and_colons_make_multi_level_topics(name: str):
    message = nlu.NluIntent(input="x", intent=nlu.Intent(intent_name=name, confidence_score=1.0))
    assert message.topic() == f"hermes/intent/{name}" == r_nlu.NluIntent.topic(intent_name=name)
    assert nlu.NluIntent.parse_topic(message.topic()) == {"intent_name": name}
    assert r_nlu.NluIntent.get_intent_name(message.topic()) == name
    parsed = registry.parse(message.topic(), message.payload())
    assert isinstance(parsed, nlu.NluIntent) and parsed.intent_name == name


def test_intent_subscribe_filter_is_multi_level():
    assert nlu.NluIntent.subscribe_filter() == "hermes/intent/#" == r_nlu.NluIntent.topic()
    assert nlu.NluIntent.subscribe_filter(intent_name="GetTime") == "hermes/intent/GetTime"


@pytest.mark.parametrize("name", ["", "#", "a/+", "Turn#On"])
def test_an_intent_topic_is_never_a_wildcard(name: str):
    """The HTTP API of Rhasspy published intents on the literal topic ``hermes/intent/#`` (§7.12)."""
    message = nlu.NluIntent(input="x", intent=nlu.Intent(intent_name=name, confidence_score=1.0))
    with pytest.raises(HermesProtocolError):
        message.topic()


def test_intent_name_comes_from_the_payload_not_the_topic():
    """Like Rhasspy, the payload's intentName is the truth; the topic suffix only routes."""
    message = nlu.NluIntent(input="x", intent=nlu.Intent(intent_name="A", confidence_score=1.0))
    parsed = registry.parse("hermes/intent/B", message.payload())
    assert parsed.intent_name == "A"


SNIPS_INTENT = {
    "sessionId": "677a2717-7ac8-44f8-9013-db2222f7923d",
    "customData": "customThing",
    "siteId": "default",
    "input": "moi du vert",
    "intent": {"intentName": "jelb:lightsColor", "confidenceScore": 0.5},
    "asrTokens": [[{"value": "moi", "confidence": 0.5, "rangeStart": 0, "rangeEnd": 3,
                    "time": {"start": 0.0, "end": 1.0}}]],
    "asrConfidence": 0.5,
    "slots": [
        {"confidenceScore": 0.8, "rawValue": "vert", "value": {"kind": "Custom", "value": "vert"},
         "range": {"start": 7, "end": 11}, "entity": "Color", "slotName": "Color"}
    ],
    "alternatives": [{"intentName": "jelb:lightsShade", "confidenceScore": 0.1, "slots": []}],
    "speakerHypotheses": [{"speakerId": "john", "confidence": 0.8}],
}


def test_snips_intent_payload_loses_what_rhasspy_loses():
    """alternatives, speakerHypotheses and the slot's confidenceScore are dropped (slot confidence 0.0)."""
    parsed = registry.parse("hermes/intent/jelb:lightsColor", json.dumps(SNIPS_INTENT))
    their = r_nlu.NluIntent.from_json(json.dumps(SNIPS_INTENT))
    assert parsed.payload() == their.payload().encode()
    payload = wire(parsed)
    assert "alternatives" not in payload and "speakerHypotheses" not in payload
    assert payload["slots"][0]["confidence"] == 0.0
    assert payload["slots"][0]["range"] == {"start": 7, "end": 11, "rawStart": None, "rawEnd": None}


# ---- slots: defaults of slotName and rawValue ---------------------------------------------------------------
INTENT = {"input": "a", "intent": {"intentName": "A", "confidenceScore": 1.0}}


@pytest.mark.parametrize(
    "slot",
    [
        {"entity": "e", "value": {"kind": "Unknown", "value": "v"}},
        {"entity": "e", "value": {"kind": "Unknown", "value": "v"}, "slotName": None, "rawValue": None},
        {"entity": "e", "value": {"kind": "Unknown", "value": "v"}, "slotName": "", "rawValue": ""},
        {"entity": "e", "value": {"kind": "Number", "value": 42}, "rawValue": "forty two"},
        {"entity": "e", "value": {"kind": "Unknown", "value": "v"}, "slot_name": "n", "raw_value": "V"},
    ],
    ids=["absent", "null", "empty-kept", "number-with-raw", "snake"],
)
def test_slot_defaults_match_the_oracle(slot: dict):
    payload = json.dumps({**INTENT, "slots": [slot]})
    ours = nlu.NluIntent.from_payload(payload)
    assert ours.payload() == r_nlu.NluIntent.from_json(payload).payload().encode()


def test_slot_raw_value_is_always_text():
    """Documented difference: when rawValue is absent, rhasspy-hermes copies value.value into it as is (a
    number stays a number, null stays null); Hermesh keeps rawValue a string, as every NLU sends it."""
    payload = json.dumps({**INTENT, "slots": [
        {"entity": "n", "value": {"kind": "Number", "value": 42}},
        {"entity": "n", "value": {"kind": "Unknown", "value": None}},
        {"entity": "n", "value": {"kind": "Number", "value": 1}, "rawValue": 1},
    ]})
    theirs = json.loads(r_nlu.NluIntent.from_json(payload).payload())
    assert [slot["rawValue"] for slot in theirs["slots"]] == [42, None, "1"]
    ours = nlu.NluIntent.from_payload(payload)
    assert [slot.raw_value for slot in ours.slots or []] == ["42", "", "1"]


def test_slot_constructor_fills_defaults():
    slot = nlu.Slot(entity="rooms", value={"kind": "Unknown", "value": "kitchen"})
    assert (slot.slot_name, slot.raw_value) == ("rooms", "kitchen")
    slot = nlu.Slot(entity="rooms", value={"kind": "Unknown", "value": "kitchen"}, slot_name="room", raw_value="")
    assert (slot.slot_name, slot.raw_value) == ("room", "")


# ---- dialogue -----------------------------------------------------------------------------------------------
def test_can_be_enqueued_defaults_to_true_as_in_snips():
    """Snips defaulted canBeEnqueued to true; rhasspy-hermes raises KeyError (§7.7). Hermesh follows Snips, so
    a Snips app that leaves it out still starts its session; what we send always carries the field."""
    payload = b'{"init": {"type": "action", "text": "hi"}, "siteId": "kitchen"}'
    message = registry.parse("hermes/dialogueManager/startSession", payload)
    assert message.init.can_be_enqueued is True
    assert wire(message)["init"]["canBeEnqueued"] is True
    with pytest.raises(KeyError):
        r_dialogue.DialogueStartSession.from_json(payload)


def test_init_type_selects_the_variant():
    action = registry.parse("hermes/dialogueManager/startSession", b'{"init": {"type": "action", "canBeEnqueued": false}}')
    note = registry.parse("hermes/dialogueManager/startSession", b'{"init": {"type": "notification", "text": "hi"}}')
    assert isinstance(action.init, dialogue.DialogueAction)
    assert isinstance(note.init, dialogue.DialogueNotification)
    assert wire(note)["init"] == {"text": "hi", "type": "notification"}


def test_continue_and_end_session_have_no_site_id():
    assert "siteId" not in wire(dialogue.DialogueContinueSession(session_id="s"))
    assert "siteId" not in wire(dialogue.DialogueEndSession(session_id="s"))


def test_snips_termination_error_text_is_kept_and_only_sent_when_set():
    payload = b'{"sessionId": "s", "siteId": "k", "termination": {"reason": "error", "error": "boom"}}'
    parsed = registry.parse("hermes/dialogueManager/sessionEnded", payload)
    assert wire(parsed)["termination"] == {"reason": "error", "error": "boom"}
    # rhasspy-hermes reads our payload (it drops the text); without a text the bytes are the same as its own
    assert r_dialogue.DialogueSessionEnded.from_json(parsed.payload()).termination.reason.value == "error"
    bare = registry.parse("hermes/dialogueManager/sessionEnded", payload.replace(b', "error": "boom"', b""))
    assert bare.payload() == r_dialogue.DialogueSessionEnded.from_json(payload).payload().encode()


# ---- asr / hotword / tts ------------------------------------------------------------------------------------
def test_start_listening_class_default_does_not_send_audio_captured():
    """The class default is false; Rhasspy's dialogue manager sets it true itself (§7.2)."""
    assert wire(asr.AsrStartListening())["sendAudioCaptured"] is False
    assert wire(asr.AsrStartListening())["stopOnSilence"] is True


def test_empty_transcription_shape():
    message = asr.AsrTextCaptured(text="", likelihood=0, seconds=0, site_id="k", session_id="s")
    payload = wire(message)
    assert (payload["text"], payload["likelihood"], payload["seconds"]) == ("", 0.0, 0.0)


def test_text_captured_source_is_only_sent_when_set_and_rhasspy_ignores_it():
    """Hermesh's ``source`` (which path of a hybrid ASR answered): rhasspy-hermes parses the payload that has it,
    and a textCaptured without it is byte-identical to rhasspy-hermes' own."""
    payload = b'{"text": "add milk", "likelihood": 0.5, "seconds": 1.0, "siteId": "k", "source": "whisper"}'
    parsed = registry.parse("hermes/asr/textCaptured", payload)
    assert parsed.source == "whisper" and wire(parsed)["source"] == "whisper"
    assert r_asr.AsrTextCaptured.from_json(parsed.payload()).text == "add milk"
    bare = asr.AsrTextCaptured(text="add milk", likelihood=0.5, seconds=1.0, site_id="k")
    assert "source" not in wire(bare)
    assert bare.payload() == r_asr.AsrTextCaptured(text="add milk", likelihood=0.5, seconds=1.0,
                                                   site_id="k").payload().encode()


def test_hotword_detected_keeps_the_wakeword_id_in_the_topic_only():
    message = hotword.HotwordDetected(model_id="porcupine.ppn", wakeword_id="porcupine")
    assert "wakewordId" not in wire(message)
    assert message.topic() == "hermes/hotword/porcupine/detected"
    assert wire(message) == json.loads(r_wake.HotwordDetected(model_id="porcupine.ppn").payload())
    parsed = registry.parse("hermes/hotword/hey_jarvis/detected", message.payload())
    assert parsed.wakeword_id == "hey_jarvis"


def test_snips_toggle_session_id_is_ignored():
    parsed = registry.parse("hermes/hotword/toggleOff", b'{"siteId": "k", "sessionId": "s"}')
    assert wire(parsed) == {"siteId": "k", "reason": ""}


def test_say_finished_carries_session_id():
    """reference.md lists sayFinished without sessionId; the code has it (§7.11)."""
    assert wire(tts.TtsSayFinished(id="t", session_id="s")) == {"siteId": "default", "id": "t", "sessionId": "s"}


@pytest.mark.parametrize(
    "wrong, right",
    [
        ("hermes/wake/hotword/porcupine/detected", "hermes/hotword/porcupine/detected"),
        ("hermes/handle/toggleOn", "rhasspy/handle/toggleOn"),
        ("hermes/tts/getVoices", "rhasspy/tts/getVoices"),
        ("hermes/tts/voices", "rhasspy/tts/voices"),
        ("hermes/error/g2p", "rhasspy/error/g2p"),
    ],
)
def test_topics_the_docs_got_wrong_are_unknown(wrong: str, right: str):
    """services.md and docstrings name topics that no Rhasspy service uses (§7.11); the real ones parse."""
    with pytest.raises(UnknownTopicError):
        registry.message_class_for(wrong)
    assert registry.message_class_for(right).TOPIC == right or registry.message_class_for(right).is_topic(right)


def test_error_topics():
    assert errors.error_class_for("asr").TOPIC == "hermes/error/asr"
    assert errors.error_class_for("audioServer/play").TOPIC == "hermes/error/audioServer/play"
    assert errors.G2pError.TOPIC == "rhasspy/error/g2p"
    with pytest.raises(KeyError):
        errors.error_class_for("nothing")


def test_binary_payloads_are_raw_bytes():
    wav = b"RIFF\x00\x00\x00\x00WAVE" + bytes(range(256))
    message = audioserver.AudioPlayBytes(site_id="k", request_id="r", wav_bytes=wav)
    assert message.payload() is wav or message.payload() == wav
    parsed = registry.parse(message.topic(), wav)
    assert parsed.payload() == wav
    # MP3/OGG/FLAC bytes are also played by Rhasspy speakers: playBytes does not insist on WAV.
    assert registry.parse("hermes/audioServer/k/playBytes/r", b"ID3\x04garbage").payload() == b"ID3\x04garbage"
