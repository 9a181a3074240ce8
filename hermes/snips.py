"""Snips-only messages that Rhasspy never implemented: voice activity, feedback sounds, injection, versions.

They are modelled so the registry recognises them and tools can show them; Hermesh's services react to the
feedback toggles (dialogue) and publish voice activity where an engine knows it.
"""

from __future__ import annotations

from typing import Any

from .base import HermesMessage
from .common import DEFAULT_SITE


class VadUp(HermesMessage):
    TOPIC = "hermes/voiceActivity/{site_id}/vadUp"
    site_id: str = DEFAULT_SITE
    signal_ms: int | None = None


class VadDown(HermesMessage):
    TOPIC = "hermes/voiceActivity/{site_id}/vadDown"
    site_id: str = DEFAULT_SITE
    signal_ms: int | None = None


class FeedbackSoundToggleOn(HermesMessage):
    TOPIC = "hermes/feedback/sound/toggleOn"
    site_id: str = DEFAULT_SITE
    session_id: str | None = None


class FeedbackSoundToggleOff(HermesMessage):
    TOPIC = "hermes/feedback/sound/toggleOff"
    site_id: str = DEFAULT_SITE
    session_id: str | None = None


class InjectionPerform(HermesMessage):
    TOPIC = "hermes/injection/perform"
    id: str | None = None
    operations: list[Any] = []
    lexicon: dict[str, list[str]] = {}
    cross_language: str | None = None


class InjectionComplete(HermesMessage):
    TOPIC = "hermes/injection/complete"
    request_id: str | None = None


class InjectionResetPerform(HermesMessage):
    TOPIC = "hermes/injection/reset/perform"
    request_id: str | None = None


class InjectionResetComplete(HermesMessage):
    TOPIC = "hermes/injection/reset/complete"
    request_id: str | None = None


class InjectionStatusRequest(HermesMessage):
    TOPIC = "hermes/injection/statusRequest"


class InjectionStatus(HermesMessage):
    TOPIC = "hermes/injection/status"
    last_injection_date: str | None = None


class TtsRegisterSound(HermesMessage):
    TOPIC = "hermes/tts/registerSound/{sound_id}"
    sound_id: str
    wav_sound: str = ""
