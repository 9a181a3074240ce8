"""Microphone level meter for hermes/audioServer/<siteId>/audioSummary: energy and a speech flag."""

from __future__ import annotations

import numpy as np
from pocketsphinx import Vad


def debiased_energy(pcm: bytes) -> float:
    """RMS of 16-bit samples after removing their mean, so a DC offset does not read as loudness."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if not len(samples):
        return 0.0
    return float(np.sqrt(np.mean((samples - samples.mean()) ** 2)))


class AudioSummarizer:
    """Feed 16 kHz mono chunks; every ``every``-th chunk yields (energy, is_speech) over those chunks."""

    def __init__(self, every: int = 5) -> None:
        self._every = every
        self._count = 0
        self._pending = b""
        # WebRTC VAD (built into pocketsphinx), strictest mode, 30 ms frames as Rhasspy used.
        self._vad = Vad(Vad.STRICT, 16000, 0.03)

    def feed(self, pcm: bytes) -> tuple[float, bool] | None:
        self._pending += pcm
        self._count += 1
        if self._count < self._every:
            return None
        audio, self._pending, self._count = self._pending, b"", 0
        size = self._vad.frame_bytes
        speech = any(self._vad.is_speech(audio[i : i + size]) for i in range(0, len(audio) - size + 1, size))
        return debiased_energy(audio), speech
