"""Test audio for wake tests and the wake benchmark: espeak-ng speech inside a stream with a noise bed.

espeak-ng output is deterministic and the noise is seeded, so every run feeds the same samples.
Pocketsphinx spots espeak speech poorly except for some phrase/voice pairs (docs/engines.md §1d);
"bumblebee" at 1e-30 was detected for all eight voices below with no false alarm in 84 s of commands.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import numpy as np

from hermes.wav import to_pcm16k_mono

RATE = 16000
VOICES = ["en-us", "en-us+m3", "en-us+f3", "en", "en-gb+m1", "en-us+m1", "en-us+f2", "en-us+m7"]
OTHER_SENTENCES = [
    "turn on the living room lamp",
    "what time is it",
    "set a timer for ten minutes",
    "what is the weather like tomorrow",
    "play some music in the kitchen",
    "switch off the garage light",
    "how hot is it outside",
    "remind me to call my mother",
    "open the blinds in the bedroom",
    "add milk to the shopping list",
]


def espeak_pcm(text: str, voice: str = "en-us", rate: int = 140) -> np.ndarray:
    """Speech as 16 kHz int16 samples (text on stdin, so it is never taken for an option)."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "--stdout"], input=text.encode(), capture_output=True, check=True
    ).stdout
    return np.frombuffer(to_pcm16k_mono(wav), dtype=np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


@dataclass
class Stream:
    pcm: bytes
    # (start, end) in seconds of every marked segment, in order
    marks: list[tuple[float, float]]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


def build_stream(parts: list[np.ndarray | tuple[str, np.ndarray]], noise_rms: float = 300.0, seed: int = 1) -> Stream:
    """Concatenate parts (a ("mark", samples) tuple records where it lies) and add a white-noise bed."""
    pieces = []
    marks = []
    position = 0
    for part in parts:
        samples = part[1] if isinstance(part, tuple) else part
        if isinstance(part, tuple):
            marks.append((position / RATE, (position + len(samples)) / RATE))
        pieces.append(samples.astype(np.float64))
        position += len(samples)
    signal = np.concatenate(pieces)
    signal += np.random.default_rng(seed).standard_normal(len(signal)) * noise_rms
    return Stream(np.clip(signal, -32768, 32767).astype(np.int16).tobytes(), marks)


def wake_utterances(phrase: str, voices: list[str]) -> Stream:
    """For each voice: other speech, then the wake phrase (marked), then a pause."""
    parts: list[np.ndarray | tuple[str, np.ndarray]] = [silence(1.0)]
    for i, voice in enumerate(voices):
        parts += [
            espeak_pcm(OTHER_SENTENCES[i % len(OTHER_SENTENCES)], voice),
            silence(0.6),
            ("wake", espeak_pcm(phrase, voice)),
            silence(1.5),
        ]
    return build_stream(parts)


def other_speech(min_seconds: float, voices: list[str] | None = None) -> Stream:
    """At least ``min_seconds`` of commands without any wake phrase, several voices."""
    parts: list[np.ndarray | tuple[str, np.ndarray]] = []
    total = 0
    i = 0
    voices = voices or VOICES
    while total < min_seconds * RATE:
        speech = espeak_pcm(OTHER_SENTENCES[i % len(OTHER_SENTENCES)], voices[i % len(voices)])
        parts += [speech, silence(0.5)]
        total += len(speech) + RATE // 2
        i += 1
    return build_stream(parts, seed=2)
