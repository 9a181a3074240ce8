"""Wake word messages."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .base import BinaryMessage, HermesMessage, HermesModel, topic_field
from .common import DEFAULT_SITE, ToggleMessage


class HotwordToggleOn(ToggleMessage):
    TOPIC = "hermes/hotword/toggleOn"


class HotwordToggleOff(ToggleMessage):
    TOPIC = "hermes/hotword/toggleOff"


class WakewordModelType(StrEnum):
    UNIVERSAL = "universal"
    PERSONAL = "personal"


class HotwordDetected(HermesMessage):
    """A wake word was heard; ``wakeword_id`` lives only in the topic."""

    TOPIC = "hermes/hotword/{wakeword_id}/detected"
    model_id: str
    model_version: str = ""
    model_type: WakewordModelType = WakewordModelType.PERSONAL
    current_sensitivity: float = 1.0
    site_id: str = DEFAULT_SITE
    session_id: str | None = None
    send_audio_captured: bool | None = None
    lang: str | None = None
    custom_entities: dict[str, Any] | None = None
    wakeword_id: str = topic_field(default="default")


class GetHotwords(HermesMessage):
    TOPIC = "rhasspy/hotword/getHotwords"
    site_id: str = DEFAULT_SITE
    id: str | None = None


class HotwordModel(HermesModel):
    model_id: str
    model_words: str
    model_version: str = ""
    model_type: WakewordModelType = WakewordModelType.PERSONAL


class Hotwords(HermesMessage):
    TOPIC = "rhasspy/hotword/hotwords"
    models: list[HotwordModel]
    site_id: str = DEFAULT_SITE
    id: str | None = None


class RecordHotwordExample(HermesMessage):
    TOPIC = "rhasspy/hotword/recordExample"
    id: str
    site_id: str = DEFAULT_SITE


class HotwordExampleRecorded(BinaryMessage):
    TOPIC = "rhasspy/hotword/{site_id}/exampleRecorded/{request_id}"
    site_id: str = topic_field(default=DEFAULT_SITE)
    request_id: str = topic_field(default="")
