"""G.711 codecs, μ-law and A-law (numpy, bit-exact with CPython's ``audioop``), for telephony audio.

8 kHz μ-law (North America, Japan) and A-law (elsewhere) are what SIP trunks, Twilio/Genesys voice streams and
WAV files with format tags 7 and 6 carry. ``audioop`` is deprecated and gone in Python 3.13, hence our own tables:
one byte per sample in, signed 16-bit little-endian PCM out, and back.
"""

from __future__ import annotations

import numpy as np

TELEPHONY_RATE = 8000

_MULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _every_int16() -> np.ndarray:
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)  # index = the value as uint16


def _mulaw_encode_table() -> np.ndarray:
    samples = _every_int16()
    magnitude = samples >> 2  # 16-bit -> 14-bit, arithmetic shift like C
    mask = np.where(magnitude < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(magnitude), 8159) + 0x21  # clip, then add the bias (0x84 >> 2)
    segment = np.searchsorted(_MULAW_SEGMENT_ENDS, magnitude)  # first segment whose end >= magnitude
    mantissa = (magnitude >> (np.minimum(segment, 7) + 1)) & 0xF
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


def _mulaw_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((codes & 0x0F) << 3) + 0x84) << ((codes & 0x70) >> 4)
    return np.where(codes & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_encode_table() -> np.ndarray:
    samples = _every_int16() >> 3  # 16-bit -> 13-bit
    mask = np.where(samples >= 0, 0xD5, 0x55)  # sign bit set for positive values, even bits inverted
    magnitude = np.where(samples >= 0, samples, -samples - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude)
    shift = np.where(segment < 2, 1, segment)
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> shift) & 0xF))
    return (code ^ mask).astype(np.uint8)


def _alaw_decode_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    mantissa = (codes & 0x0F) << 4
    segment = (codes & 0x70) >> 4
    value = np.where(segment == 0, mantissa + 8, np.where(segment == 1, mantissa + 0x108,
                                                            (mantissa + 0x108) << np.maximum(segment - 1, 0)))
    return np.where(codes & 0x80, value, -value).astype(np.int16)


_MULAW_ENCODE, _MULAW_DECODE = _mulaw_encode_table(), _mulaw_decode_table()
_ALAW_ENCODE, _ALAW_DECODE = _alaw_encode_table(), _alaw_decode_table()


def mulaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM -> μ-law bytes (one per sample)."""
    return _MULAW_ENCODE[np.frombuffer(pcm, dtype="<i2").view(np.uint16)].tobytes()


def mulaw_decode(codes: bytes) -> bytes:
    """μ-law bytes -> signed 16-bit little-endian PCM."""
    return _MULAW_DECODE[np.frombuffer(codes, dtype=np.uint8)].astype("<i2").tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM -> A-law bytes (one per sample)."""
    return _ALAW_ENCODE[np.frombuffer(pcm, dtype="<i2").view(np.uint16)].tobytes()


def alaw_decode(codes: bytes) -> bytes:
    """A-law bytes -> signed 16-bit little-endian PCM."""
    return _ALAW_DECODE[np.frombuffer(codes, dtype=np.uint8)].astype("<i2").tobytes()
