"""WAV files, the one place they are read and written: every Hermes audio payload is a complete WAV file, and
engines want 16 kHz 16-bit mono PCM.

Read: PCM of 8/16/24/32 bits, IEEE float (32/64), WAVE_FORMAT_EXTENSIBLE headers, μ-law and A-law (telephony),
any rate and channel count, streamed files whose sizes are placeholders. Written: plain PCM, μ-law, A-law.
``hermes.audio_stream`` converts streams of them chunk by chunk."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hermes import g711
from hermes.resample import resample

RATE = 16000
WIDTH = 2
CHANNELS = 1


class WavFormatError(ValueError):
    """Bytes that are not a WAV file we can read (the message says what is wrong)."""


# Format tags of the fmt chunk. WAVE_FORMAT_EXTENSIBLE (what sox, ffmpeg and most editors write for 24/32-bit or
# multi-channel files) carries the real tag in the first two bytes of its sub-format GUID.
FORMAT_PCM, FORMAT_FLOAT, FORMAT_ALAW, FORMAT_MULAW, FORMAT_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
ENCODINGS = {FORMAT_PCM: "pcm", FORMAT_FLOAT: "float", FORMAT_ALAW: "alaw", FORMAT_MULAW: "mulaw"}
_BITS = {FORMAT_PCM: (8, 16, 24, 32), FORMAT_FLOAT: (32, 64), FORMAT_ALAW: (8,), FORMAT_MULAW: (8,)}


@dataclass(frozen=True)
class WavInfo:
    """A WAV file's format as ``read_wav`` hands its samples out: ``width`` is that of the integer PCM returned
    (2 for μ-law and A-law, 4 for float files); ``encoding`` says how the file stored them."""

    rate: int
    width: int
    channels: int
    frames: int
    encoding: str = "pcm"

    @property
    def seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


@dataclass(frozen=True)
class _Riff:
    tag: int
    channels: int
    rate: int
    bits: int
    data: bytes

    @property
    def encoding(self) -> str:
        return ENCODINGS[self.tag]

    def whole_frames(self) -> bytes:
        frame = self.bits // 8 * self.channels
        return self.data[: len(self.data) - len(self.data) % frame]


def _parse(wav_bytes: bytes) -> _Riff:
    """The one RIFF/WAVE reader: the fmt chunk and the data, checked. A struct walk over the chunks (no file
    object): it runs for every 64 ms audio frame a service receives."""
    if len(wav_bytes) < 12 or wav_bytes[:4] != b"RIFF" or wav_bytes[8:12] != b"WAVE":
        raise WavFormatError("not a WAV file (no RIFF/WAVE header); send a RIFF/WAVE file")
    offset, fmt = 12, None
    while offset + 8 <= len(wav_bytes):
        chunk_id, size = struct.unpack_from("<4sI", wav_bytes, offset)
        body = offset + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(wav_bytes):
                raise WavFormatError("the WAV fmt chunk is cut off or too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", wav_bytes, body)
            if tag == FORMAT_EXTENSIBLE:
                if size < 26 or body + 26 > len(wav_bytes):
                    raise WavFormatError("the WAV fmt chunk says 'extensible' but has no sub-format")
                tag = struct.unpack_from("<H", wav_bytes, body + 24)[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavFormatError("the WAV data chunk comes before its fmt chunk")
            # Streamed WAVs (espeak-ng --stdout, sox to a pipe) declare a placeholder size, and a cut-off file
            # ends early: what counts is the data actually present.
            return _checked(_Riff(*fmt, wav_bytes[body : body + min(size, len(wav_bytes) - body)]))
        offset = body + size + (size & 1)
    raise WavFormatError("the WAV file has no data chunk" if fmt else "the WAV file has no fmt chunk (too short?)")


def _checked(riff: _Riff) -> _Riff:
    problem = wav_format_problem(riff.rate, riff.channels)
    if problem:
        raise WavFormatError(problem)
    if riff.tag not in _BITS:
        raise WavFormatError(f"unsupported WAV encoding (format tag {riff.tag:#x}); send PCM, float, "
                             "μ-law or A-law")
    if riff.bits not in _BITS[riff.tag]:
        raise WavFormatError(f"unsupported WAV encoding: {riff.encoding} with {riff.bits} bits per sample")
    return riff


# Sample rates and channel counts any real audio has. Outside them a header is hostile or broken: 600 bytes
# "at 1 Hz" are ten minutes of sound once resampled, and would hold a speaker (or a decoder) that long; and the
# resampler's filter grows with the ratio of the rates.
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
    """(format, whole frames as integer PCM) of any WAV file: PCM as stored; μ-law and A-law decoded to 16-bit;
    float to 32-bit. Raises WavFormatError for anything else."""
    riff = _parse(wav_bytes)
    frames = riff.whole_frames()
    if riff.tag == FORMAT_MULAW:
        frames, width = g711.mulaw_decode(frames), 2
    elif riff.tag == FORMAT_ALAW:
        frames, width = g711.alaw_decode(frames), 2
    elif riff.tag == FORMAT_FLOAT:
        floats = np.frombuffer(frames, dtype="<f4" if riff.bits == 32 else "<f8").astype(np.float64)
        frames, width = np.round(np.clip(np.nan_to_num(floats), -1.0, 1.0) * 2147483647).astype("<i4").tobytes(), 4
    else:
        width = riff.bits // 8
    return WavInfo(riff.rate, width, riff.channels, len(frames) // (width * riff.channels), riff.encoding), frames


def read_samples(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    """(samples as float32 in [-1, 1] with shape (frames, channels), rate) of any WAV file: for playback."""
    riff = _parse(wav_bytes)
    if riff.tag == FORMAT_FLOAT:
        floats = np.frombuffer(riff.whole_frames(), dtype="<f4" if riff.bits == 32 else "<f8")
        return np.clip(np.nan_to_num(floats), -1.0, 1.0).astype(np.float32).reshape(-1, riff.channels), riff.rate
    info, frames = read_wav(wav_bytes)
    return _to_float(frames, info.width, info.channels), info.rate


def wav_info(wav_bytes: bytes) -> WavInfo:
    return read_wav(wav_bytes)[0]


def pcm_to_wav(pcm: bytes, rate: int = RATE, width: int = WIDTH, channels: int = CHANNELS) -> bytes:
    """Wrap raw PCM in a canonical 44-byte-header WAV file."""
    pcm = pcm[: len(pcm) - len(pcm) % (width * channels)]
    fmt = struct.pack("<HHIIHH", FORMAT_PCM, channels, rate, rate * width * channels, width * channels, 8 * width)
    return _riff_file(fmt, b"", pcm)


UNKNOWN_SIZE = 0xFFFFFFFF


def streaming_wav_header(rate: int, width: int = WIDTH, channels: int = CHANNELS) -> bytes:
    """The 44-byte header of a WAV whose length is not known yet (sound sent as it is made): RIFF and data
    sizes are 0xFFFFFFFF, which players and our own reader take as "until the end of the stream"."""
    fmt = struct.pack("<HHIIHH", FORMAT_PCM, channels, rate, rate * width * channels, width * channels, 8 * width)
    return (b"RIFF" + struct.pack("<I", UNKNOWN_SIZE) + b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", UNKNOWN_SIZE))


def g711_wav(pcm: bytes, encoding: str, rate: int = g711.TELEPHONY_RATE, channels: int = CHANNELS) -> bytes:
    """16-bit PCM encoded as a μ-law (``mulaw``, format tag 7) or A-law (``alaw``, tag 6) WAV file, as
    telephony tools write them (an 18-byte fmt chunk and a fact chunk with the frame count)."""
    encoders = {"mulaw": (FORMAT_MULAW, g711.mulaw_encode), "alaw": (FORMAT_ALAW, g711.alaw_encode)}
    if encoding not in encoders:
        raise ValueError(f"G.711 encoding {encoding!r}: choose mulaw or alaw")
    tag, encode = encoders[encoding]
    codes = encode(pcm[: len(pcm) - len(pcm) % (2 * channels)])
    fmt = struct.pack("<HHIIHHH", tag, channels, rate, rate * channels, channels, 8, 0)  # cbSize 0
    return _riff_file(fmt, b"fact" + struct.pack("<II", 4, len(codes) // channels), codes)


def _riff_file(fmt: bytes, extra_chunks: bytes, data: bytes) -> bytes:
    pad = b"\x00" if len(data) & 1 else b""
    body = (b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
            + b"data" + struct.pack("<I", len(data)) + data + pad)
    return b"RIFF" + struct.pack("<I", len(body)) + body


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
    if (info.rate, info.width, info.channels, info.encoding) == (RATE, WIDTH, CHANNELS, "pcm"):
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
