"""``load_engine(kind, spec, options)``: the one way every voice function builds its engine.

The registries name the backends; this module is above them all (it imports each family's registry, and no
family imports it except through its service), so no interface module ever imports a backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from services.asr.registry import ASR_ENGINES
from services.engines import EngineRegistry
from services.tts.registry import TTS_ENGINES
from services.wake.registry import WAKE_ENGINES

EngineKind = Literal["asr", "tts", "wake"]
ENGINE_REGISTRIES: dict[str, EngineRegistry] = {r.kind: r for r in (ASR_ENGINES, TTS_ENGINES, WAKE_ENGINES)}


def load_engine(
    kind: EngineKind | str, spec: str, options: Mapping[str, Any], *, profile_dir: Path, work_dir: Path | None = None
) -> Any:
    """The ``kind`` engine a spec names (a built-in name or ``package.module:Class``), built with ``options``."""
    registry = ENGINE_REGISTRIES.get(kind)
    if registry is None:
        raise ValueError(f"no engine kind {kind!r}: use one of {', '.join(ENGINE_REGISTRIES)}")
    return registry.load(spec, options, profile_dir=profile_dir, work_dir=work_dir)
