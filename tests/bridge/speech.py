"""Real spoken test audio: espeak-ng (the voice and rate pocketsphinx decodes reliably) with a light noise bed."""

from __future__ import annotations

import functools
import subprocess

import numpy as np

from hermes.wav import pcm_to_wav, to_pcm16k_mono

RATE = 16000


@functools.lru_cache(maxsize=64)
def spoken_pcm(text: str, lead: float = 0.5, tail: float = 1.5) -> bytes:
    """16 kHz 16-bit mono PCM: silence, the sentence, silence, plus seeded noise (deterministic)."""
    wav = subprocess.run(["espeak-ng", "-v", "en-us+m3", "-s", "140", "--stdout"], input=text.encode(),
                         capture_output=True, check=True).stdout
    speech = np.frombuffer(to_pcm16k_mono(wav), dtype=np.int16)
    padded = np.concatenate([np.zeros(int(lead * RATE), np.int16), speech, np.zeros(int(tail * RATE), np.int16)])
    noise = np.random.default_rng(1).normal(0.0, 60.0, len(padded))
    return np.clip(padded + noise, -32768, 32767).astype(np.int16).tobytes()


def spoken_wav(text: str) -> bytes:
    return pcm_to_wav(spoken_pcm(text))
