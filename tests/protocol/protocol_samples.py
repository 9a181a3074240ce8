"""Sample messages for the protocol tests: one spec per message, built independently for Hermesh and the oracle.

A spec is written once in snake_case Python terms. ``build(spec, "ours")`` calls our pydantic constructors,
``build(spec, "theirs")`` calls rhasspy-hermes 0.6.2's dataclass constructors, so neither side is built by the
other's parser. ``Obj`` is a nested object, ``Pick`` a value that differs per side (enum members).
"""

from __future__ import annotations

import io
import warnings
import wave
from dataclasses import dataclass, field
from typing import Any

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
from hermes.common import ToggleReason

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # rhasspyhermes.audioserver imports audioop
    import rhasspyhermes.asr as r_asr
    import rhasspyhermes.audioserver as r_audio
    import rhasspyhermes.dialogue as r_dialogue
    import rhasspyhermes.g2p as r_g2p
    import rhasspyhermes.handle as r_handle
    import rhasspyhermes.intent as r_intent
    import rhasspyhermes.nlu as r_nlu
    import rhasspyhermes.train as r_train
    import rhasspyhermes.tts as r_tts
    import rhasspyhermes.wake as r_wake


def small_wav(samples: int = 160, rate: int = 16000) -> bytes:
    """A real, tiny 16-bit mono WAV file (a ramp, so the bytes are not all zero)."""
    pcm = b"".join(int(i * 37 % 20000 - 10000).to_bytes(2, "little", signed=True) for i in range(samples))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


WAV = small_wav()
# Non-ASCII text checks ensure_ascii=False on both sides.
TEXT = "Schalte das Licht in der Küche ein – bitte"


@dataclass(frozen=True)
class Obj:
    """A nested object (or a whole message): one class per side, the same keyword arguments."""

    ours: type | None
    theirs: type | None
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Pick:
    """A value that is spelled differently per side (e.g. their enum member vs ours)."""

    ours: Any
    theirs: Any


def build(value: Any, side: str) -> Any:
    if isinstance(value, Obj):
        cls = getattr(value, side)
        assert cls is not None, f"no {side} class for {value}"
        return cls(**{key: build(item, side) for key, item in value.kwargs.items()})
    if isinstance(value, Pick):
        return getattr(value, side)
    if isinstance(value, list):
        return [build(item, side) for item in value]
    if isinstance(value, dict):
        return {key: build(item, side) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Sample:
    """One concrete message.

    ``kwargs`` go to both constructors; ``topic_fields`` are Hermesh fields that live only in the topic (the
    oracle takes them as ``Cls.topic(**kw)`` instead); ``their_topic`` overrides the oracle's topic kwargs;
    ``their_rename`` renames a keyword for the oracle (IntentGraph's ``graph_bytes``).
    """

    ours: type[HermesMessage]
    theirs: type | None
    variant: str
    kwargs: dict[str, Any]
    topic_fields: dict[str, Any] = field(default_factory=dict)
    their_topic: dict[str, Any] | None = None
    their_rename: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.ours.__name__}-{self.variant}"

    def build_ours(self) -> HermesMessage:
        return build(Obj(self.ours, None, {**self.kwargs, **self.topic_fields}), "ours")

    def build_theirs(self) -> Any:
        kwargs = {self.their_rename.get(key, key): value for key, value in self.kwargs.items()}
        return build(Obj(None, self.theirs, kwargs), "theirs")

    def their_topic_kwargs(self) -> dict[str, Any]:
        return dict(self.topic_fields if self.their_topic is None else self.their_topic)


# ---- nested objects ---------------------------------------------------------------------------------------
def asr_token(value: str, start: int, with_time: bool = True) -> Obj:
    time = Obj(asr.AsrTokenTime, r_nlu.AsrTokenTime, {"start": 0.25, "end": 0.75}) if with_time else None
    return Obj(
        asr.AsrToken,
        r_nlu.AsrToken,
        {"value": value, "confidence": 0.5, "range_start": start, "range_end": start + len(value), "time": time},
    )


ASR_TOKENS = [[asr_token("schalte", 0), asr_token("das", 8, with_time=False)], [asr_token("licht", 0)]]

SLOT_FULL = Obj(
    nlu.Slot,
    r_intent.Slot,
    {
        "entity": "rooms",
        "value": {"kind": "Unknown", "value": "küche"},
        "slot_name": "room",
        "raw_value": "Küche",
        "confidence": 0.5,
        "range": Obj(nlu.SlotRange, r_intent.SlotRange, {"start": 12, "end": 17, "raw_start": 13, "raw_end": 18}),
    },
)
SLOT_NUMBER = Obj(
    nlu.Slot,
    r_intent.Slot,
    {
        "entity": "brightness",
        "value": {"kind": "Number", "value": 42},
        "slot_name": "level",
        "raw_value": "forty two",
        "confidence": 1.0,
        "range": Obj(nlu.SlotRange, r_intent.SlotRange, {"start": 1, "end": 2}),
    },
)
SLOT_MINIMAL = Obj(nlu.Slot, r_intent.Slot, {"entity": "colour", "value": {"kind": "Unknown", "value": "red"}})

INTENT = Obj(nlu.Intent, r_intent.Intent, {"intent_name": "ChangeLightState", "confidence_score": 0.75})

ACTION_FULL = Obj(
    dialogue.DialogueAction,
    r_dialogue.DialogueAction,
    {"can_be_enqueued": False, "text": TEXT, "intent_filter": ["A", "B"], "send_intent_not_recognized": True},
)
NOTIFICATION = Obj(dialogue.DialogueNotification, r_dialogue.DialogueNotification, {"text": TEXT})

TOGGLE_REASON_PAIRS = {
    "hotword": [(reason, r_wake.HotwordToggleReason(reason.value)) for reason in ToggleReason],
    "asr": [(reason, r_asr.AsrToggleReason(reason.value)) for reason in ToggleReason],
}


def termination(reason: dialogue.DialogueSessionTerminationReason) -> Obj:
    return Obj(
        dialogue.DialogueSessionTermination,
        r_dialogue.DialogueSessionTermination,
        {"reason": Pick(reason, r_dialogue.DialogueSessionTerminationReason(reason.value))},
    )


def _error_samples(ours: type[HermesMessage], theirs: type | None) -> list[Sample]:
    return [
        Sample(ours, theirs, "full", {"error": "boom: ünicode", "site_id": "kitchen", "context": "ctx", "session_id": "s1"}),
        Sample(ours, theirs, "defaults", {"error": "boom"}),
    ]


def _site_only(ours: type[HermesMessage], theirs: type | None) -> list[Sample]:
    return [Sample(ours, theirs, "full", {"site_id": "kitchen"}), Sample(ours, theirs, "defaults", {})]


def _toggle(ours: type[HermesMessage], theirs: type, reasons: list[tuple[Any, Any]]) -> list[Sample]:
    play_audio = next(pair for pair in reasons if pair[0].value == "playAudio")
    return [
        Sample(ours, theirs, "full", {"site_id": "kitchen", "reason": Pick(*play_audio)}),
        Sample(ours, theirs, "defaults", {}),
    ]


TEXT_CAPTURED_FULL = {
    "text": TEXT,
    "likelihood": 0.75,
    "seconds": 1.5,
    "site_id": "kitchen",
    "session_id": "s1",
    "wakeword_id": "porcupine",
    "asr_tokens": ASR_TOKENS,
    "lang": "de",
}
TRAIN_FULL = {
    "graph_path": "/tmp/graph.pickle.gz",
    "id": "train-1",
    "graph_format": "pickle-gzip",
    "sentences": {"sentences.ini": "[Hello]\nhello world\n"},
    "slots": {"rooms": ["kitchen", "living room"]},
}
NLU_INTENT_FULL = {
    "input": "schalte das licht in der küche ein",
    "intent": INTENT,
    "site_id": "kitchen",
    "id": "q1",
    "slots": [SLOT_FULL, SLOT_NUMBER, SLOT_MINIMAL],
    "session_id": "s1",
    "custom_data": "porcupine",
    "asr_tokens": ASR_TOKENS,
    "asr_confidence": 0.5,
    "raw_input": TEXT,
    "wakeword_id": "porcupine",
    "lang": "de",
}

# ---- every message class: a "full" sample (every field non-default) and a "defaults" sample ------------------
SAMPLES: list[Sample] = [
    # audio server
    Sample(audioserver.AudioFrame, r_audio.AudioFrame, "full", {"wav_bytes": WAV}, {"site_id": "kitchen"}),
    Sample(audioserver.AudioFrame, r_audio.AudioFrame, "defaults", {"wav_bytes": b""}, their_topic={"site_id": "default"}),
    Sample(
        audioserver.AudioSessionFrame,
        r_audio.AudioSessionFrame,
        "full",
        {"wav_bytes": WAV},
        {"site_id": "kitchen", "session_id": "s1"},
    ),
    Sample(audioserver.AudioPlayBytes, r_audio.AudioPlayBytes, "full", {"wav_bytes": WAV}, {"site_id": "kitchen", "request_id": "r1"}),
    Sample(
        audioserver.AudioPlayFinished,
        r_audio.AudioPlayFinished,
        "full",
        {"id": "r1", "session_id": "r1"},
        {"site_id": "kitchen"},
    ),
    Sample(audioserver.AudioPlayFinished, r_audio.AudioPlayFinished, "defaults", {}, their_topic={"site_id": "default"}),
    *_site_only(audioserver.AudioToggleOn, r_audio.AudioToggleOn),
    *_site_only(audioserver.AudioToggleOff, r_audio.AudioToggleOff),
    *_site_only(audioserver.SummaryToggleOn, r_audio.SummaryToggleOn),
    *_site_only(audioserver.SummaryToggleOff, r_audio.SummaryToggleOff),
    Sample(
        audioserver.AudioSummary,
        r_audio.AudioSummary,
        "full",
        {"debiased_energy": 123.5, "is_speech": True},
        {"site_id": "kitchen"},
    ),
    Sample(audioserver.AudioSummary, r_audio.AudioSummary, "defaults", {"debiased_energy": 0.0}, their_topic={"site_id": "default"}),
    Sample(
        audioserver.AudioGetDevices,
        r_audio.AudioGetDevices,
        "full",
        {
            "modes": [
                Pick(audioserver.AudioDeviceMode.INPUT, r_audio.AudioDeviceMode.INPUT),
                Pick(audioserver.AudioDeviceMode.OUTPUT, r_audio.AudioDeviceMode.OUTPUT),
            ],
            "site_id": "kitchen",
            "id": "d1",
            "test": True,
        },
    ),
    Sample(
        audioserver.AudioGetDevices,
        r_audio.AudioGetDevices,
        "defaults",
        {"modes": [Pick(audioserver.AudioDeviceMode.OUTPUT, r_audio.AudioDeviceMode.OUTPUT)]},
    ),
    Sample(
        audioserver.AudioDevices,
        r_audio.AudioDevices,
        "full",
        {
            "devices": [
                Obj(
                    audioserver.AudioDevice,
                    r_audio.AudioDevice,
                    {
                        "mode": Pick(audioserver.AudioDeviceMode.INPUT, r_audio.AudioDeviceMode.INPUT),
                        "id": "hw:1,0",
                        "name": "USB mic",
                        "description": "Füll description",
                        "working": True,
                    },
                ),
                Obj(
                    audioserver.AudioDevice,
                    r_audio.AudioDevice,
                    {"mode": Pick(audioserver.AudioDeviceMode.OUTPUT, r_audio.AudioDeviceMode.OUTPUT), "id": "default"},
                ),
            ],
            "site_id": "kitchen",
            "id": "d1",
        },
    ),
    Sample(audioserver.AudioDevices, r_audio.AudioDevices, "defaults", {"devices": []}),
    Sample(audioserver.AudioSetVolume, r_audio.AudioSetVolume, "full", {"volume": 0.25, "site_id": "kitchen"}),
    Sample(audioserver.AudioSetVolume, r_audio.AudioSetVolume, "defaults", {"volume": 1.0}),
    # Snips-only audio messages (no oracle)
    Sample(
        audioserver.AudioPlayBytesStreaming,
        None,
        "full",
        {"wav_bytes": WAV},
        {"site_id": "kitchen", "request_id": "r1", "chunk_number": 3, "is_last_chunk": 1},
    ),
    Sample(audioserver.AudioStreamFinished, None, "full", {"id": "r1", "site_id": "kitchen"}),
    Sample(audioserver.AudioStreamFinished, None, "defaults", {}),
    Sample(audioserver.AudioReplayRequest, None, "full", {"request_id": "r1", "start_at_ms": 500, "site_id": "kitchen"}),
    Sample(audioserver.AudioReplayResponse, None, "full", {"wav_bytes": WAV}, {"site_id": "kitchen"}),
    # Hermesh's device tests (no oracle)
    Sample(audioserver.AudioRecordTest, None, "full", {"device": "3", "seconds": 2.5, "id": "t1", "site_id": "kitchen"}),
    Sample(audioserver.AudioRecordTest, None, "defaults", {"device": "0", "id": "t1"}),
    Sample(audioserver.AudioRecordTestResult, None, "full", {"wav_bytes": WAV}, {"site_id": "kitchen", "request_id": "t1"}),
    Sample(audioserver.AudioPlayTest, None, "full", {"wav_bytes": WAV},
           {"site_id": "kitchen", "device": "USB speaker", "request_id": "t2"}),
    # hotword
    *_toggle(hotword.HotwordToggleOn, r_wake.HotwordToggleOn, TOGGLE_REASON_PAIRS["hotword"]),
    *_toggle(hotword.HotwordToggleOff, r_wake.HotwordToggleOff, TOGGLE_REASON_PAIRS["hotword"]),
    Sample(
        hotword.HotwordDetected,
        r_wake.HotwordDetected,
        "full",
        {
            "model_id": "porcupine.ppn",
            "model_version": "1.9",
            "model_type": Pick(hotword.WakewordModelType.UNIVERSAL, "universal"),
            "current_sensitivity": 0.5,
            "site_id": "kitchen",
            "session_id": "s1",
            "send_audio_captured": True,
            "lang": "de",
            "custom_entities": {"room": "kitchen", "list": [1, 2.5, None, {"nested": True}]},
        },
        {"wakeword_id": "porcupine"},
    ),
    Sample(
        hotword.HotwordDetected,
        r_wake.HotwordDetected,
        "defaults",
        {"model_id": "porcupine"},
        their_topic={"wakeword_id": "default"},
    ),
    Sample(hotword.GetHotwords, r_wake.GetHotwords, "full", {"site_id": "kitchen", "id": "h1"}),
    Sample(hotword.GetHotwords, r_wake.GetHotwords, "defaults", {}),
    Sample(
        hotword.Hotwords,
        r_wake.Hotwords,
        "full",
        {
            "models": [
                Obj(
                    hotword.HotwordModel,
                    r_wake.Hotword,
                    {
                        "model_id": "porcupine",
                        "model_words": "porcupine",
                        "model_version": "2",
                        "model_type": Pick(hotword.WakewordModelType.UNIVERSAL, "universal"),
                    },
                ),
                Obj(hotword.HotwordModel, r_wake.Hotword, {"model_id": "hey", "model_words": "hey there"}),
            ],
            "site_id": "kitchen",
            "id": "h1",
        },
    ),
    Sample(hotword.Hotwords, r_wake.Hotwords, "defaults", {"models": []}),
    Sample(hotword.RecordHotwordExample, r_wake.RecordHotwordExample, "full", {"id": "e1", "site_id": "kitchen"}),
    Sample(hotword.RecordHotwordExample, r_wake.RecordHotwordExample, "defaults", {"id": "e1"}),
    Sample(
        hotword.HotwordExampleRecorded,
        r_wake.HotwordExampleRecorded,
        "full",
        {"wav_bytes": WAV},
        {"site_id": "kitchen", "request_id": "e1"},
    ),
    # asr
    *_toggle(asr.AsrToggleOn, r_asr.AsrToggleOn, TOGGLE_REASON_PAIRS["asr"]),
    *_toggle(asr.AsrToggleOff, r_asr.AsrToggleOff, TOGGLE_REASON_PAIRS["asr"]),
    Sample(
        asr.AsrStartListening,
        r_asr.AsrStartListening,
        "full",
        {
            "site_id": "kitchen",
            "session_id": "s1",
            "lang": "de",
            "stop_on_silence": False,
            "send_audio_captured": True,
            "wakeword_id": "porcupine",
            "intent_filter": ["ChangeLightState", "GetTime"],
        },
    ),
    Sample(asr.AsrStartListening, r_asr.AsrStartListening, "defaults", {}),
    Sample(asr.AsrStopListening, r_asr.AsrStopListening, "full", {"site_id": "kitchen", "session_id": "s1"}),
    Sample(asr.AsrStopListening, r_asr.AsrStopListening, "defaults", {}),
    # every field rhasspy-hermes has; Hermesh's source (which path of a hybrid answered) is in the "full" one only
    Sample(asr.AsrTextCaptured, r_asr.AsrTextCaptured, "rhasspy", TEXT_CAPTURED_FULL),
    Sample(asr.AsrTextCaptured, None, "full", {**TEXT_CAPTURED_FULL, "source": "whisper"}),
    Sample(asr.AsrTextCaptured, r_asr.AsrTextCaptured, "defaults", {"text": "", "likelihood": 0.0, "seconds": 0.0}),
    Sample(asr.AsrRecordingFinished, r_asr.AsrRecordingFinished, "full", {"site_id": "kitchen", "session_id": "s1"}),
    Sample(asr.AsrRecordingFinished, r_asr.AsrRecordingFinished, "defaults", {}),
    Sample(
        asr.AsrAudioCaptured,
        r_asr.AsrAudioCaptured,
        "full",
        {"wav_bytes": WAV},
        {"site_id": "kitchen", "session_id": "s1"},
    ),
    Sample(asr.AsrTrain, r_asr.AsrTrain, "full", TRAIN_FULL, {"site_id": "kitchen"}),
    # graphPath is required by rhasspy-hermes and optional ("") in Hermesh: see test_oracle_compat.
    Sample(asr.AsrTrain, r_asr.AsrTrain, "defaults", {"graph_path": ""}, their_topic={"site_id": "default"}),
    Sample(asr.AsrTrainSuccess, r_asr.AsrTrainSuccess, "full", {"id": "train-1"}, {"site_id": "kitchen"}),
    Sample(asr.AsrTrainSuccess, r_asr.AsrTrainSuccess, "defaults", {}, their_topic={"site_id": "default"}),
    Sample(asr.AsrPartialTextCaptured, None, "full", {**TEXT_CAPTURED_FULL, "source": "grammar"}),
    Sample(asr.AsrReload, None, "full", {"site_id": "kitchen"}),
    # nlu
    Sample(
        nlu.NluQuery,
        r_nlu.NluQuery,
        "full",
        {
            "input": TEXT,
            "site_id": "kitchen",
            "id": "q1",
            "intent_filter": ["ChangeLightState"],
            "session_id": "s1",
            "wakeword_id": "porcupine",
            "lang": "de",
            "custom_data": "{\"json\": \"inside\"}",
            "asr_confidence": 0.5,
            "custom_entities": {"room": {"kind": "Unknown", "value": "kitchen"}},
        },
    ),
    Sample(nlu.NluQuery, r_nlu.NluQuery, "defaults", {"input": "hello"}),
    Sample(
        nlu.NluIntentParsed,
        r_nlu.NluIntentParsed,
        "full",
        {
            "input": "schalte das licht ein",
            "intent": INTENT,
            "site_id": "kitchen",
            "id": "q1",
            "slots": [SLOT_FULL, SLOT_MINIMAL],
            "session_id": "s1",
        },
    ),
    Sample(nlu.NluIntentParsed, r_nlu.NluIntentParsed, "defaults", {"input": "hello", "intent": INTENT}),
    Sample(nlu.NluIntent, r_nlu.NluIntent, "full", NLU_INTENT_FULL, their_topic={"intent_name": "ChangeLightState"}),
    Sample(
        nlu.NluIntent,
        r_nlu.NluIntent,
        "defaults",
        {"input": "hello", "intent": INTENT},
        their_topic={"intent_name": "ChangeLightState"},
    ),
    Sample(
        nlu.NluIntentNotRecognized,
        r_nlu.NluIntentNotRecognized,
        "full",
        {"input": TEXT, "site_id": "kitchen", "id": "q1", "custom_data": "cd", "session_id": "s1"},
    ),
    Sample(nlu.NluIntentNotRecognized, r_nlu.NluIntentNotRecognized, "defaults", {"input": ""}),
    Sample(nlu.NluTrain, r_nlu.NluTrain, "full", TRAIN_FULL, {"site_id": "kitchen"}),
    Sample(nlu.NluTrain, r_nlu.NluTrain, "defaults", {"graph_path": ""}, their_topic={"site_id": "default"}),
    Sample(nlu.NluTrainSuccess, r_nlu.NluTrainSuccess, "full", {"id": "train-1"}, {"site_id": "kitchen"}),
    Sample(nlu.NluTrainSuccess, r_nlu.NluTrainSuccess, "defaults", {}, their_topic={"site_id": "default"}),
    Sample(
        nlu.NluPartialQuery,
        None,
        "full",
        {"input": "an", "intent_name": "SetTimer", "slot_name": "duration", "id": "p1", "session_id": "s1"},
    ),
    Sample(
        nlu.NluSlotParsed,
        None,
        "full",
        {"input": "red", "intent_name": "SetColour", "id": "p1", "slot": SLOT_FULL, "session_id": "s1"},
    ),
    # dialogue
    Sample(
        dialogue.DialogueStartSession,
        r_dialogue.DialogueStartSession,
        "full",
        {"init": ACTION_FULL, "site_id": "kitchen", "custom_data": "cd", "lang": "de"},
    ),
    Sample(
        dialogue.DialogueStartSession,
        r_dialogue.DialogueStartSession,
        "full-notification",
        {"init": NOTIFICATION, "site_id": "kitchen", "custom_data": "cd", "lang": "de"},
    ),
    Sample(
        dialogue.DialogueStartSession,
        r_dialogue.DialogueStartSession,
        "defaults",
        {"init": Obj(dialogue.DialogueAction, r_dialogue.DialogueAction, {"can_be_enqueued": False})},
    ),
    Sample(
        dialogue.DialogueSessionQueued,
        r_dialogue.DialogueSessionQueued,
        "full",
        {"session_id": "s1", "site_id": "kitchen", "custom_data": "cd"},
    ),
    Sample(dialogue.DialogueSessionQueued, r_dialogue.DialogueSessionQueued, "defaults", {"session_id": "s1"}),
    Sample(
        dialogue.DialogueSessionStarted,
        r_dialogue.DialogueSessionStarted,
        "full",
        {"session_id": "s1", "site_id": "kitchen", "custom_data": "cd", "lang": "de"},
    ),
    Sample(dialogue.DialogueSessionStarted, r_dialogue.DialogueSessionStarted, "defaults", {"session_id": "s1"}),
    Sample(
        dialogue.DialogueContinueSession,
        r_dialogue.DialogueContinueSession,
        "full",
        {
            "session_id": "s1",
            "custom_data": "cd",
            "text": TEXT,
            "intent_filter": ["A"],
            "send_intent_not_recognized": True,
            "slot": "room",
            "lang": "de",
        },
    ),
    Sample(dialogue.DialogueContinueSession, r_dialogue.DialogueContinueSession, "defaults", {"session_id": "s1"}),
    Sample(
        dialogue.DialogueEndSession,
        r_dialogue.DialogueEndSession,
        "full",
        {"session_id": "s1", "text": TEXT, "custom_data": "cd"},
    ),
    Sample(dialogue.DialogueEndSession, r_dialogue.DialogueEndSession, "defaults", {"session_id": "s1"}),
    Sample(
        dialogue.DialogueSessionEnded,
        r_dialogue.DialogueSessionEnded,
        "aborted",
        {
            "termination": termination(dialogue.DialogueSessionTerminationReason.ABORTED_BY_USER),
            "session_id": "s1",
            "site_id": "kitchen",
            "custom_data": "cd",
        },
    ),
    Sample(  # Snips' error text: rhasspy-hermes has no field for it (it drops it when parsing)
        dialogue.DialogueSessionEnded,
        None,
        "full",
        {
            "termination": Obj(dialogue.DialogueSessionTermination, None,
                               {"reason": dialogue.DialogueSessionTerminationReason.ERROR,
                                "error": "the asr service went offline"}),
            "session_id": "s1",
            "site_id": "kitchen",
            "custom_data": "cd",
        },
    ),
    Sample(
        dialogue.DialogueSessionEnded,
        r_dialogue.DialogueSessionEnded,
        "defaults",
        {"termination": termination(dialogue.DialogueSessionTerminationReason.NOMINAL), "session_id": "s1"},
    ),
    Sample(
        dialogue.DialogueIntentNotRecognized,
        r_dialogue.DialogueIntentNotRecognized,
        "full",
        {"session_id": "s1", "site_id": "kitchen", "input": TEXT, "custom_data": "cd"},
    ),
    Sample(dialogue.DialogueIntentNotRecognized, r_dialogue.DialogueIntentNotRecognized, "defaults", {"session_id": "s1"}),
    Sample(
        dialogue.DialogueConfigure,
        r_dialogue.DialogueConfigure,
        "full",
        {
            "intents": [
                Obj(dialogue.DialogueConfigureIntent, r_dialogue.DialogueConfigureIntent, {"intent_id": "A", "enable": True}),
                Obj(dialogue.DialogueConfigureIntent, r_dialogue.DialogueConfigureIntent, {"intent_id": "B", "enable": False}),
            ],
            "site_id": "kitchen",
        },
    ),
    Sample(dialogue.DialogueConfigure, r_dialogue.DialogueConfigure, "defaults", {"intents": []}),
    # tts
    Sample(
        tts.TtsSay,
        r_tts.TtsSay,
        "rhasspy-fields",
        {"text": TEXT, "site_id": "kitchen", "lang": "de", "id": "t1", "session_id": "s1", "volume": 0.5},
    ),
    Sample(  # Hermesh's voice, stream and speaker: rhasspy-hermes has no fields for them (it drops them parsing)
        tts.TtsSay,
        None,
        "full",
        {"text": TEXT, "site_id": "kitchen", "lang": "de", "id": "t1", "session_id": "s1", "volume": 0.5,
         "voice": "en_US-joe-medium", "stream": True, "speaker": "slow_joe"},
    ),
    Sample(tts.TtsSay, r_tts.TtsSay, "defaults", {"text": "hi"}),
    Sample(tts.TtsSayFinished, r_tts.TtsSayFinished, "full", {"site_id": "kitchen", "id": "t1", "session_id": "s1"}),
    Sample(tts.TtsSayFinished, r_tts.TtsSayFinished, "defaults", {}),
    Sample(tts.GetVoices, r_tts.GetVoices, "full", {"id": "v1", "site_id": "kitchen"}),
    Sample(tts.GetVoices, r_tts.GetVoices, "defaults", {}),
    Sample(
        tts.Voices,
        r_tts.Voices,
        "rhasspy-fields",
        {
            "voices": [
                Obj(tts.Voice, r_tts.Voice, {"voice_id": "de", "description": "Deutsch (espeak-ng)"}),
                Obj(tts.Voice, r_tts.Voice, {"voice_id": "en-us"}),
            ],
            "id": "v1",
            "site_id": "kitchen",
        },
    ),
    Sample(  # with Hermesh's languages and speakers of each voice
        tts.Voices,
        None,
        "full",
        {
            "voices": [
                Obj(tts.Voice, None, {"voice_id": "en_US-joe-medium", "description": "English (United States)",
                                      "languages": ["en_US"], "speakers": ["joe"]}),
            ],
            "id": "v1",
            "site_id": "kitchen",
        },
    ),
    Sample(tts.Voices, r_tts.Voices, "defaults", {"voices": []}),
    # g2p
    Sample(
        g2p.G2pPronounce,
        r_g2p.G2pPronounce,
        "full",
        {"words": ["hello", "wörld"], "id": "g1", "site_id": "kitchen", "session_id": "s1", "num_guesses": 2},
    ),
    Sample(g2p.G2pPronounce, r_g2p.G2pPronounce, "defaults", {"words": []}),
    Sample(
        g2p.G2pPhonemes,
        r_g2p.G2pPhonemes,
        "full",
        {
            "word_phonemes": {
                "hello": [
                    Obj(g2p.G2pPronunciation, r_g2p.G2pPronunciation, {"phonemes": ["HH", "AH", "L", "OW"], "guessed": False}),
                    Obj(g2p.G2pPronunciation, r_g2p.G2pPronunciation, {"phonemes": ["HH", "EH", "L", "OW"]}),
                ],
                "wörld": [Obj(g2p.G2pPronunciation, r_g2p.G2pPronunciation, {"phonemes": ["W"], "guessed": True})],
            },
            "id": "g1",
            "site_id": "kitchen",
            "session_id": "s1",
        },
    ),
    Sample(g2p.G2pPhonemes, r_g2p.G2pPhonemes, "defaults", {"word_phonemes": {}}),
    # handle
    *_site_only(handle.HandleToggleOn, r_handle.HandleToggleOn),
    *_site_only(handle.HandleToggleOff, r_handle.HandleToggleOff),
    # train
    Sample(train.IntentGraphRequest, r_train.IntentGraphRequest, "full", {"id": "g1", "site_id": "kitchen"}),
    Sample(train.IntentGraphRequest, r_train.IntentGraphRequest, "defaults", {"id": "g1"}),
    Sample(
        train.IntentGraph,
        r_train.IntentGraph,
        "full",
        {"wav_bytes": b"\x1f\x8b\x08\x00binary graph \x00\xff"},
        {"request_id": "g1"},
        their_rename={"wav_bytes": "graph_bytes"},
    ),
    # errors
    *_error_samples(errors.AsrError, r_asr.AsrError),
    *_error_samples(errors.NluError, r_nlu.NluError),
    *_error_samples(errors.HotwordError, r_wake.HotwordError),
    *_error_samples(errors.TtsError, r_tts.TtsError),
    *_error_samples(errors.DialogueError, r_dialogue.DialogueError),
    *_error_samples(errors.AudioPlayError, r_audio.AudioPlayError),
    *_error_samples(errors.AudioRecordError, r_audio.AudioRecordError),
    *_error_samples(errors.G2pError, r_g2p.G2pError),
    *_error_samples(errors.HandleError, None),
    *_error_samples(errors.TrainError, None),
    *_error_samples(errors.InjectionError, None),
    # Snips-only
    Sample(snips.VadUp, None, "full", {"site_id": "kitchen", "signal_ms": 1200}),
    Sample(snips.VadDown, None, "full", {"site_id": "kitchen", "signal_ms": 2400}),
    Sample(snips.FeedbackSoundToggleOn, None, "full", {"site_id": "kitchen", "session_id": "s1"}),
    Sample(snips.FeedbackSoundToggleOff, None, "full", {"site_id": "kitchen", "session_id": "s1"}),
    Sample(
        snips.InjectionPerform,
        None,
        "full",
        {
            "id": "i1",
            "operations": [["add", {"films": ["The Wolf", "Pulp Fiction"]}]],
            "lexicon": {"wolf": ["w ʊ l f"]},
            "cross_language": "en",
        },
    ),
    Sample(snips.InjectionComplete, None, "full", {"request_id": "i1"}),
    Sample(snips.InjectionResetPerform, None, "full", {"request_id": "i1"}),
    Sample(snips.InjectionResetComplete, None, "full", {"request_id": "i1"}),
    Sample(snips.InjectionStatusRequest, None, "full", {}),
    Sample(snips.InjectionStatus, None, "full", {"last_injection_date": "2020-04-30T10:00:00Z"}),
    Sample(snips.TtsRegisterSound, None, "full", {"sound_id": "ding", "wav_sound": "UklGRg=="}),
    # Hermesh's own status topic
    Sample(
        status.ServiceStatus,
        None,
        "full",
        {
            "service": "asr",
            "instance": "host-1",
            "status": status.ServiceState.OFFLINE,
            "site_ids": ["kitchen", "attic"],
            "host": "host",
            "pid": 1234,
            "version": "0.1.0",
            "since": 1700000000.5,
            "problems": ["tts engine piper: piper voice model '/voices/x.onnx' cannot be loaded"],
            "intents": ["GetTime", "*"],
        },
    ),
    Sample(status.ServiceRestart, None, "full", {"services": ["asr", "nlu"], "reason": "POST /api/restart"}),
    Sample(status.SiteReleased, None, "full", {"site_id": "wyoming-0123456789", "reason": "connection closed"}),
    Sample(timer.TimerEvent, None, "full", {"site_id": "kitchen", "change": timer.TimerChange.UPDATED, "id": "tea",
                                            "total_seconds": 90, "is_active": False, "name": "tea",
                                            "start_hours": 0, "start_minutes": 1, "start_seconds": 30}),
    Sample(status.DialogueOpenSessions, None, "full", {
        "instance": "base", "sessions": [Obj(status.OpenSession, None,
                                             {"session_id": "s1", "site_id": "kitchen", "custom_data": "cd"})]}),
]

FULL_SAMPLES = [sample for sample in SAMPLES if sample.variant.startswith("full")]
ORACLE_SAMPLES = [sample for sample in SAMPLES if sample.theirs is not None]


def sample_for(cls: type[HermesMessage]) -> Sample:
    """The "full" sample of a class."""
    return next(sample for sample in SAMPLES if sample.ours is cls and sample.variant == "full")
