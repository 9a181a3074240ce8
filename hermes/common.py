"""Shapes shared by several Hermes domains: the error payload and the toggle reasons."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from .base import HermesMessage

DEFAULT_SITE = "default"


class ToggleReason(StrEnum):
    """Why a hotword/ASR service is switched off; the reasons nest (hermes-protocol.md §3.5)."""

    UNKNOWN = ""
    DIALOGUE_SESSION = "dialogueSession"
    PLAY_AUDIO = "playAudio"
    TTS_SAY = "ttsSay"


class HermesErrorMessage(HermesMessage):
    """``{error, siteId, context, sessionId}`` as every Rhasspy service reports a failure."""

    COMPONENT: ClassVar[str]

    error: str
    site_id: str = DEFAULT_SITE
    context: str | None = None
    session_id: str | None = None
