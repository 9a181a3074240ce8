"""Settings of the TTS service (profile.json ``"tts"``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from services.config import SettingsModel, renamed_keys


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
    # "espeak", "wyoming" or a user engine class as "package.module:ClassName".
    engine: str = "espeak"
    espeak: EspeakTtsSettings = Field(default_factory=EspeakTtsSettings)
    # Passed to the engine as config.options (with espeak: over tts.espeak). Formerly "custom" (still read).
    engine_options: dict[str, Any] = Field(default_factory=dict)
    # Wait for playFinished at most the sound's duration plus this (playback through PulseAudio adds latency).
    play_finished_margin: float = Field(default=3.0, ge=0.0)

    @model_validator(mode="before")
    @classmethod
    def _deprecated_keys(cls, data: Any) -> Any:
        return renamed_keys(data, {"custom": "engine_options"}, "tts")

    def options_for_engine(self) -> dict[str, Any]:
        """The engine's options: a built-in engine's own section, then ``engine_options``."""
        base = self.espeak.model_dump() if self.engine == "espeak" else {}
        return {**base, **self.engine_options}
