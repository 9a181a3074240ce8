"""Test signals and their analysis: tones in, dominant frequency and level out."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np


def tone(frequency: float, seconds: float, rate: int = 16000, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * frequency * t) * amplitude).astype(np.float32)


def to_int16(samples: np.ndarray) -> bytes:
    return np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def int16_wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    """Samples (mono) as a 16-bit PCM WAV, duplicated into ``channels``."""
    frames = np.repeat(samples[:, None], channels, axis=1).reshape(-1)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(to_int16(frames))
    return buffer.getvalue()


def float_wav(samples: np.ndarray, rate: int, channels: int = 2) -> bytes:
    """IEEE-float 32-bit WAV (format tag 3), which Python's wave module cannot even read."""
    frames = np.repeat(samples[:, None], channels, axis=1).reshape(-1).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 4, channels * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pcm_samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def dominant_frequency(pcm: bytes, rate: int = 16000) -> float:
    samples = pcm_samples(pcm)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def loud_part(pcm: bytes, threshold: float = 0.05) -> bytes:
    """The span from the first to the last sample above ``threshold`` (the played sound without silence)."""
    samples = pcm_samples(pcm)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if not len(loud):
        return b""
    return pcm[loud[0] * 2 : (loud[-1] + 1) * 2]


def peak(pcm: bytes) -> float:
    samples = pcm_samples(pcm)
    return float(np.abs(samples).max()) if len(samples) else 0.0
