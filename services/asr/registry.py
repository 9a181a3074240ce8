"""The speech-to-text engines known by name; any other spec is a user's class (``package.module:Class``)."""

from __future__ import annotations

from services.engines import EngineRegistry

from .engine import AsrEngine, AsrEngineError

ASR_ENGINES = EngineRegistry(
    kind="asr",
    interface=AsrEngine,
    methods=("train", "open_stream"),
    builtins={
        "pocketsphinx": "services.asr.pocketsphinx_engine:PocketsphinxAsrEngine",
        "kaldi": "services.asr.kaldi_engine:KaldiAsrEngine",
        "wyoming": "services.asr.wyoming_engine:WyomingAsrEngine",
        "faster-whisper": "services.asr.whisper_engine:FasterWhisperAsrEngine",
        "hybrid": "services.asr.hybrid_engine:HybridAsrEngine",
    },
    error=AsrEngineError,
    renamed={"bridge.wyoming.engines.WyomingAsrEngine": "wyoming"},
)
