"""Dialogue manager messages: sessions, their start, continuation, end and configuration."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from .base import HermesMessage, HermesModel
from .common import DEFAULT_SITE


class DialogueActionType(StrEnum):
    ACTION = "action"
    NOTIFICATION = "notification"


class DialogueAction(HermesModel):
    """Start a session that listens. ``canBeEnqueued`` defaults to true as in Snips (rhasspy-hermes requires it)."""

    # Field order is the wire's key order: rhasspy-hermes puts ``type`` after the first field.
    can_be_enqueued: bool = True
    type: Literal["action"] = "action"
    text: str | None = None
    intent_filter: list[str] | None = None
    send_intent_not_recognized: bool = False


class DialogueNotification(HermesModel):
    """Speak a text, then end the session."""

    text: str
    type: Literal["notification"] = "notification"


DialogueInit = Annotated[DialogueAction | DialogueNotification, Field(discriminator="type")]


class DialogueStartSession(HermesMessage):
    TOPIC = "hermes/dialogueManager/startSession"
    init: DialogueInit
    site_id: str = DEFAULT_SITE
    custom_data: str | None = None
    lang: str | None = None


class DialogueSessionQueued(HermesMessage):
    TOPIC = "hermes/dialogueManager/sessionQueued"
    session_id: str
    site_id: str = DEFAULT_SITE
    custom_data: str | None = None


class DialogueSessionStarted(HermesMessage):
    TOPIC = "hermes/dialogueManager/sessionStarted"
    session_id: str
    site_id: str = DEFAULT_SITE
    custom_data: str | None = None
    lang: str | None = None


class DialogueContinueSession(HermesMessage):
    TOPIC = "hermes/dialogueManager/continueSession"
    session_id: str
    custom_data: str | None = None
    text: str | None = None
    intent_filter: list[str] | None = None
    send_intent_not_recognized: bool = False
    slot: str | None = None
    lang: str | None = None


class DialogueEndSession(HermesMessage):
    TOPIC = "hermes/dialogueManager/endSession"
    session_id: str
    text: str | None = None
    custom_data: str | None = None


class DialogueSessionTerminationReason(StrEnum):
    NOMINAL = "nominal"
    ABORTED_BY_USER = "abortedByUser"
    INTENT_NOT_RECOGNIZED = "intentNotRecognized"
    TIMEOUT = "timeout"
    ERROR = "error"


class DialogueSessionTermination(HermesModel):
    """Why a session ended. ``error`` is Snips' text for reason ``error`` (which part failed, e.g. "the asr
    service went offline"); it is on the wire only when set, so every other termination stays byte-identical
    to rhasspy-hermes' ``{"reason": ...}`` (which ignores the extra key when it parses)."""

    reason: DialogueSessionTerminationReason
    error: str | None = None

    @model_serializer(mode="wrap")
    def _omit_unset_error(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("error") is None:
            data.pop("error", None)
        return data


class DialogueSessionEnded(HermesMessage):
    TOPIC = "hermes/dialogueManager/sessionEnded"
    termination: DialogueSessionTermination
    session_id: str
    site_id: str = DEFAULT_SITE
    custom_data: str | None = None


class DialogueIntentNotRecognized(HermesMessage):
    TOPIC = "hermes/dialogueManager/intentNotRecognized"
    session_id: str
    site_id: str = DEFAULT_SITE
    input: str | None = None
    custom_data: str | None = None


class DialogueConfigureIntent(HermesModel):
    intent_id: str
    enable: bool


class DialogueConfigure(HermesMessage):
    TOPIC = "hermes/dialogueManager/configure"
    intents: list[DialogueConfigureIntent]
    site_id: str = DEFAULT_SITE
