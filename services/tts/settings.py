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


class PiperTtsSettings(SettingsModel):
    """Piper (the ``piper`` extra). Unset synthesis options take the voice's own values from its .onnx.json."""

    # None: the bundled en_US-joe-medium; else a voice name (bundled or in voices_dir) or a path to a .onnx file
    voice: str | None = None
    voices_dir: str | None = None  # *.onnx with their *.onnx.json; relative to the profile directory
    speaker: str | int | None = None  # multi-speaker voices: a name of the voice's speaker_id_map, or an id
    length_scale: float | None = Field(default=None, gt=0.0, le=10.0)  # > 1 speaks slower
    noise_scale: float | None = Field(default=None, ge=0.0, le=5.0)
    noise_w: float | None = Field(default=None, ge=0.0, le=5.0)  # noise width (phoneme length variation)
    sentence_silence: float = Field(default=0.0, ge=0.0, le=10.0)  # seconds of silence after each sentence
    volume: float = Field(default=1.0, ge=0.0, le=4.0)
    # say.lang -> voice; without an entry a voice whose language is say.lang is chosen
    voices_by_lang: dict[str, str] = Field(default_factory=dict)
    cache_size: int = Field(default=2, ge=1, le=64)  # loaded voices kept in memory (least recently used goes)
    # onnxruntime threads per synthesis; 1 (not spinning) measured fastest on a CPU shared with other services
    threads: int = Field(default=1, ge=1, le=64)


class TtsSettings(SettingsModel):
    # "espeak", "piper", "wyoming" or a user engine class as "package.module:ClassName".
    engine: str = "espeak"
    espeak: EspeakTtsSettings = Field(default_factory=EspeakTtsSettings)
    piper: PiperTtsSettings = Field(default_factory=PiperTtsSettings)
    # Passed to the engine as config.options (with espeak: over tts.espeak). Formerly "custom" (still read).
    engine_options: dict[str, Any] = Field(default_factory=dict)
    # Wait for playFinished at most the sound's duration plus this (playback through PulseAudio adds latency).
    play_finished_margin: float = Field(default=3.0, ge=0.0)
    # A say with longer text is refused with an error naming this setting, whatever the engine.
    max_text_chars: int = Field(default=5000, ge=1)
    # Every say sentence by sentence (playBytesStreaming) unless the say itself says otherwise: the first words
    # play while the rest is made. The sites' audio output must take playBytesStreaming (hermesh audio-output
    # and the bridge's Wyoming satellites do; Rhasspy's speakers do not), so it is off by default.
    stream: bool = False

    @model_validator(mode="before")
    @classmethod
    def _deprecated_keys(cls, data: Any) -> Any:
        return renamed_keys(data, {"custom": "engine_options"}, "tts")

    def options_for_engine(self) -> dict[str, Any]:
        """The engine's options: a built-in engine's own section, then ``engine_options``."""
        sections: dict[str, SettingsModel] = {"espeak": self.espeak, "piper": self.piper}
        section = sections.get(self.engine)
        base = section.model_dump() if section is not None else {}
        return {**base, **self.engine_options}
