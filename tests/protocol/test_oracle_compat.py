"""Hermesh messages against the oracle, rhasspy-hermes 0.6.2: same JSON, same topics, both directions.

Every message class that rhasspy-hermes defines is listed in ORACLE_MAP below. For each, a sample with every
field set and a sample with defaults only are built independently on both sides (protocol_samples.py) and
must serialise to the same bytes; each side must parse the other's payload and re-serialise it exactly.
"""

from __future__ import annotations

import inspect
import json
import warnings
from typing import Any, Literal, get_origin

import pytest
from protocol_samples import (
    FULL_SAMPLES,
    ORACLE_SAMPLES,
    SAMPLES,
    TOGGLE_REASON_PAIRS,
    Pick,
    Sample,
    termination,
)
from pydantic import BaseModel

from hermes import (
    asr,
    audioserver,
    dialogue,
    errors,
    g2p,
    handle,
    hotword,
    nlu,
    snips,
    status,
    timer,
    train,
    tts,
)
from hermes.base import HermesMessage
from hermes.registry import MESSAGE_CLASSES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import rhasspyhermes.asr as r_asr
    import rhasspyhermes.audioserver as r_audio
    import rhasspyhermes.dialogue as r_dialogue
    import rhasspyhermes.g2p as r_g2p
    import rhasspyhermes.handle as r_handle
    import rhasspyhermes.nlu as r_nlu
    import rhasspyhermes.train as r_train
    import rhasspyhermes.tts as r_tts
    import rhasspyhermes.wake as r_wake
    from rhasspyhermes.base import Message as OracleMessage

# ---- the mapping: Hermesh class -> rhasspy-hermes 0.6.2 class (same name and topic in every case) -----------
ORACLE_MAP: dict[type[HermesMessage], type[OracleMessage]] = {
    # topic                                                          Hermesh                       rhasspy-hermes
    # hermes/audioServer/<siteId>/audioFrame                         (binary)
    audioserver.AudioFrame: r_audio.AudioFrame,
    # hermes/audioServer/<siteId>/<sessionId>/audioSessionFrame      (binary)
    audioserver.AudioSessionFrame: r_audio.AudioSessionFrame,
    # hermes/audioServer/<siteId>/playBytes/<requestId>              (binary)
    audioserver.AudioPlayBytes: r_audio.AudioPlayBytes,
    # hermes/audioServer/<siteId>/playFinished
    audioserver.AudioPlayFinished: r_audio.AudioPlayFinished,
    # hermes/audioServer/toggleOn | toggleOff
    audioserver.AudioToggleOn: r_audio.AudioToggleOn,
    audioserver.AudioToggleOff: r_audio.AudioToggleOff,
    # hermes/audioServer/toggleSummaryOn | toggleSummaryOff
    audioserver.SummaryToggleOn: r_audio.SummaryToggleOn,
    audioserver.SummaryToggleOff: r_audio.SummaryToggleOff,
    # hermes/audioServer/<siteId>/audioSummary
    audioserver.AudioSummary: r_audio.AudioSummary,
    # rhasspy/audioServer/getDevices | devices | setVolume
    audioserver.AudioGetDevices: r_audio.AudioGetDevices,
    audioserver.AudioDevices: r_audio.AudioDevices,
    audioserver.AudioSetVolume: r_audio.AudioSetVolume,
    # hermes/hotword/toggleOn | toggleOff
    hotword.HotwordToggleOn: r_wake.HotwordToggleOn,
    hotword.HotwordToggleOff: r_wake.HotwordToggleOff,
    # hermes/hotword/<wakewordId>/detected
    hotword.HotwordDetected: r_wake.HotwordDetected,
    # rhasspy/hotword/getHotwords | hotwords | recordExample
    hotword.GetHotwords: r_wake.GetHotwords,
    hotword.Hotwords: r_wake.Hotwords,
    hotword.RecordHotwordExample: r_wake.RecordHotwordExample,
    # rhasspy/hotword/<siteId>/exampleRecorded/<requestId>           (binary)
    hotword.HotwordExampleRecorded: r_wake.HotwordExampleRecorded,
    # hermes/asr/toggleOn | toggleOff | startListening | stopListening | textCaptured
    asr.AsrToggleOn: r_asr.AsrToggleOn,
    asr.AsrToggleOff: r_asr.AsrToggleOff,
    asr.AsrStartListening: r_asr.AsrStartListening,
    asr.AsrStopListening: r_asr.AsrStopListening,
    asr.AsrTextCaptured: r_asr.AsrTextCaptured,
    # rhasspy/asr/recordingFinished
    asr.AsrRecordingFinished: r_asr.AsrRecordingFinished,
    # rhasspy/asr/<siteId>/<sessionId>/audioCaptured                 (binary)
    asr.AsrAudioCaptured: r_asr.AsrAudioCaptured,
    # rhasspy/asr/<siteId>/train | trainSuccess
    asr.AsrTrain: r_asr.AsrTrain,
    asr.AsrTrainSuccess: r_asr.AsrTrainSuccess,
    # hermes/nlu/query | intentParsed | intentNotRecognized
    nlu.NluQuery: r_nlu.NluQuery,
    nlu.NluIntentParsed: r_nlu.NluIntentParsed,
    nlu.NluIntentNotRecognized: r_nlu.NluIntentNotRecognized,
    # hermes/intent/<intentName>
    nlu.NluIntent: r_nlu.NluIntent,
    # rhasspy/nlu/<siteId>/train | trainSuccess
    nlu.NluTrain: r_nlu.NluTrain,
    nlu.NluTrainSuccess: r_nlu.NluTrainSuccess,
    # hermes/dialogueManager/startSession | sessionQueued | sessionStarted | continueSession | endSession |
    #                        sessionEnded | intentNotRecognized | configure
    dialogue.DialogueStartSession: r_dialogue.DialogueStartSession,
    dialogue.DialogueSessionQueued: r_dialogue.DialogueSessionQueued,
    dialogue.DialogueSessionStarted: r_dialogue.DialogueSessionStarted,
    dialogue.DialogueContinueSession: r_dialogue.DialogueContinueSession,
    dialogue.DialogueEndSession: r_dialogue.DialogueEndSession,
    dialogue.DialogueSessionEnded: r_dialogue.DialogueSessionEnded,
    dialogue.DialogueIntentNotRecognized: r_dialogue.DialogueIntentNotRecognized,
    dialogue.DialogueConfigure: r_dialogue.DialogueConfigure,
    # hermes/tts/say | sayFinished; rhasspy/tts/getVoices | voices
    tts.TtsSay: r_tts.TtsSay,
    tts.TtsSayFinished: r_tts.TtsSayFinished,
    tts.GetVoices: r_tts.GetVoices,
    tts.Voices: r_tts.Voices,
    # rhasspy/g2p/pronounce | phonemes
    g2p.G2pPronounce: r_g2p.G2pPronounce,
    g2p.G2pPhonemes: r_g2p.G2pPhonemes,
    # rhasspy/handle/toggleOn | toggleOff
    handle.HandleToggleOn: r_handle.HandleToggleOn,
    handle.HandleToggleOff: r_handle.HandleToggleOff,
    # rhasspy/train/getIntentGraph; rhasspy/train/intentGraph/<requestId> (binary)
    train.IntentGraphRequest: r_train.IntentGraphRequest,
    train.IntentGraph: r_train.IntentGraph,
    # hermes/error/<component>; rhasspy/error/g2p
    errors.AsrError: r_asr.AsrError,
    errors.NluError: r_nlu.NluError,
    errors.HotwordError: r_wake.HotwordError,
    errors.TtsError: r_tts.TtsError,
    errors.DialogueError: r_dialogue.DialogueError,
    errors.AudioPlayError: r_audio.AudioPlayError,
    errors.AudioRecordError: r_audio.AudioRecordError,
    errors.G2pError: r_g2p.G2pError,
}

# Hermesh classes the oracle does not define, and why.
NOT_IN_ORACLE: dict[type[HermesMessage], str] = {
    audioserver.AudioPlayBytesStreaming: "Snips-only streaming playback",
    audioserver.AudioStreamFinished: "Snips-only",
    audioserver.AudioReplayRequest: "Snips-only audio replay",
    audioserver.AudioReplayResponse: "Snips-only audio replay",
    audioserver.AudioRecordTest: "Hermesh: record a test sound from one microphone (web UI device test)",
    audioserver.AudioRecordTestResult: "Hermesh: the test sound recorded",
    audioserver.AudioPlayTest: "Hermesh: play a test sound on one speaker",
    asr.AsrPartialTextCaptured: "Snips-only interim transcripts",
    asr.AsrReload: "Snips-only",
    nlu.NluPartialQuery: "Snips-only slot filling",
    nlu.NluSlotParsed: "Snips-only slot filling",
    errors.HandleError: "Hermesh: intent handler failures",
    errors.TrainError: "Hermesh: trainer failures",
    errors.InjectionError: "Hermesh: injection failures (Snips had no error topic for them)",
    snips.VadUp: "Snips-only voice activity",
    snips.VadDown: "Snips-only voice activity",
    snips.FeedbackSoundToggleOn: "Snips-only feedback sounds",
    snips.FeedbackSoundToggleOff: "Snips-only feedback sounds",
    snips.InjectionPerform: "Snips-only injection",
    snips.InjectionComplete: "Snips-only injection",
    snips.InjectionResetPerform: "Snips-only injection",
    snips.InjectionResetComplete: "Snips-only injection",
    snips.InjectionStatusRequest: "Snips-only injection",
    snips.InjectionStatus: "Snips-only injection",
    snips.TtsRegisterSound: "Snips-only",
    status.ServiceStatus: "Hermesh: retained service status",
    status.ServiceRestart: "Hermesh: restart request to the services",
    status.SiteReleased: "Hermesh: a site id that will not be used again",
    timer.TimerEvent: "Hermesh: timers shown on Wyoming satellites",
    status.DialogueOpenSessions: "Hermesh: the sessions a dialogue manager has open, for its successor after a crash",
}

# Subscribe filters that deliberately differ from the oracle's ``Cls.topic()`` without arguments. The oracle
# ends these with ``#``, which also matches deeper levels that its own topic regex then rejects; Hermesh
# uses ``+`` so the filter matches exactly the topics the class parses.
FILTER_DIFFERENCES = {
    audioserver.AudioPlayBytes: ("hermes/audioServer/+/playBytes/+", "hermes/audioServer/+/playBytes/#"),
    hotword.HotwordExampleRecorded: (
        "rhasspy/hotword/+/exampleRecorded/+",
        "rhasspy/hotword/+/exampleRecorded/#",
    ),
    train.IntentGraph: ("rhasspy/train/intentGraph/+", "rhasspy/train/intentGraph/#"),
}

TOPIC_GETTERS = {
    "site_id": "get_site_id",
    "session_id": "get_session_id",
    "request_id": "get_request_id",
    "wakeword_id": "get_wakeword_id",
    "intent_name": "get_intent_name",
}


def oracle_message_classes() -> set[type]:
    found = set()
    for module in (r_asr, r_audio, r_dialogue, r_g2p, r_handle, r_nlu, r_train, r_tts, r_wake):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, OracleMessage) and cls is not OracleMessage:
                found.add(cls)
    return found


def their_payload_bytes(message: Any) -> bytes:
    payload = message.payload()
    return payload.encode("utf-8") if isinstance(payload, str) else payload


def key_order(value: Any) -> Any:
    """The nested key sequence of a JSON value (dict equality ignores order; the wire does not)."""
    if isinstance(value, dict):
        return [(key, key_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [key_order(item) for item in value]
    return None


# ---- the mapping is complete ------------------------------------------------------------------------------
def test_mapping_covers_every_oracle_class():
    assert set(ORACLE_MAP.values()) == oracle_message_classes()


def test_every_hermesh_class_is_mapped_or_explained():
    assert set(ORACLE_MAP) | set(NOT_IN_ORACLE) == set(MESSAGE_CLASSES)
    assert not set(ORACLE_MAP) & set(NOT_IN_ORACLE)


@pytest.mark.parametrize("ours, theirs", ORACLE_MAP.items(), ids=lambda c: c.__name__)
def test_mapped_classes_share_name_and_binary_flag(ours, theirs):
    assert ours.__name__ == theirs.__name__
    assert ours.BINARY == theirs.is_binary_payload()
    assert ours.has_site_in_topic() == theirs.is_site_in_topic()


def test_every_mapped_class_has_a_full_and_a_defaults_sample():
    variants = {(sample.ours, sample.variant.split("-")[0]) for sample in SAMPLES}
    for ours in ORACLE_MAP:
        assert (ours, "full") in variants, ours.__name__
        if not ours.BINARY:
            assert (ours, "defaults") in variants, ours.__name__
    for sample in ORACLE_SAMPLES:
        assert ORACLE_MAP[sample.ours] is sample.theirs


def _non_default_fields(model: BaseModel, seen: dict[type, set[str]]) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        fixed = get_origin(info.annotation) is Literal  # a discriminator such as init.type has one value
        if fixed or info.is_required() or value != info.get_default(call_default_factory=True):
            seen.setdefault(type(model), set()).add(name)
        for item in value if isinstance(value, list) else [value]:
            for inner in item if isinstance(item, list) else [item]:
                if isinstance(inner, BaseModel):
                    _non_default_fields(inner, seen)
        if isinstance(value, dict):
            for item in value.values():
                for inner in item if isinstance(item, list) else [item]:
                    if isinstance(inner, BaseModel):
                        _non_default_fields(inner, seen)


@pytest.mark.parametrize("sample", FULL_SAMPLES, ids=lambda s: s.id)
def test_full_samples_set_every_field_to_a_non_default_value(sample: Sample):
    """Guards the samples themselves: "full" must exercise every field, nested objects included."""
    seen: dict[type, set[str]] = {}
    _non_default_fields(sample.build_ours(), seen)
    for model, names in seen.items():
        assert names == set(model.model_fields), f"{model.__name__}: not exercised {set(model.model_fields) - names}"


# ---- payloads: same bytes, both directions ------------------------------------------------------------------
@pytest.mark.parametrize("sample", ORACLE_SAMPLES, ids=lambda s: s.id)
def test_our_payload_equals_theirs(sample: Sample):
    ours, theirs = sample.build_ours(), sample.build_theirs()
    our_bytes, their_bytes = ours.payload(), their_payload_bytes(theirs)
    if sample.ours.BINARY:
        assert our_bytes == their_bytes
        return
    assert json.loads(our_bytes) == json.loads(their_bytes), "field values differ"
    assert key_order(json.loads(our_bytes)) == key_order(json.loads(their_bytes)), "key order differs"
    assert our_bytes == their_bytes


@pytest.mark.parametrize("sample", ORACLE_SAMPLES, ids=lambda s: s.id)
def test_their_payload_parsed_by_us_reserialises_exactly(sample: Sample):
    ours, theirs = sample.build_ours(), sample.build_theirs()
    their_topic = theirs.topic(**sample.their_topic_kwargs())
    parsed = sample.ours.from_mqtt(their_topic, theirs.payload())
    assert parsed.payload() == their_payload_bytes(theirs)
    assert parsed == ours
    assert parsed.topic() == their_topic


@pytest.mark.parametrize("sample", ORACLE_SAMPLES, ids=lambda s: s.id)
def test_our_payload_parsed_by_them_reserialises_exactly(sample: Sample):
    ours = sample.build_ours()
    if sample.ours.BINARY:
        field_name = next(iter(sample.theirs.__dataclass_fields__))
        parsed = sample.theirs(**{field_name: ours.payload()})
        assert their_payload_bytes(parsed) == ours.payload()
    else:
        parsed = sample.theirs.from_json(ours.payload())
        assert their_payload_bytes(parsed) == ours.payload()
        assert parsed == sample.build_theirs()


# ---- enum values, every one of them -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ours, theirs, pairs",
    [
        (hotword.HotwordToggleOn, r_wake.HotwordToggleOn, TOGGLE_REASON_PAIRS["hotword"]),
        (hotword.HotwordToggleOff, r_wake.HotwordToggleOff, TOGGLE_REASON_PAIRS["hotword"]),
        (asr.AsrToggleOn, r_asr.AsrToggleOn, TOGGLE_REASON_PAIRS["asr"]),
        (asr.AsrToggleOff, r_asr.AsrToggleOff, TOGGLE_REASON_PAIRS["asr"]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_every_toggle_reason_matches(ours, theirs, pairs):
    assert {ours_reason.value for ours_reason, _ in pairs} == {reason.value for reason in type(pairs[0][1])}
    for ours_reason, their_reason in pairs:
        mine, other = ours(site_id="s", reason=ours_reason), theirs(site_id="s", reason=their_reason)
        assert mine.payload() == their_payload_bytes(other)
        assert ours.from_payload(their_payload_bytes(other)) == mine


@pytest.mark.parametrize("reason", list(dialogue.DialogueSessionTerminationReason), ids=lambda r: r.value)
def test_every_termination_reason_matches(reason):
    sample = Sample(
        dialogue.DialogueSessionEnded,
        r_dialogue.DialogueSessionEnded,
        reason.value,
        {"termination": termination(reason), "session_id": "s1"},
    )
    assert sample.build_ours().payload() == their_payload_bytes(sample.build_theirs())
    assert {r.value for r in dialogue.DialogueSessionTerminationReason} == {
        r.value for r in r_dialogue.DialogueSessionTerminationReason
    }


def test_enum_value_sets_match_the_oracle():
    assert {m.value for m in audioserver.AudioDeviceMode} == {m.value for m in r_audio.AudioDeviceMode}
    assert {m.value for m in dialogue.DialogueActionType} == {m.value for m in r_dialogue.DialogueActionType}
    # rhasspy-hermes types modelType as a free str; its defaults and docs name exactly these two.
    assert {m.value for m in hotword.WakewordModelType} == {"universal", "personal"}


# ---- topics -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample", ORACLE_SAMPLES, ids=lambda s: s.id)
def test_topic_equals_theirs_for_concrete_parameters(sample: Sample):
    ours = sample.build_ours()
    their_topic = sample.theirs.topic(**sample.their_topic_kwargs())
    assert ours.topic() == their_topic
    assert sample.ours.is_topic(their_topic) and sample.theirs.is_topic(ours.topic())
    params = sample.ours.parse_topic(ours.topic())
    assert params is not None
    for name, value in params.items():
        getter = getattr(sample.theirs, TOPIC_GETTERS[name], None)
        if getter is not None:
            assert getter(ours.topic()) == value == str(getattr(ours, name))


@pytest.mark.parametrize("ours, theirs", ORACLE_MAP.items(), ids=lambda c: c.__name__)
def test_subscribe_filter_matches_theirs(ours, theirs):
    if ours in FILTER_DIFFERENCES:
        our_filter, their_filter = FILTER_DIFFERENCES[ours]
        assert ours.subscribe_filter() == our_filter
        assert theirs.topic() == their_filter
    else:
        assert ours.subscribe_filter() == theirs.topic()
    if ours.has_site_in_topic():
        their_filter = theirs.topic(site_id="kitchen")
        if ours in FILTER_DIFFERENCES:
            their_filter = their_filter.removesuffix("#") + "+"
        assert ours.subscribe_filter(site_id="kitchen") == their_filter


def _topic_corpus() -> list[str]:
    """Every sample topic of every class, plus near misses around each of them."""
    topics: set[str] = set()
    for sample in SAMPLES:
        topic = sample.build_ours().topic()
        levels = topic.split("/")
        topics.update(
            {
                topic,
                topic + "/extra",
                topic + "/",
                "/" + topic,
                "x/" + topic,
                "/".join(levels[:-1]),
                topic.upper(),
                topic.replace("kitchen", ""),
                topic + "x",
                "/".join(levels[:1] + levels[2:]),
            }
        )
        for index in range(len(levels)):
            topics.add("/".join(levels[:index] + ["other"] + levels[index + 1 :]))
    topics.update(
        {
            "",
            "/",
            "hermes",
            "hermes/intent",
            "hermes/intent/",
            "hermes/intent/a/b",
            "hermes/intent/Domain/Intent/Sub",
            "hermes/intent//",
            "hermes/hotword//detected",
            "hermes/audioServer/a b/audioFrame",
            "hermes/audioServer/ü/playBytes/ß",
        }
    )
    return sorted(topics)


TOPIC_CORPUS = _topic_corpus()


@pytest.mark.parametrize("ours, theirs", ORACLE_MAP.items(), ids=lambda c: c.__name__)
def test_is_topic_agrees_with_theirs(ours, theirs):
    positives = 0
    for topic in TOPIC_CORPUS:
        assert ours.is_topic(topic) == theirs.is_topic(topic), topic
        positives += ours.is_topic(topic)
    assert positives >= 1


def test_documented_is_topic_differences():
    """Where Hermesh deliberately disagrees with the oracle's ``re.match(r"^...$")`` topic checks."""
    # ``$`` also matches before a trailing newline; Hermesh matches the whole string.
    assert r_audio.AudioFrame.is_topic("hermes/audioServer/kitchen/audioFrame\n")
    assert not audioserver.AudioFrame.is_topic("hermes/audioServer/kitchen/audioFrame\n")
    # A subscribe filter is not a topic: MQTT forbids wildcards in topic names, so no message can carry one.
    assert r_wake.HotwordDetected.is_topic("hermes/hotword/+/detected")
    assert not hotword.HotwordDetected.is_topic("hermes/hotword/+/detected")
    assert r_nlu.NluIntent.is_topic("hermes/intent/#")
    assert not nlu.NluIntent.is_topic("hermes/intent/#")


def test_graph_path_is_optional_in_hermesh_only():
    """Hermesh trains from sentence texts, so graphPath may be absent; it is still emitted (as "") for Rhasspy."""
    ours = asr.AsrTrain(sentences={"a.ini": "[A]\na\n"}, site_id="kitchen")
    assert json.loads(ours.payload())["graphPath"] == ""
    assert r_asr.AsrTrain.from_json(ours.payload()).graph_path == ""
    with pytest.raises(KeyError):
        r_asr.AsrTrain.from_json(json.dumps({"sentences": {}}))
    assert asr.AsrTrain.from_payload(json.dumps({"sentences": {}})).graph_path == ""


def test_snake_case_payloads_parse_like_the_oracle():
    """dataclasses-json accepts snake_case keys; so does Hermesh, with the same result."""
    snake = {
        "input": "hello",
        "intent": {"intent_name": "Greet", "confidence_score": 0.5},
        "site_id": "kitchen",
        "session_id": "s1",
        "slots": [
            {
                "entity": "e",
                "value": {"kind": "Unknown", "value": "v"},
                "slot_name": "n",
                "raw_value": "V",
                "range": {"start": 0, "end": 1, "raw_start": 0, "raw_end": 1},
            }
        ],
        "asr_tokens": [[{"value": "hello", "confidence": 1.0, "range_start": 0, "range_end": 5}]],
        "raw_input": "Hello",
        "wakeword_id": "w",
        "custom_data": "c",
        "asr_confidence": 0.5,
    }
    theirs = r_nlu.NluIntent.from_dict(json.loads(json.dumps(snake)))
    ours = nlu.NluIntent.from_payload(json.dumps(snake))
    assert ours.payload() == their_payload_bytes(theirs)


def test_pick_values_are_consistent():
    """The per-side enum spellings in the samples serialise to the same string."""
    for sample in ORACLE_SAMPLES:
        for value in sample.kwargs.values():
            if isinstance(value, Pick):
                assert getattr(value.ours, "value", value.ours) == getattr(value.theirs, "value", value.theirs)
