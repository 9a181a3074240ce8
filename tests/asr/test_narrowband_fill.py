"""The upper-band fill for narrowband audio (services/asr/narrowband.py): real 8 kHz digits, measured in
bench/speech_bench.py (301 -> 311 of 400); here its contract: deterministic, only the empty band, only narrowband."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hermes.wav import to_pcm16k_mono
from services.asr.narrowband import fill_upper_band
from services.asr.pocketsphinx_engine import is_narrowband

DIGITS_DIR = Path(__file__).resolve().parents[3] / "shared" / "speech" / "digits"  # real 8 kHz recordings


def _band_power(pcm: bytes, low: float, high: float) -> float:
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    return float(power[(freqs >= low) & (freqs < high)].sum())


def _a_real_digit() -> bytes:
    return to_pcm16k_mono((DIGITS_DIR / "6_jackson_2.wav").read_bytes())


def test_the_fill_goes_into_the_empty_band_only_and_is_the_same_every_time() -> None:
    pcm = _a_real_digit()
    assert is_narrowband(pcm)
    filled = fill_upper_band(pcm, -6.0)
    assert len(filled) == len(pcm) and filled == fill_upper_band(pcm, -6.0)
    assert _band_power(filled, 4300, 7300) > 100 * _band_power(pcm, 4300, 7300)
    below = _band_power(pcm, 100, 3900)
    assert abs(_band_power(filled, 100, 3900) - below) < 0.01 * below  # what was there stays
    quieter = fill_upper_band(pcm, -20.0)
    assert _band_power(quieter, 4300, 7300) < _band_power(filled, 4300, 7300) / 10


def test_silence_gets_no_fill() -> None:
    silence = bytes(32000)
    assert fill_upper_band(silence, -6.0) == silence
    assert fill_upper_band(b"\x01\x00" * 10, -6.0) == b"\x01\x00" * 10  # shorter than one envelope window
