"""μ-law G.711 codec: bit-exact with CPython's audioop (still in 3.11) and 8 kHz <-> 16 kHz conversions."""

from __future__ import annotations

import warnings

import numpy as np

from services.asr import mulaw

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference implementation (removed in Python 3.13; our codec replaces it)


def test_encoder_matches_audioop_on_every_sample_value() -> None:
    every = np.arange(65536, dtype=np.uint16).view(np.int16).astype("<i2").tobytes()
    assert mulaw.encode(every) == audioop.lin2ulaw(every, 2)


def test_decoder_matches_audioop_on_every_code() -> None:
    codes = bytes(range(256))
    assert mulaw.decode(codes) == audioop.ulaw2lin(codes, 2)


def test_telephony_round_trip_keeps_speech_band_tone() -> None:
    t = np.arange(16000) / 16000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    ulaw = mulaw.pcm16k_to_ulaw8k(tone.tobytes())
    assert len(ulaw) == 8000
    back = np.frombuffer(mulaw.ulaw8k_to_pcm16k(ulaw), dtype=np.int16).astype(np.float64)
    assert len(back) == 16000
    middle = slice(1000, 15000)  # away from the resampler's edges
    error = back[middle] - tone[middle]
    snr = 10 * np.log10(np.mean(tone[middle].astype(np.float64) ** 2) / np.mean(error**2))
    assert snr > 25


def test_stream_codecs_equal_whole_buffer_length() -> None:
    pcm = (np.random.default_rng(3).normal(0, 3000, 16000)).astype(np.int16).tobytes()
    encoder, decoder = mulaw.MulawStreamEncoder(), mulaw.MulawStreamDecoder()
    chunks = [pcm[i : i + 640] for i in range(0, len(pcm), 640)]
    ulaw = b"".join(encoder.encode(c, last=(i == len(chunks) - 1)) for i, c in enumerate(chunks))
    assert abs(len(ulaw) - 8000) <= 1
    pieces = [ulaw[i : i + 160] for i in range(0, len(ulaw), 160)]
    out = b"".join(decoder.decode(p, last=(i == len(pieces) - 1)) for i, p in enumerate(pieces))
    assert abs(len(out) // 2 - 16000) <= 2
