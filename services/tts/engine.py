"""The TTS engine interface and the helpers every engine shares.

A user engine class named by module path in the profile (``"engine": "mypkg.voice.MyTtsEngine"``) is
constructed as ``MyTtsEngine(settings: dict, profile_dir: Path)`` and provides ``synthesize`` and
``voices`` as below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from hermes.wav import convert_pcm, pcm_to_wav, read_wav
from services.config import ConfigError
from services.plugins import PluginError, import_class

from .settings import TtsSettings


class TtsConfigError(ConfigError):
    """A TTS configuration the user must fix."""


class TtsEngineError(RuntimeError):
    """Synthesis failed (unknown voice, engine crashed); the message says what to change."""


@dataclass(frozen=True)
class TtsVoice:
    voice_id: str
    description: str | None = None


@runtime_checkable
class TtsEngine(Protocol):
    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None) -> bytes:
        """A complete WAV file (any rate/width/channels) of ``text``."""

    def voices(self) -> list[TtsVoice]: ...


def scale_volume(wav: bytes, volume: float) -> bytes:
    """The same sound with samples scaled by ``volume`` (0..1), as 16-bit PCM WAV."""
    info, frames = read_wav(wav)
    pcm = convert_pcm(frames, info.rate, info.width, info.channels, to_rate=info.rate, to_channels=info.channels)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * max(0.0, min(1.0, volume))
    return pcm_to_wav(np.round(samples).astype("<i2").tobytes(), info.rate, 2, info.channels)


def load_class(path: str) -> type:
    if "." not in path and ":" not in path:
        raise TtsConfigError(f"TTS engine {path!r} is neither 'espeak' nor 'package.module.ClassName'")
    try:
        return import_class(path, "TTS engine")
    except PluginError as err:
        raise TtsConfigError(str(err)) from err


def create_tts_engine(settings: TtsSettings, profile_dir: Path) -> TtsEngine:
    if settings.engine == "espeak":
        from .espeak import EspeakTtsEngine

        return EspeakTtsEngine(settings.espeak)
    engine = load_class(settings.engine)(dict(settings.custom), profile_dir)
    if not isinstance(engine, TtsEngine):
        raise TtsConfigError(f"TTS engine {settings.engine!r} lacks synthesize() or voices()")
    return engine
