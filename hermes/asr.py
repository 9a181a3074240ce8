"""Speech-to-text messages."""

from __future__ import annotations

from .base import BinaryMessage, HermesMessage, HermesModel, topic_field
from .common import DEFAULT_SITE, ToggleReason


class AsrToggleOn(HermesMessage):
    TOPIC = "hermes/asr/toggleOn"
    site_id: str = DEFAULT_SITE
    reason: ToggleReason = ToggleReason.UNKNOWN


class AsrToggleOff(HermesMessage):
    TOPIC = "hermes/asr/toggleOff"
    site_id: str = DEFAULT_SITE
    reason: ToggleReason = ToggleReason.UNKNOWN


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


class AsrPartialTextCaptured(HermesMessage):
    """Snips interim transcript (not emitted by Rhasspy)."""

    TOPIC = "hermes/asr/partialTextCaptured"
    text: str
    likelihood: float
    seconds: float
    site_id: str = DEFAULT_SITE
    session_id: str | None = None
    wakeword_id: str | None = None
    asr_tokens: list[list[AsrToken]] | None = None
    lang: str | None = None


class AsrRecordingFinished(HermesMessage):
    TOPIC = "rhasspy/asr/recordingFinished"
    site_id: str = DEFAULT_SITE
    session_id: str | None = None


class AsrAudioCaptured(BinaryMessage):
    """The whole utterance of a session, sent when startListening asked for it."""

    TOPIC = "rhasspy/asr/{site_id}/{session_id}/audioCaptured"
    site_id: str = topic_field(default=DEFAULT_SITE)
    session_id: str = topic_field(default="")


class AsrTrain(HermesMessage):
    """Retrain from sentence and slot texts (Hermesh) or a graph file (Rhasspy's graphPath)."""

    TOPIC = "rhasspy/asr/{site_id}/train"
    graph_path: str = ""
    id: str | None = None
    graph_format: str | None = None
    sentences: dict[str, str] | None = None
    slots: dict[str, list[str]] | None = None
    site_id: str = topic_field(default=DEFAULT_SITE)


class AsrTrainSuccess(HermesMessage):
    TOPIC = "rhasspy/asr/{site_id}/trainSuccess"
    id: str | None = None
    site_id: str = topic_field(default=DEFAULT_SITE)


class AsrReload(HermesMessage):
    """Snips model reload request (not used by Rhasspy)."""

    TOPIC = "hermes/asr/reload"
    site_id: str = DEFAULT_SITE
