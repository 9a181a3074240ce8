"""A dialogue session's state, and what it waits on: plain data the engine (engine.py) moves along."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hermes.base import HermesMessage
from hermes.common import ToggleReason
from hermes.hotword import HotwordDetected

Out = list[HermesMessage]


@dataclass(frozen=True)
class Sound:
    """A feedback sound: the WAV bytes to publish and how long it plays."""

    wav: bytes
    seconds: float


class Phase(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"  # started; speaking the action text / playing the wake sound before listening
    LISTENING = "listening"  # waiting for asr/textCaptured
    RECOGNIZING = "recognizing"  # waiting for the NLU
    HANDLING = "handling"  # waiting for continueSession / endSession
    ENDING = "ending"  # speaking endSession's text or a notification, then ends nominally
    ENDED = "ended"


@dataclass
class Wait:
    """A feedback sound or speech in progress; ``then`` continues the session when it is done."""

    reason: ToggleReason
    request_id: str
    deadline: float
    then: Callable[[], Out]


@dataclass(frozen=True)
class Lost:
    """One worker of the pool a session waits on died; the session ends at ``deadline`` with ``error`` unless it
    has moved on by then (``key`` is what it was waiting for when the worker died)."""

    deadline: float
    error: str
    key: tuple[object, ...]


@dataclass
class Session:
    session_id: str
    site_id: str
    notification: bool = False
    text: str | None = None  # action/notification text still to speak when the session starts
    custom_data: str | None = None
    lang: str | None = None
    intent_filter: list[str] | None = None
    send_intent_not_recognized: bool = False
    wakeword_id: str | None = None
    detected: HotwordDetected | None = None
    send_audio_captured: bool = True
    phase: Phase = Phase.QUEUED
    step: int = 0
    deadline: float | None = None  # of the current phase (listening, recognizing, handling)
    wait: Wait | None = None
    # "not recognised" is being answered (error beep, then the end or the app): the copy of our own
    # intentNotRecognized that comes back from the broker must not start it twice
    unrecognized: bool = False
    intent_name: str | None = None  # the recognised intent, while an intent handler or app handles it
    lost: Lost | None = None

    def wait_key(self) -> tuple[object, ...]:
        """What the session waits for right now: it changes with every request the session sends."""
        return (self.phase, self.step, self.wait.request_id if self.wait else None)

    def waits_on(self) -> str | None:
        """The service whose message the session needs next (handlers, apps and the user are not services)."""
        if self.wait is not None:
            return "tts" if self.wait.reason == ToggleReason.TTS_SAY else "audio-output"
        return {Phase.LISTENING: "asr", Phase.RECOGNIZING: "nlu"}.get(self.phase)

    def doing(self) -> str:
        """What the session is doing, in words, for the text of an error ending it."""
        if self.wait is not None:
            return "speaking" if self.wait.reason == ToggleReason.TTS_SAY else "playing a feedback sound"
        if self.phase == Phase.HANDLING:
            return f"waiting for {self.intent_name or 'its intent'} to be handled"
        return {Phase.LISTENING: "listening", Phase.RECOGNIZING: "recognising"}.get(self.phase, str(self.phase))
