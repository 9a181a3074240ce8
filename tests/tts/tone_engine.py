"""A user TTS engine loaded by module path in the tests: speaks every text as a beep per word."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hermes.wav import pcm_to_wav
from services.tts.engine import TtsVoice


class ToneTtsEngine:
    def __init__(self, settings: dict, profile_dir: Path) -> None:
        self.frequency = float(settings.get("frequency", 440.0))

    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None) -> bytes:
        rate = 8000
        t = np.arange(rate // 10) / rate
        beep = (np.sin(2 * np.pi * self.frequency * t) * 8000).astype("<i2")
        gap = np.zeros(rate // 20, dtype="<i2")
        pcm = np.concatenate([np.concatenate([beep, gap]) for _ in text.split()] or [gap])
        return pcm_to_wav(pcm.tobytes(), rate)

    def voices(self) -> list[TtsVoice]:
        return [TtsVoice("tone", f"{self.frequency:g} Hz beeps")]
