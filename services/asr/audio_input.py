"""Audio payloads of any format -> 16 kHz mono s16le PCM, per source, without clicks at chunk borders.

audioFrame payloads are small WAV files. PCM WAVs of any rate, width and channel count are read with
``hermes.wav``; μ-law WAVs (format tag 7, 8 kHz telephony audio) are decoded here. Resampling keeps one
stream per source (``hermes.resample``, whose output does not depend on the chunking), because resampling
every 64 ms chunk on its own adds an edge at each border.

Narrowband audio is resampled and nothing else: no noise floor is added above 4 kHz. The bridge resamples
HTTP and Wyoming audio with the same resampler, so all three entries give the decoder the same samples. (A white
floor at rms 300 once hid empty transcripts of the old streaming decode; with each utterance decoded
whole it costs accuracy: real 8 kHz digits, 296/400 right without it, 271/400 with it.)
"""

from __future__ import annotations

import struct

import numpy as np

from hermes.resample import Resampler
from hermes.wav import WavFormatError, convert_pcm, read_wav

from . import mulaw

RATE = 16000
WAVE_FORMAT_PCM = 1
WAVE_FORMAT_MULAW = 7
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def _riff_audio(wav_bytes: bytes) -> tuple[int, int, int, int, bytes] | None:
    """(format tag, rate, channels, bits per sample, data) of a RIFF/WAVE payload, or None if it is not one.

    Read here rather than with the ``wave`` module because μ-law WAVs (tag 7) are not PCM, and because
    this runs for every audio frame (a struct read instead of a file object per 64 ms of audio).
    """
    if len(wav_bytes) < 12 or wav_bytes[:4] != b"RIFF" or wav_bytes[8:12] != b"WAVE":
        return None
    offset, fmt = 12, None
    while offset + 8 <= len(wav_bytes):
        chunk_id, size = struct.unpack_from("<4sI", wav_bytes, offset)
        body = offset + 8
        if chunk_id == b"fmt " and size >= 16:
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", wav_bytes, body)
            if tag == WAVE_FORMAT_EXTENSIBLE and size >= 40:
                tag = struct.unpack_from("<H", wav_bytes, body + 24)[0]  # sub-format GUID starts with the tag
            fmt = (tag, rate, channels, bits)
        elif chunk_id == b"data" and fmt is not None:
            # streaming writers leave the size as a placeholder: take what is there
            return (*fmt, wav_bytes[body : body + min(size, len(wav_bytes) - body)])
        offset = body + size + (size & 1)
    return None


class AudioConverter:
    """Converts the payloads of one source (a site or a session), keeping resampler state between them."""

    def __init__(self) -> None:
        self._format: tuple[int, int, int] | None = None
        self._resampler: Resampler | None = None

    def to_pcm16k(self, wav_bytes: bytes) -> bytes:
        riff = _riff_audio(wav_bytes)
        if riff is not None and riff[0] == WAVE_FORMAT_MULAW:
            _, rate, channels, _, data = riff
            frames, width = mulaw.decode(data), 2
        elif riff is not None and riff[0] == WAVE_FORMAT_PCM and riff[3] in (8, 16, 24, 32):
            _, rate, channels, bits, frames = riff
            width = bits // 8
            frames = frames[: len(frames) - len(frames) % (width * max(channels, 1))]
        else:  # anything else: hermes.wav reads it or says what is wrong with it
            info, frames = read_wav(wav_bytes)
            rate, channels, width = info.rate, info.channels, info.width
        if rate <= 0 or channels <= 0:
            raise WavFormatError(f"invalid WAV header: rate {rate}, channels {channels}")
        if (rate, width, channels) == (RATE, 2, 1):
            return frames
        mono = convert_pcm(frames, rate, width, channels, to_rate=rate)  # width and channels only
        if rate == RATE:
            return mono
        if self._format != (rate, width, channels) or self._resampler is None:
            self._format = (rate, width, channels)
            self._resampler = Resampler(rate, RATE)
        out = self._resampler.process(np.frombuffer(mono, dtype=np.int16))
        return out.tobytes()


def mulaw_wav(ulaw: bytes, rate: int = mulaw.TELEPHONY_RATE, channels: int = 1) -> bytes:
    """Wrap μ-law bytes in a WAV file (format tag 7), e.g. to publish telephony audio as audioFrames."""
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_MULAW, channels, rate, rate * channels, channels, 8)
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt) + 2) + fmt + b"\x00\x00"  # cbSize = 0
    fact = b"fact" + struct.pack("<II", 4, len(ulaw) // channels)
    data = b"data" + struct.pack("<I", len(ulaw)) + ulaw + (b"\x00" if len(ulaw) & 1 else b"")
    body = b"WAVE" + fmt_chunk + fact + data
    return b"RIFF" + struct.pack("<I", len(body)) + body
