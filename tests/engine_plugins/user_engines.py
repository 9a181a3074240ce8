"""Tiny real engines of a user's own, one per voice function, loaded by "module:Class" like any user's class.

They hear and make beeps: the ASR counts the beeps it hears, the TTS says each word as a beep, the wake engine
wakes on a beep after quiet. Each takes one ``EngineConfig`` and raises ``EngineError`` with a code of its own.
None subclasses the interface (the shape is what counts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hermes.wav import pcm_to_wav
from services.asr.engine import AsrTrainingData, Transcript
from services.engines import EngineConfig, EngineError
from services.tts.engine import TtsVoice
from services.wake.engine import WakeDetection, WakeModel

RATE = 16000
WINDOW = 160  # 10 ms


def beeps(count: int, frequency: float = 880.0, seconds: float = 0.15, gap: float = 0.2) -> bytes:
    """``count`` beeps of 16 kHz s16le audio, each after ``gap`` seconds of silence, and silence after."""
    t = np.arange(int(RATE * seconds)) / RATE
    beep = (np.sin(2 * np.pi * frequency * t) * 12000).astype("<i2")
    silence = np.zeros(int(RATE * gap), dtype="<i2")
    return np.concatenate([silence, *[np.concatenate([beep, silence]) for _ in range(count)]]).tobytes()


def loud_windows(pcm: bytes, threshold: float) -> list[bool]:
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    usable = len(samples) - len(samples) % WINDOW
    if not usable:
        return []
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, WINDOW) ** 2, axis=1))
    return [bool(v > threshold) for v in rms]


class BeepCounterStream:
    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.pcm = bytearray()

    def feed(self, pcm: bytes) -> None:
        self.pcm += pcm

    def finish(self) -> Transcript:
        loud = loud_windows(bytes(self.pcm), self.threshold)
        count = sum(1 for before, now in zip([False, *loud], loud, strict=False) if now and not before)
        seconds = len(self.pcm) / 2 / RATE
        return Transcript(f"{count} beeps" if count else "", 1.0 if count else 0.0, audio_seconds=seconds)

    def cancel(self) -> None:
        self.pcm.clear()


class BeepCounterAsrEngine:
    """Speech to text for beeps: the transcript is how many it heard ("3 beeps")."""

    def __init__(self, config: EngineConfig) -> None:
        self.threshold = float(config.options.get("threshold", 1000.0))

    def train(self, data: AsrTrainingData) -> None:
        """Beeps need no grammar."""

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> BeepCounterStream:
        if intent_filter:
            raise EngineError("beeps-only", f"the beep counter cannot listen for intents {', '.join(intent_filter)}")
        return BeepCounterStream(self.threshold)

    def close(self) -> None:
        """Nothing held."""


class BeepTtsEngine:
    """Text to speech as one beep per word."""

    def __init__(self, config: EngineConfig) -> None:
        self.frequency = float(config.options.get("frequency", 660.0))
        self.max_words = int(config.options.get("max_words", 20))

    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None) -> bytes:
        words = text.split()
        if len(words) > self.max_words:
            raise EngineError("too-long", f"the beeper says at most {self.max_words} words, not {len(words)}")
        return pcm_to_wav(beeps(len(words), self.frequency), RATE)

    def voices(self) -> list[TtsVoice]:
        return [TtsVoice("beep", f"{self.frequency:g} Hz")]


class BeepDetector:
    def __init__(self, engine: BeepWakeEngine) -> None:
        self.engine = engine
        self.samples = 0
        self.was_loud = True  # a beep at the very start is not "after quiet"

    def process(self, pcm: bytes) -> list[WakeDetection]:
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        if samples.size and int(np.abs(samples.astype(np.int32)).max()) >= 32767:
            raise EngineError("clipped", "the microphone clips: turn its gain down")
        found = []
        for index, loud in enumerate(loud_windows(pcm, self.engine.threshold)):
            if loud and not self.was_loud:
                seconds = (self.samples + index * WINDOW) / RATE
                found.append(WakeDetection(model=self.engine.models[0], stream_seconds=seconds))
            self.was_loud = loud
        self.samples += len(samples)
        return found

    def reset(self) -> None:
        self.was_loud = True

    def close(self) -> None:
        """Nothing held."""


class BeepWakeEngine:
    """Wakes on a beep after quiet."""

    def __init__(self, config: EngineConfig) -> None:
        self.threshold = float(config.options.get("threshold", 1000.0))
        self.models = [WakeModel(wakeword_id=str(config.options.get("wakeword_id", "beep")), model_id="beep",
                                 words="(a beep)")]

    def new_detector(self) -> BeepDetector:
        return BeepDetector(self)

    def close(self) -> None:
        """Nothing held."""
