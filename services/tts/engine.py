"""The TTS engine interface and the helpers every engine shares (types only: the engines are in registry.py).

A user engine class named in the profile (``"tts": {"engine": "mypkg.voice:MyTtsEngine"}``) is constructed as
``MyTtsEngine(config: EngineConfig)`` (its options in ``config.options``, from ``tts.engine_options``) and
provides ``synthesize`` and ``voices`` as below.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hermes.wav import convert_pcm, pcm_to_wav, read_wav
from services.engines import EngineConfigError, EngineError


class TtsConfigError(EngineConfigError):
    """A TTS configuration the user must fix."""

    default_code = "tts-config"


class TtsEngineError(EngineError, RuntimeError):
    """Synthesis failed (unknown voice, engine crashed); the message says what to change."""

    default_code = "tts-engine"


@dataclass(frozen=True)
class TtsVoice:
    voice_id: str
    description: str | None = None
    languages: tuple[str, ...] = ()  # what the voice speaks ("en_US"), where the engine knows
    speakers: tuple[str, ...] = ()  # a multi-speaker voice's speaker names


@runtime_checkable
class TtsEngine(Protocol):
    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None) -> bytes:
        """A complete WAV file (any rate/width/channels) of ``text``."""

    def voices(self) -> list[TtsVoice]: ...


@runtime_checkable
class SentenceStreamingTtsEngine(TtsEngine, Protocol):
    """An engine that can also hand out audio sentence by sentence (optional: Piper has it, espeak-ng not)."""

    def synthesize_stream(self, text: str, voice: str | None = None, lang: str | None = None) -> Iterator[bytes]:
        """One complete WAV file per sentence, each yielded as soon as it is made."""
        ...


def takes_speaker(engine: Any) -> bool:
    """The engine's ``synthesize`` takes a ``speaker`` keyword (Piper, Wyoming). The interface above has none, so
    a user's engine written to it keeps working: a say's speaker is simply not given to it."""
    try:
        parameters = inspect.signature(engine.synthesize).parameters
    except (AttributeError, TypeError, ValueError):
        return False
    return "speaker" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _speaker_kwargs(engine: Any, speaker: str | None) -> dict[str, str]:
    return {"speaker": speaker} if speaker is not None and takes_speaker(engine) else {}


def synthesize(engine: Any, text: str, voice: str | None = None, lang: str | None = None,
               speaker: str | None = None) -> bytes:
    """The engine's whole WAV, with ``speaker`` where the engine takes one."""
    return bytes(engine.synthesize(text, voice, lang, **_speaker_kwargs(engine, speaker)))


def synthesize_stream(engine: Any, text: str, voice: str | None = None, lang: str | None = None,
                      speaker: str | None = None) -> Iterator[bytes]:
    """Sentence by sentence where the engine can (``synthesize_stream``), else its whole WAV as one chunk."""
    stream = getattr(engine, "synthesize_stream", None)
    if callable(stream):
        yield from stream(text, voice, lang, **_speaker_kwargs(engine, speaker))
    else:
        yield synthesize(engine, text, voice, lang, speaker)


def scale_volume(wav: bytes, volume: float) -> bytes:
    """The same sound with samples scaled by ``volume`` (0..1), as 16-bit PCM WAV."""
    info, frames = read_wav(wav)
    pcm = convert_pcm(frames, info.rate, info.width, info.channels, to_rate=info.rate, to_channels=info.channels)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * max(0.0, min(1.0, volume))
    return pcm_to_wav(np.round(samples).astype("<i2").tobytes(), info.rate, 2, info.channels)
