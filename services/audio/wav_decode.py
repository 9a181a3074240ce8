"""Decode any PCM or float WAV file into float samples for playback.

Python's ``wave`` module (3.11) reads only integer PCM; speakers must also play IEEE-float and
WAVE_FORMAT_EXTENSIBLE files, and files whose header sizes are placeholders (streamed WAV).
"""

from __future__ import annotations

import struct

import numpy as np

from hermes.wav import wav_format_problem

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE


class WavDecodeError(ValueError):
    """Bytes that are not a playable WAV file; the message says what is wrong."""


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(samples as float32 in [-1, 1] with shape (frames, channels), sample rate)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavDecodeError("not a WAV file (no RIFF/WAVE header); send WAV bytes")
    fmt: tuple[int, int, int, int] | None = None
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        size = struct.unpack_from("<I", data, position + 4)[0]
        body = data[position + 8 : position + 8 + size]  # may be short when the size is a placeholder
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise WavDecodeError("WAV fmt chunk is too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the sub-format GUID
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavDecodeError("WAV data chunk comes before its fmt chunk")
            return _samples(body, *fmt)
        position += 8 + size + (size & 1)
    raise WavDecodeError("WAV file has no data chunk" if fmt else "WAV file has no fmt chunk")


def _samples(body: bytes, tag: int, channels: int, rate: int, bits: int) -> tuple[np.ndarray, int]:
    problem = wav_format_problem(rate, channels)
    if problem:
        raise WavDecodeError(problem)
    width = bits // 8
    body = body[: len(body) - len(body) % (width * channels or 1)]
    if tag == _PCM and bits == 8:
        samples = (np.frombuffer(body, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == _PCM and bits == 16:
        samples = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
    elif tag == _PCM and bits == 24:
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        samples = (np.where(ints & 0x800000, ints - 0x1000000, ints) / 8388608.0).astype(np.float32)
    elif tag == _PCM and bits == 32:
        samples = (np.frombuffer(body, dtype="<i4") / 2147483648.0).astype(np.float32)
    elif tag == _FLOAT and bits in (32, 64):
        samples = np.clip(np.frombuffer(body, dtype="<f4" if bits == 32 else "<f8"), -1.0, 1.0).astype(np.float32)
    else:
        kind = {_PCM: "PCM", _FLOAT: "float"}.get(tag, f"format tag {tag:#x}")
        raise WavDecodeError(f"unsupported WAV encoding: {kind} with {bits} bits per sample")
    return samples.reshape(-1, channels), rate
