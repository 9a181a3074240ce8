"""Speech-to-text messages."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SerializerFunctionWrapHandler, model_serializer

from .base import BinaryMessage, HermesMessage, HermesModel, topic_field, without_unset
from .common import DEFAULT_SITE, ToggleMessage, TrainMessage, TrainSuccessMessage


class AsrToggleOn(ToggleMessage):
    TOPIC = "hermes/asr/toggleOn"


class AsrToggleOff(ToggleMessage):
    TOPIC = "hermes/asr/toggleOff"


class AsrStartListening(HermesMessage):
    TOPIC = "hermes/asr/startListening"
    site_id: str = DEFAULT_SITE
    session_id: str | None = None
    lang: str | None = None
    stop_on_silence: bool = True
    send_audio_captured: bool = False
    wakeword_id: str | None = None
    intent_filter: list[str] | None = None


class AsrStopListening(HermesMessage):
    TOPIC = "hermes/asr/stopListening"
    site_id: str = DEFAULT_SITE
    session_id: str | None = None


class AsrTokenTime(HermesModel):
    start: float
    end: float


class AsrToken(HermesModel):
    value: str
    confidence: float
    range_start: int
    range_end: int
    time: AsrTokenTime | None = None


class AsrTextCaptured(HermesMessage):
    TOPIC = "hermes/asr/textCaptured"
    text: str
    likelihood: float
    seconds: float
    site_id: str = DEFAULT_SITE
    session_id: str | None = None
    wakeword_id: str | None = None
    asr_tokens: list[list[AsrToken]] | None = None
    lang: str | None = None
    # Hermesh extension (Rhasspy ignores unknown keys): which path of the engine gave the text, when it has
    # several (asr.engine hybrid: "grammar" or "whisper").
    source: str | None = None
    EXTENSION_KEYS: ClassVar[tuple[str, ...]] = ("source",)  # on the wire only when set

    @model_serializer(mode="wrap")
    def _omit_unset_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(handler(self), self.EXTENSION_KEYS)


class AsrPartialTextCaptured(AsrTextCaptured):
    """Snips interim transcript (not emitted by Rhasspy); the same fields as textCaptured."""

    TOPIC = "hermes/asr/partialTextCaptured"


class AsrRecordingFinished(HermesMessage):
    TOPIC = "rhasspy/asr/recordingFinished"
    site_id: str = DEFAULT_SITE
    session_id: str | None = None


class AsrAudioCaptured(BinaryMessage):
    """The whole utterance of a session, sent when startListening asked for it."""

    TOPIC = "rhasspy/asr/{site_id}/{session_id}/audioCaptured"
    site_id: str = topic_field(default=DEFAULT_SITE)
    session_id: str = topic_field(default="")


class AsrTrain(TrainMessage):
    TOPIC = "rhasspy/asr/{site_id}/train"


class AsrTrainSuccess(TrainSuccessMessage):
    TOPIC = "rhasspy/asr/{site_id}/trainSuccess"


class AsrReload(HermesMessage):
    """Snips model reload request (not used by Rhasspy)."""

    TOPIC = "hermes/asr/reload"
    site_id: str = DEFAULT_SITE
