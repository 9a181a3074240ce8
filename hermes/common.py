"""Shapes shared by several Hermes domains: the error payload and the toggle reasons."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from .base import HermesMessage, topic_field

DEFAULT_SITE = "default"


class ToggleReason(StrEnum):
    """Why a hotword/ASR service is switched off; the reasons nest (hermes-protocol.md §3.5)."""

    UNKNOWN = ""
    DIALOGUE_SESSION = "dialogueSession"
    PLAY_AUDIO = "playAudio"
    TTS_SAY = "ttsSay"


class ToggleMessage(HermesMessage):
    """Base of the hotword/ASR toggles: ``{siteId, reason}`` (subclasses only set their topic)."""

    site_id: str = DEFAULT_SITE
    reason: ToggleReason = ToggleReason.UNKNOWN


class SiteMessage(HermesMessage):
    """Base of messages whose whole payload is ``{siteId}`` (audio/summary/handle toggles)."""

    site_id: str = DEFAULT_SITE


class TrainMessage(HermesMessage):
    """Base of the ASR and NLU train requests: sentence and slot texts (Hermesh) or a graph path (Rhasspy)."""

    graph_path: str = ""
    id: str | None = None
    graph_format: str | None = None
    sentences: dict[str, str] | None = None
    slots: dict[str, list[str]] | None = None
    site_id: str = topic_field(default=DEFAULT_SITE)


class TrainSuccessMessage(HermesMessage):
    id: str | None = None
    site_id: str = topic_field(default=DEFAULT_SITE)


class HermesErrorMessage(HermesMessage):
    """``{error, siteId, context, sessionId}`` as every Rhasspy service reports a failure."""

    COMPONENT: ClassVar[str]

    error: str
    site_id: str = DEFAULT_SITE
    context: str | None = None
    session_id: str | None = None
