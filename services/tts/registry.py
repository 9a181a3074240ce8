"""The text-to-speech engines known by name; any other spec is a user's class (``package.module:Class``)."""

from __future__ import annotations

from services.engines import EngineRegistry

from .engine import TtsConfigError, TtsEngine

TTS_ENGINES = EngineRegistry(
    kind="tts",
    interface=TtsEngine,
    methods=("synthesize", "voices"),
    builtins={
        "espeak": "services.tts.espeak:EspeakTtsEngine",
        "piper": "services.tts.piper_engine:PiperTtsEngine",  # imports piper-tts only when built
        "wyoming": "services.tts.wyoming_engine:WyomingTtsEngine",
    },
    error=TtsConfigError,
    renamed={"bridge.wyoming.engines.WyomingTtsEngine": "wyoming"},
    legacy_constructor=True,
)
