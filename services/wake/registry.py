"""The wake engines known by name; any other spec is a user's class (``package.module:Class``)."""

from __future__ import annotations

from services.engines import EngineRegistry

from .engine import WakeConfigError, WakeEngine

WAKE_ENGINES = EngineRegistry(
    kind="wake",
    interface=WakeEngine,
    methods=("new_detector", "close"),
    attributes=("models",),
    builtins={
        "pocketsphinx": "services.wake.pocketsphinx_kws:PocketsphinxWakeEngine",
        "precise": "services.wake.precise:PreciseWakeEngine",
        "wyoming": "services.wake.wyoming_engine:WyomingWakeEngine",
    },
    error=WakeConfigError,
    renamed={"bridge.wyoming.engines.WyomingWakeEngine": "wyoming"},
    legacy_constructor=True,
)
