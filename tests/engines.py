"""Engines built as their services build them (``load_engine`` with the settings' options), for engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.engine_loader import load_engine
from services.tts.settings import TtsSettings
from services.wake.settings import WakeSettings


def tts_engine(settings: TtsSettings, profile_dir: Path | None) -> Any:
    return load_engine("tts", settings.engine, settings.options_for_engine(), profile_dir=profile_dir)  # type: ignore[arg-type]


def wake_engine(settings: WakeSettings, profile_dir: Path) -> Any:
    return load_engine("wake", settings.engine, settings.options_for_engine(), profile_dir=profile_dir)
