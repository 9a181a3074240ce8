"""G.711 μ-law codec (numpy, bit-exact with CPython's audioop) and 8 kHz telephony <-> 16 kHz PCM.

The Rasa voice stream (Twilio/Genesys style) carries 8 kHz mono μ-law bytes; Hermes audio is 16 kHz
mono signed 16-bit PCM. ``audioop`` is deprecated and gone in Python 3.13, hence our own codec.
"""

from __future__ import annotations

import numpy as np

from hermes.resample import Resampler, resample

TELEPHONY_RATE = 8000
HERMES_RATE = 16000

_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


def _build_encode_table() -> np.ndarray:
    """μ-law byte for every int16 value (index = value as uint16), as G.711 / audioop.lin2ulaw."""
    samples = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)
    magnitude = samples >> 2  # 16-bit -> 14-bit, arithmetic shift like C
    mask = np.where(magnitude < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(magnitude), 8159) + 0x21  # clip, then add the bias (0x84 >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude)  # first segment whose end >= magnitude
    mantissa = (magnitude >> (np.minimum(segment, 7) + 1)) & 0xF
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


def _build_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((codes & 0x0F) << 3) + 0x84) << ((codes & 0x70) >> 4)
    return np.where(codes & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


_ENCODE = _build_encode_table()
_DECODE = _build_decode_table()


def encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM -> μ-law bytes (one byte per sample)."""
    return _ENCODE[np.frombuffer(pcm, dtype="<i2").view(np.uint16)].tobytes()


def decode(ulaw: bytes) -> bytes:
    """μ-law bytes -> signed 16-bit little-endian PCM."""
    return _DECODE[np.frombuffer(ulaw, dtype=np.uint8)].astype("<i2").tobytes()


def ulaw8k_to_pcm16k(ulaw: bytes) -> bytes:
    """A whole 8 kHz μ-law recording -> 16 kHz mono PCM."""
    pcm = np.frombuffer(decode(ulaw), dtype=np.int16)
    return resample(pcm, TELEPHONY_RATE, HERMES_RATE).tobytes()


def pcm16k_to_ulaw8k(pcm: bytes) -> bytes:
    """A whole 16 kHz mono PCM recording -> 8 kHz μ-law (the resampler filters out what 8 kHz cannot carry)."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    return encode(resample(samples, HERMES_RATE, TELEPHONY_RATE).tobytes())


class MulawStreamDecoder:
    """8 kHz μ-law chunks -> 16 kHz PCM chunks, resampled without clicks at chunk borders."""

    def __init__(self) -> None:
        self._resampler = Resampler(TELEPHONY_RATE, HERMES_RATE)

    def decode(self, ulaw: bytes, last: bool = False) -> bytes:
        pcm = np.frombuffer(decode(ulaw), dtype=np.int16)
        return self._resampler.process(pcm, last=last).tobytes()


class MulawStreamEncoder:
    """16 kHz PCM chunks -> 8 kHz μ-law chunks (e.g. replies to a telephony channel)."""

    def __init__(self) -> None:
        self._resampler = Resampler(HERMES_RATE, TELEPHONY_RATE)

    def encode(self, pcm: bytes, last: bool = False) -> bytes:
        samples = np.frombuffer(pcm, dtype=np.int16)
        return encode(self._resampler.process(samples, last=last).tobytes())
