"""WAV framing: every Hermes audio payload is a complete WAV file; engines want 16 kHz 16-bit mono PCM."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hermes.resample import resample

RATE = 16000
WIDTH = 2
CHANNELS = 1


class WavFormatError(ValueError):
    """Bytes that are not a WAV file we can read (a clear message instead of wave.Error)."""


@dataclass(frozen=True)
class WavInfo:
    rate: int
    width: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


# WAVE_FORMAT_EXTENSIBLE (0xFFFE) with the PCM sub-format GUID: what sox, ffmpeg and most editors write for
# 24/32-bit or multi-channel files. Python 3.11's wave module only reads the plain PCM tag (1).
_EXTENSIBLE_TAG = b"\xfe\xff"
_PCM_SUBFORMAT = bytes.fromhex("0100000000001000800000aa00389b71")


def _plain_pcm_header(wav_bytes: bytes) -> bytes:
    """The same file with an extensible-PCM ``fmt `` chunk retagged as plain PCM; anything else unchanged."""
    if wav_bytes[:4] != b"RIFF" or wav_bytes[8:12] != b"WAVE":
        return wav_bytes
    pos = 12
    while pos + 8 <= len(wav_bytes):
        size = int.from_bytes(wav_bytes[pos + 4 : pos + 8], "little")
        if wav_bytes[pos : pos + 4] == b"fmt ":
            body = wav_bytes[pos + 8 : pos + 8 + size]
            if len(body) >= 40 and body[:2] == _EXTENSIBLE_TAG and body[24:40] == _PCM_SUBFORMAT:
                return wav_bytes[: pos + 8] + b"\x01\x00" + wav_bytes[pos + 10 :]
            return wav_bytes
        pos += 8 + size + (size & 1)
    return wav_bytes


# Sample rates and channel counts any real audio has. Outside them a header is hostile or broken: 600 bytes
# "at 1 Hz" are ten minutes of sound once resampled, and would hold a speaker (or a decoder) that long.
MIN_RATE, MAX_RATE = 1_000, 768_000
MAX_CHANNELS = 64


def wav_format_problem(rate: int, channels: int) -> str | None:
    """Why a WAV header's rate and channel count cannot be real audio, or None."""
    if not MIN_RATE <= rate <= MAX_RATE:
        return f"invalid WAV header: a sample rate of {rate} Hz (accepted: {MIN_RATE} to {MAX_RATE} Hz)"
    if not 1 <= channels <= MAX_CHANNELS:
        return f"invalid WAV header: {channels} channels (accepted: 1 to {MAX_CHANNELS})"
    return None


def read_wav(wav_bytes: bytes) -> tuple[WavInfo, bytes]:
    """(format, raw frames) of a WAV file; raises WavFormatError for anything else."""
    try:
        with wave.open(io.BytesIO(_plain_pcm_header(wav_bytes)), "rb") as reader:
            rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, RuntimeError) as err:  # RuntimeError: a chunk size beyond the end
        raise WavFormatError(f"not a PCM WAV file ({str(err) or 'too short'}); send a RIFF/WAVE PCM file") from err
    if width not in (1, 2, 3, 4):
        raise WavFormatError(f"unsupported sample width {width} bytes")
    problem = wav_format_problem(rate, channels)
    if problem:
        raise WavFormatError(problem)
    # Streamed WAVs (espeak-ng --stdout, sox to a pipe) declare a huge data size, and a cut-off file may end
    # mid-frame: what counts is the whole frames actually present.
    frame_size = width * channels
    frames = frames[: len(frames) - len(frames) % frame_size]
    return WavInfo(rate, width, channels, len(frames) // frame_size), frames


def wav_info(wav_bytes: bytes) -> WavInfo:
    return read_wav(wav_bytes)[0]


def pcm_to_wav(pcm: bytes, rate: int = RATE, width: int = WIDTH, channels: int = CHANNELS) -> bytes:
    """Wrap raw PCM in a canonical 44-byte-header WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setframerate(rate)
        writer.setsampwidth(width)
        writer.setnchannels(channels)
        writer.writeframes(pcm)
    return buffer.getvalue()


def _to_float(frames: bytes, width: int, channels: int) -> np.ndarray:
    """Samples as float32 in [-1, 1], shape (n, channels)."""
    if width == 1:  # 8-bit WAV is unsigned
        data = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
        ints = (raw[:, 0].astype(np.int32) | (raw[:, 1].astype(np.int32) << 8) | (raw[:, 2].astype(np.int32) << 16))
        ints = np.where(ints & 0x800000, ints - 0x1000000, ints)
        data = ints.astype(np.float32) / 8388608.0
    else:
        data = np.frombuffer(frames, dtype="<i4").astype(np.float32) / 2147483648.0
    usable = len(data) - len(data) % channels
    return data[:usable].reshape(-1, channels)


def convert_pcm(
    frames: bytes, rate: int, width: int, channels: int, to_rate: int = RATE, to_channels: int = CHANNELS
) -> bytes:
    """Any PCM to 16-bit PCM at ``to_rate``/``to_channels``: channels averaged to 16-bit mono, then resampled with
    ``hermes.resample`` (the same samples the streaming converters give for the same audio in chunks)."""
    if rate == to_rate and width == 2 and channels == to_channels:
        return frames
    if width == 2 and channels == 1:
        out = np.frombuffer(frames[: len(frames) - len(frames) % 2], dtype="<i2")
    else:
        samples = _to_float(frames, width, channels)
        mono = samples.mean(axis=1) if channels > 1 else samples[:, 0]
        out = np.clip(np.round(mono * 32767.0), -32768, 32767).astype("<i2")
    if rate != to_rate and len(out):
        out = resample(out, rate, to_rate).astype("<i2")
    if to_channels > 1:
        out = np.repeat(out[:, None], to_channels, axis=1).reshape(-1)
    return out.tobytes()


def to_pcm16k_mono(wav_bytes: bytes) -> bytes:
    """Raw 16 kHz 16-bit mono PCM from a WAV file of any rate, width and channel count."""
    info, frames = read_wav(wav_bytes)
    return convert_pcm(frames, info.rate, info.width, info.channels)


def to_wav16k_mono(wav_bytes: bytes) -> bytes:
    """The same sound as a 16 kHz 16-bit mono WAV (unchanged when it already is one)."""
    info, frames = read_wav(wav_bytes)
    if (info.rate, info.width, info.channels) == (RATE, WIDTH, CHANNELS):
        return wav_bytes
    return pcm_to_wav(convert_pcm(frames, info.rate, info.width, info.channels))


def chunk_pcm(pcm: bytes, samples: int = 1024, width: int = WIDTH) -> Iterator[bytes]:
    """Split PCM into chunks of ``samples`` frames (the last may be shorter)."""
    step = samples * width
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]


def wav_chunks(pcm: bytes, samples: int = 1024, rate: int = RATE) -> Iterator[bytes]:
    """PCM as a sequence of small WAV files, as a microphone service publishes audioFrames."""
    for chunk in chunk_pcm(pcm, samples):
        yield pcm_to_wav(chunk, rate)


def duration_seconds(wav_bytes: bytes) -> float:
    return wav_info(wav_bytes).seconds
