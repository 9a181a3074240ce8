"""The wake engine interface: one engine per service, one detector (with its own state) per site.

A user engine class named by module path in the profile (``"engine": "mypkg.mywake.MyWakeEngine"``) is
constructed as ``MyWakeEngine(settings: dict, profile_dir: Path)`` and must provide ``models`` and
``new_detector()`` as below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from services.config import ConfigError
from services.plugins import PluginError, import_class

from .settings import WakeSettings

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2


class WakeConfigError(ConfigError):
    """A wake configuration the user must fix (unknown word, missing model file, bad engine name)."""


class WakeEngineError(RuntimeError):
    """The engine failed while running (e.g. the precise-engine process died)."""


@dataclass(frozen=True)
class WakeModel:
    """What ``rhasspy/hotword/hotwords`` lists and ``hotword/detected`` reports."""

    wakeword_id: str
    model_id: str
    words: str
    sensitivity: float = 1.0
    version: str = ""
    type: str = "personal"


@dataclass(frozen=True)
class WakeDetection:
    model: WakeModel
    # Position in the detector's stream (seconds of audio processed since it was created) at detection.
    stream_seconds: float


@runtime_checkable
class WakeDetector(Protocol):
    """Detector state of one site: feed 16 kHz 16-bit mono PCM of any length, get detections."""

    def process(self, pcm: bytes) -> list[WakeDetection]: ...

    def reset(self) -> None:
        """Forget partial matches (after a detection or when switched off)."""

    def close(self) -> None: ...


@runtime_checkable
class WakeEngine(Protocol):
    models: list[WakeModel]

    def new_detector(self) -> WakeDetector: ...

    def close(self) -> None: ...


def default_wakeword_id(text: str) -> str:
    """A topic-safe id from a phrase or file name: no spaces, no '/', '+' or '#'."""
    cleaned = "_".join(text.strip().split())
    for bad in "/+#":
        cleaned = cleaned.replace(bad, "_")
    return cleaned or "default"


def load_class(path: str, what: str) -> type:
    """Import ``package.module.ClassName``; errors name the path and what was expected."""
    if "." not in path and ":" not in path:
        raise WakeConfigError(f"{what} {path!r} is neither a built-in engine nor 'package.module.ClassName'")
    try:
        return import_class(path, what)
    except PluginError as err:
        raise WakeConfigError(str(err)) from err


def create_wake_engine(settings: WakeSettings, profile_dir: Path) -> WakeEngine:
    """Build and check the configured engine; raises WakeConfigError with what to fix."""
    if settings.engine == "pocketsphinx":
        from .pocketsphinx_kws import PocketsphinxWakeEngine

        return PocketsphinxWakeEngine(settings.pocketsphinx, profile_dir)
    if settings.engine == "precise":
        from .precise import PreciseWakeEngine

        return PreciseWakeEngine(settings.precise, profile_dir)
    cls = load_class(settings.engine, "wake engine")
    engine = cls(dict(settings.custom), profile_dir)
    if not isinstance(engine, WakeEngine):
        raise WakeConfigError(f"wake engine {settings.engine!r} lacks 'models' or 'new_detector()'")
    return engine
