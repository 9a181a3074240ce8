"""The wake engine interface: one engine per service, one detector (with its own state) per site.

Types only: the engines are named in registry.py. A user engine class named in the profile
(``"wake": {"engine": "mypkg.mywake:MyWakeEngine"}``) is constructed as ``MyWakeEngine(config: EngineConfig)``
(its options in ``config.options``, from ``wake.engine_options``) and must provide ``models``,
``new_detector()`` and ``close()`` as below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from services.engines import EngineConfigError, EngineError

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2


class WakeConfigError(EngineConfigError):
    """A wake configuration the user must fix (unknown word, missing model file, bad engine name)."""

    default_code = "wake-config"


class WakeEngineError(EngineError, RuntimeError):
    """The engine failed while running (e.g. the precise-engine process died)."""

    default_code = "wake-engine"


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
