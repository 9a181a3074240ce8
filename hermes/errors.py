"""Every error topic, one class each (``hermes/error/<component>``; g2p uses ``rhasspy/error/g2p``)."""

from __future__ import annotations

from typing import ClassVar

from .common import HermesErrorMessage


class AsrError(HermesErrorMessage):
    TOPIC = "hermes/error/asr"
    COMPONENT = "asr"


class NluError(HermesErrorMessage):
    TOPIC = "hermes/error/nlu"
    COMPONENT = "nlu"


class HotwordError(HermesErrorMessage):
    TOPIC = "hermes/error/hotword"
    COMPONENT = "hotword"


class TtsError(HermesErrorMessage):
    TOPIC = "hermes/error/tts"
    COMPONENT = "tts"
    # The error text of a say the TTS refused for what it asked (too long, a voice that is not installed) ends
    # with this code in brackets, so a caller tells its own mistake (HTTP 400) from the TTS failing (502).
    REFUSED_CODE: ClassVar[str] = "tts-refused"

    @property
    def refused(self) -> bool:
        return self.error.rstrip().endswith(f"[{self.REFUSED_CODE}]")


class DialogueError(HermesErrorMessage):
    TOPIC = "hermes/error/dialogueManager"
    COMPONENT = "dialogueManager"


class AudioPlayError(HermesErrorMessage):
    TOPIC = "hermes/error/audioServer/play"
    COMPONENT = "audioServer/play"


class AudioRecordError(HermesErrorMessage):
    TOPIC = "hermes/error/audioServer/record"
    COMPONENT = "audioServer/record"


class HandleError(HermesErrorMessage):
    """Intent-handling failures (Home Assistant unreachable, webhook failed). Not in rhasspy-hermes."""

    TOPIC = "hermes/error/handle"
    COMPONENT = "handle"


class G2pError(HermesErrorMessage):
    TOPIC = "rhasspy/error/g2p"
    COMPONENT = "g2p"


class InjectionError(HermesErrorMessage):
    """A Snips injection (hermes/injection/perform or reset) that was refused or failed; ``context`` is the
    request id. Snips had no error topic for it; this is the one of every other component."""

    TOPIC = "hermes/error/injection"
    COMPONENT = "injection"


class TrainError(HermesErrorMessage):
    """Training failures of the trainer itself (``hermesh train`` over MQTT). Not in rhasspy-hermes."""

    TOPIC = "hermes/error/train"
    COMPONENT = "train"


ERROR_CLASSES: tuple[type[HermesErrorMessage], ...] = (
    AsrError,
    NluError,
    HotwordError,
    TtsError,
    DialogueError,
    AudioPlayError,
    AudioRecordError,
    HandleError,
    G2pError,
    TrainError,
)


def error_class_for(component: str) -> type[HermesErrorMessage]:
    """The error message class for a component name such as ``asr`` or ``audioServer/play``."""
    for cls in ERROR_CLASSES:
        if cls.COMPONENT == component:
            return cls
    raise KeyError(f"no Hermes error topic for component {component!r}")
