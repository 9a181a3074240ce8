"""Test audio for ASR tests and the ASR benchmark: espeak-ng speech (or Piper's, a second synthetic voice) with
silence and a light noise bed.

engines.md §1b recommends ``-v en-us+m3 -s 140`` with bestpath=False. Measured here on 50 sentences of
the test profile (numbers included): m3 heard "seven"/"ten" as "two" (4 misses), m5 confused on/off
(2 misses), ``en-us+m6`` at 140 wpm got all 50, so the tests use m6. A light noise bed (instead of digital
zeros) keeps pocketsphinx's live CMN and the VAD sane.
espeak-ng is deterministic and the noise is seeded, so every run feeds the same samples.
"""

from __future__ import annotations

import functools
import subprocess
from typing import Any

import numpy as np

from hermes.wav import to_pcm16k_mono

RATE = 16000
VOICE = "en-us+m6"
SPEED = 140
NOISE_RMS = 60.0
FRAME_SAMPLES = 1024  # what microphones publish: 64 ms per audioFrame


@functools.lru_cache(maxsize=512)
def espeak_wav(text: str, voice: str = VOICE, speed: int = SPEED) -> bytes:
    """espeak-ng's own WAV (22050 Hz mono); text on stdin so it is never taken for an option."""
    return subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout"], input=text.encode(), capture_output=True, check=True
    ).stdout


@functools.lru_cache(maxsize=1)
def _piper() -> Any:
    """The Piper engine with the bundled voice, without noise (so its speech is the same every run)."""
    from pathlib import Path

    from services.engine_loader import load_engine

    return load_engine("tts", "piper", {"noise_scale": 0.0, "noise_w": 0.0}, profile_dir=Path("."))


@functools.lru_cache(maxsize=128)
def piper_wav(text: str) -> bytes:
    """Piper's WAV of ``text`` (22,050 Hz mono, the bundled en_US-joe-medium voice): a second synthetic voice."""
    return bytes(_piper().synthesize(text))


def espeak_pcm(text: str, voice: str = VOICE, speed: int = SPEED) -> np.ndarray:
    return np.frombuffer(to_pcm16k_mono(espeak_wav(text, voice, speed)), dtype=np.int16)


def with_noise(samples: np.ndarray, rms: float = NOISE_RMS, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, rms, len(samples))
    return np.clip(samples.astype(np.float64) + noise, -32768, 32767).astype(np.int16)


def utterance(text: str, lead: float = 0.5, tail: float = 1.5, noise_rms: float = NOISE_RMS, seed: int = 1,
              voice: str = "espeak") -> bytes:
    """Silence, the spoken text, silence (enough for the endpointer to hear the end), with a noise bed;
    ``voice`` "espeak" (espeak-ng, the default) or "piper"."""
    speech = espeak_pcm(text) if voice == "espeak" else np.frombuffer(to_pcm16k_mono(piper_wav(text)), np.int16)
    padded = np.concatenate([np.zeros(int(lead * RATE), np.int16), speech, np.zeros(int(tail * RATE), np.int16)])
    return with_noise(padded, noise_rms, seed).tobytes()


def noise_only(seconds: float, rms: float = NOISE_RMS, seed: int = 2) -> bytes:
    return with_noise(np.zeros(int(seconds * RATE), np.int16), rms, seed).tobytes()


def frames(pcm: bytes, samples: int = FRAME_SAMPLES) -> list[bytes]:
    step = samples * 2
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]
