"""Text-to-speech messages."""

from __future__ import annotations

from .base import HermesMessage, HermesModel
from .common import DEFAULT_SITE


class TtsSay(HermesMessage):
    TOPIC = "hermes/tts/say"
    text: str
    site_id: str = DEFAULT_SITE
    lang: str | None = None
    id: str | None = None
    session_id: str | None = None
    volume: float | None = None


class TtsSayFinished(HermesMessage):
    TOPIC = "hermes/tts/sayFinished"
    site_id: str = DEFAULT_SITE
    id: str | None = None
    session_id: str | None = None


class GetVoices(HermesMessage):
    TOPIC = "rhasspy/tts/getVoices"
    id: str | None = None
    site_id: str = DEFAULT_SITE


class Voice(HermesModel):
    voice_id: str
    description: str | None = None


class Voices(HermesMessage):
    TOPIC = "rhasspy/tts/voices"
    voices: list[Voice]
    id: str | None = None
    site_id: str = DEFAULT_SITE
