"""Settings of the TTS service (profile.json ``"tts"``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.config import SettingsModel


class EspeakTtsSettings(SettingsModel):
    voice: str = "en-us"  # any espeak-ng voice, with variant if wanted: "en-us+f3"
    rate: int = Field(default=175, ge=80, le=450)  # words per minute
    pitch: int = Field(default=50, ge=0, le=99)
    volume: int = Field(default=100, ge=0, le=200)  # espeak-ng amplitude
    ssml: bool = False  # always read text as SSML; text starting with <speak> is SSML anyway
    # say.lang -> voice; without an entry a language the voice does not speak is used as the voice name
    voices_by_lang: dict[str, str] = Field(default_factory=dict)
    executable: str = "espeak-ng"
    timeout: float = Field(default=30.0, gt=0.0)


class TtsSettings(SettingsModel):
    # "espeak" or a user engine class as "package.module.ClassName".
    engine: str = "espeak"
    espeak: EspeakTtsSettings = Field(default_factory=EspeakTtsSettings)
    custom: dict[str, Any] = Field(default_factory=dict)  # settings for a user engine class
    # Wait for playFinished at most the sound's duration plus this (playback through PulseAudio adds latency).
    play_finished_margin: float = Field(default=3.0, ge=0.0)
