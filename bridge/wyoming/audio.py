"""Audio between Wyoming events (raw PCM in any format) and Hermes frames (16 kHz 16-bit mono WAV files)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wyoming.audio import AudioChunk, AudioStart, AudioStop

from hermes.audio_stream import FrameBuffer, PcmStream
from hermes.wav import CHANNELS, RATE, WIDTH, WavFormatError, convert_pcm, pcm_to_wav, read_wav, wav_info

FRAME_SAMPLES = 1024  # samples per published frame: HA's 10 ms chunks would flood the broker otherwise
OUT_CHUNK_SAMPLES = 1024  # samples per audio-chunk we send


class AudioFormatError(ValueError):
    """An audio format we cannot convert; the message names the offending field."""


@dataclass(frozen=True)
class PcmFormat:
    rate: int
    width: int
    channels: int

    @classmethod
    def of(cls, event: AudioStart | AudioChunk) -> PcmFormat:
        fmt = cls(int(event.rate), int(event.width), int(event.channels))
        fmt.check()
        return fmt

    def check(self) -> None:
        if not 1000 <= self.rate <= 384000:
            raise AudioFormatError(f"audio rate {self.rate} Hz is not usable (expected e.g. 16000)")
        if self.width not in (1, 2, 3, 4):
            raise AudioFormatError(f"audio width {self.width} bytes is not usable (expected 1, 2, 3 or 4)")
        if not 1 <= self.channels <= 16:
            raise AudioFormatError(f"audio channels {self.channels} is not usable (expected 1 or 2)")

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels


HERMES_FORMAT = PcmFormat(RATE, WIDTH, CHANNELS)


class InputStream:
    """One incoming Wyoming audio stream: chunks in any format -> 16 kHz WAV frames, plus its duration."""

    def __init__(self, samples: int = FRAME_SAMPLES) -> None:
        self.format: PcmFormat | None = None
        self._converter = PcmStream()
        self._frames = FrameBuffer(samples * WIDTH)  # ~16 messages/s per stream: HA's 10 ms chunks would flood the broker
        self.samples_out = 0  # 16 kHz samples handed out so far

    def start(self, event: AudioStart) -> None:
        self.format = PcmFormat.of(event)

    def chunk(self, chunk: AudioChunk) -> list[bytes]:
        """WAV frames ready to publish (the chunk's own format wins over audio-start's)."""
        fmt = PcmFormat.of(chunk)
        self.format = fmt
        if len(chunk.audio) % fmt.frame_bytes:
            raise AudioFormatError(
                f"audio-chunk of {len(chunk.audio)} bytes is not a whole number of {fmt.width}-byte "
                f"x {fmt.channels}-channel frames"
            )
        return self._wavs(self._frames.frames(self._converter.pcm(chunk.audio, fmt.rate, fmt.width, fmt.channels)))

    def finish(self) -> list[bytes]:
        tail = self._converter.flush()
        frames = [*self._frames.frames(tail), self._frames.rest()]
        return self._wavs(f for f in frames if f)

    def _wavs(self, frames: Iterable[bytes]) -> list[bytes]:
        out = []
        for frame in frames:
            self.samples_out += len(frame) // WIDTH
            out.append(pcm_to_wav(frame))
        return out

    @property
    def milliseconds(self) -> int:
        return self.samples_out * 1000 // RATE


def wav_pcm(wav_bytes: bytes, target: PcmFormat | None = None) -> tuple[PcmFormat, bytes]:
    """A WAV's format and frames, converted to ``target`` when given (every group of one reply shares one format:
    Home Assistant's streaming TTS writes the first audio-start's header and appends every chunk after it)."""
    info, frames = read_wav(wav_bytes)
    fmt = PcmFormat(info.rate, info.width, info.channels)
    if target is not None and target != fmt:
        if target.width != 2:
            raise AudioFormatError(f"cannot produce {target.width}-byte audio")
        frames = convert_pcm(frames, fmt.rate, fmt.width, fmt.channels, to_rate=target.rate,
                             to_channels=target.channels)
        fmt = target
    return fmt, frames


def chunk_events(fmt: PcmFormat, frames: bytes, timestamp: int = 0, samples: int = OUT_CHUNK_SAMPLES
                 ) -> tuple[list[AudioChunk], int]:
    """audio-chunks of ``samples`` frames each from ``timestamp`` (ms) on, and the timestamp after them."""
    events = []
    step = samples * fmt.frame_bytes
    for start in range(0, len(frames), step):
        piece = frames[start : start + step]
        events.append(AudioChunk(fmt.rate, fmt.width, fmt.channels, piece, timestamp=timestamp))
        timestamp += (len(piece) // fmt.frame_bytes) * 1000 // fmt.rate
    return events, timestamp


def wav_to_events(
    wav_bytes: bytes, target: PcmFormat | None = None, samples: int = OUT_CHUNK_SAMPLES
) -> tuple[PcmFormat, list[AudioStart | AudioChunk | AudioStop]]:
    """audio-start, audio-chunk*, audio-stop for a WAV file (converted to ``target`` when given)."""
    fmt, frames = wav_pcm(wav_bytes, target)
    chunks, timestamp = chunk_events(fmt, frames, 0, samples)
    return fmt, [AudioStart(fmt.rate, fmt.width, fmt.channels, timestamp=0), *chunks, AudioStop(timestamp=timestamp)]


def pcm_events_to_wav(fmt: PcmFormat, pcm: bytes) -> bytes:
    return pcm_to_wav(pcm, fmt.rate, fmt.width, fmt.channels)


def wav_seconds(wav_bytes: bytes) -> float:
    try:
        return wav_info(wav_bytes).seconds
    except WavFormatError:
        return 0.0
