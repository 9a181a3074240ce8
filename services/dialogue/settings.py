"""Settings of the dialogue manager (profile.json ``"dialogue"``)."""

from __future__ import annotations

from pydantic import Field

from services.config import SettingsModel

SOUND_EVENTS = ("wake", "recorded", "error")


class DialogueSettings(SettingsModel):
    # Waits. Each one ends the session (reason "timeout") or, for feedback, moves on, so no session can hang.
    session_timeout: float = Field(30.0, gt=0, description="seconds to wait for textCaptured after startListening")
    nlu_timeout: float = Field(10.0, gt=0, description="seconds to wait for the NLU's intent or intentNotRecognized")
    handler_timeout: float = Field(
        30.0, gt=0, description="seconds to wait for continueSession/endSession after an intent"
    )
    # A worker of the ASR/NLU/TTS pool a session waits on died. The broker gave the request to one worker and
    # nobody can tell which, so a live worker may still answer: the session gets this long, then ends with error.
    worker_lost_timeout: float = Field(
        2.0, gt=0, description="seconds a session still waits when one worker of the pool it waits on dies"
    )
    say_min_timeout: float = Field(10.0, gt=0, description="wait at least this long for tts/sayFinished")
    say_chars_per_second: float = Field(33.0, gt=0, description="longer texts get len(text)/this seconds")
    sound_timeout_margin: float = Field(
        2.0, ge=0, description="wait for playFinished at most the sound's duration plus this"
    )
    # Feedback sounds: a WAV path per event (relative to the profile); "" switches an event off; None = built-in.
    sounds: dict[str, str | None] = Field(default_factory=dict)
    sounds_enabled: bool = True
    no_sound_site_ids: list[str] = Field(default_factory=list, description="sites that never get feedback sounds")
    volume: float = Field(1.0, ge=0.0, le=1.0, description="scale of the feedback sounds")
    # Sessions.
    wakeword_ids: list[str] = Field(default_factory=list, description="wake words that start sessions (empty: all)")
    min_asr_confidence: float = Field(0.0, ge=0.0, le=1.0, description="below this, a transcript is not recognised")
    send_audio_captured: bool = True
    # Sites "<group><separator><name>" hear the same wake word (satellites in one room): while a session of the
    # group has not captured its text yet, wake words of the other sites of the group are ignored.
    group_separator: str | None = None  # Rhasspy's DM asks the ASR for the utterance by default (§7.2)
