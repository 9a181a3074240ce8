"""G.711 μ-law and A-law: bit-exact with CPython's audioop (still in 3.11), and telephony audio through the one
stream converter, both ways (16 kHz PCM -> 8 kHz μ-law WAV -> 16 kHz PCM)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hermes import g711
from hermes.audio_stream import PcmStream
from hermes.wav import g711_wav, read_wav, wav_info

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference implementation (removed in Python 3.13; our codec replaces it)

EVERY_SAMPLE = np.arange(65536, dtype=np.uint16).view(np.int16).astype("<i2").tobytes()
EVERY_CODE = bytes(range(256))


def test_mulaw_matches_audioop_on_every_sample_and_code() -> None:
    assert g711.mulaw_encode(EVERY_SAMPLE) == audioop.lin2ulaw(EVERY_SAMPLE, 2)
    assert g711.mulaw_decode(EVERY_CODE) == audioop.ulaw2lin(EVERY_CODE, 2)


def test_alaw_matches_audioop_on_every_sample_and_code() -> None:
    assert g711.alaw_encode(EVERY_SAMPLE) == audioop.lin2alaw(EVERY_SAMPLE, 2)
    assert g711.alaw_decode(EVERY_CODE) == audioop.alaw2lin(EVERY_CODE, 2)


@pytest.mark.parametrize("encoding, tag", [("mulaw", 7), ("alaw", 6)])
def test_g711_wav_files_are_what_telephony_tools_write_and_read_back(encoding: str, tag: int) -> None:
    pcm = (np.random.default_rng(1).normal(0, 3000, 801)).astype("<i2").tobytes()  # odd length: a pad byte
    wav = g711_wav(pcm, encoding)
    assert int.from_bytes(wav[20:22], "little") == tag
    assert wav[38:42] == b"fact" and int.from_bytes(wav[46:50], "little") == 801  # after an 18-byte fmt
    info, frames = read_wav(wav)
    assert (info.rate, info.width, info.channels, info.frames, info.encoding) == (8000, 2, 1, 801, encoding)
    reference = audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2) if encoding == "mulaw" else \
        audioop.alaw2lin(audioop.lin2alaw(pcm, 2), 2)
    assert frames == reference


def test_telephony_round_trip_through_the_stream_converter_keeps_a_speech_band_tone() -> None:
    t = np.arange(16000) / 16000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    down, up = PcmStream(to_rate=8000), PcmStream()
    chunks = [tone[i : i + 1024].tobytes() for i in range(0, len(tone), 1024)]
    wavs = [g711_wav(down.pcm(c, 16000, 2, 1, last=i == len(chunks) - 1), "mulaw") for i, c in enumerate(chunks)]
    assert sum(wav_info(w).frames for w in wavs) == 8000
    back = np.frombuffer(b"".join(up.wav(w, last=i == len(wavs) - 1) for i, w in enumerate(wavs)), dtype=np.int16)
    assert len(back) == 16000
    middle = slice(1000, 15000)  # away from the resampler's edges
    error = back[middle].astype(np.float64) - tone[middle]
    snr = 10 * np.log10(np.mean(tone[middle].astype(np.float64) ** 2) / np.mean(error**2))
    assert snr > 25
