"""Text-to-speech messages."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SerializerFunctionWrapHandler, model_serializer

from .base import HermesMessage, HermesModel, without_unset
from .common import DEFAULT_SITE


class TtsSay(HermesMessage):
    TOPIC = "hermes/tts/say"
    text: str
    site_id: str = DEFAULT_SITE
    lang: str | None = None
    id: str | None = None
    session_id: str | None = None
    volume: float | None = None
    # Hermesh extensions (Rhasspy ignores unknown keys): a voice by the name rhasspy/tts/voices gives it
    # (``lang`` stays the language), and ``stream``: the sound goes out sentence by sentence as
    # playBytesStreaming chunks, each as soon as it is made, instead of one playBytes at the end; ``speaker``: one
    # of a multi-speaker voice's speakers (a name rhasspy/tts/voices lists, or an id), ignored by a voice with one.
    voice: str | None = None
    stream: bool | None = None
    speaker: str | None = None
    EXTENSION_KEYS: ClassVar[tuple[str, ...]] = ("voice", "stream", "speaker")  # on the wire only when set

    @model_serializer(mode="wrap")
    def _omit_unset_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(handler(self), self.EXTENSION_KEYS)


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
    # Hermesh extensions, where the engine knows them: what the voice speaks ("en_US") and its speakers.
    languages: list[str] | None = None
    speakers: list[str] | None = None
    EXTENSION_KEYS: ClassVar[tuple[str, ...]] = ("languages", "speakers")  # on the wire only when set

    @model_serializer(mode="wrap")
    def _omit_unset_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(handler(self), self.EXTENSION_KEYS)


class Voices(HermesMessage):
    TOPIC = "rhasspy/tts/voices"
    voices: list[Voice]
    id: str | None = None
    site_id: str = DEFAULT_SITE
