"""Mycroft Precise through precise-runner's engine driver and trigger logic, without pyaudio.

``precise_runner.PreciseRunner`` imports pyaudio even when given a stream, so we drive its
``PreciseEngine`` (the precise-engine stdin/stdout protocol: write ``chunk_size`` bytes of 16 kHz 16-bit
mono audio, read one probability line) and its ``TriggerDetector`` ourselves, one engine process per site
because the network keeps state between chunks.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from precise_runner import PreciseEngine
from precise_runner.runner import TriggerDetector

from services.engines import EngineConfig, engine_settings

from .engine import (
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    WakeConfigError,
    WakeDetection,
    WakeEngineError,
    WakeModel,
    default_wakeword_id,
)
from .settings import PreciseWakeSettings


def _resolve_executable(engine: str, profile_dir: Path) -> str:
    if "/" in engine:
        path = Path(engine) if Path(engine).is_absolute() else profile_dir / engine
        if not path.is_file():
            raise WakeConfigError(f"precise engine not found: {path}")
        if not os.access(path, os.X_OK):
            raise WakeConfigError(f"precise engine is not executable: {path} (chmod +x it)")
        return str(path)
    found = shutil.which(engine)
    if found is None:
        raise WakeConfigError(f"precise engine not found: {engine!r} is not on PATH; give its full path")
    return found


def _resolve_model(model: str, profile_dir: Path) -> Path:
    path = Path(model) if Path(model).is_absolute() else profile_dir / model
    if not path.is_file():
        raise WakeConfigError(f"precise model missing: {path}")
    params = path.with_name(path.name + ".params")
    if not params.is_file():
        raise WakeConfigError(f"precise model missing: {params} (a .pb model needs its .pb.params next to it)")
    return path


class PreciseWakeEngine:
    """Checks the engine executable and model, and that the engine answers, before serving any site."""

    def __init__(self, config: EngineConfig) -> None:
        """Options: those of ``wake.precise`` (``PreciseWakeSettings``)."""
        settings = engine_settings(PreciseWakeSettings, config, "wake engine precise", WakeConfigError)
        profile_dir = config.profile_dir
        if not settings.engine:
            raise WakeConfigError(
                "precise: set wake.precise.engine to your precise-engine executable (it is not shipped)"
            )
        if not settings.model:
            raise WakeConfigError("precise: set wake.precise.model to your .pb wake word model (it is not shipped)")
        self._settings = settings
        self._command = [_resolve_executable(settings.engine, profile_dir), *settings.engine_args]
        self._model_path = _resolve_model(settings.model, profile_dir)
        name = self._model_path.name.removesuffix(".pb")
        self.models = [
            WakeModel(
                wakeword_id=settings.wakeword_id or default_wakeword_id(name),
                model_id=self._model_path.name,
                words=name.replace("-", " ").replace("_", " "),
                sensitivity=settings.sensitivity,
            )
        ]
        self._probe()

    def _probe(self) -> None:
        """One prediction on silence, so a broken engine fails at start-up and not at the first word."""
        detector = self.new_detector()
        result: list[float | BaseException] = []

        def predict() -> None:
            try:
                result.append(detector.predict(bytes(self._settings.chunk_size)))
            except BaseException as err:  # reported below in the caller's thread
                result.append(err)

        thread = threading.Thread(target=predict, daemon=True)
        thread.start()
        thread.join(self._settings.start_timeout)
        detector.close()
        thread.join(5.0)
        if not result:
            raise WakeConfigError(
                f"precise engine {self._command[0]} gave no prediction within {self._settings.start_timeout:g} s"
            )
        if isinstance(result[0], BaseException):
            raise WakeConfigError(f"precise engine {self._command[0]} does not work: {result[0]}")

    def new_detector(self) -> PreciseWakeDetector:
        return PreciseWakeDetector(self._command, self._model_path, self._settings, self.models[0])

    def close(self) -> None:
        pass


class PreciseWakeDetector:
    """One precise-engine process and trigger state for one site."""

    def __init__(self, command: list[str], model_path: Path, settings: PreciseWakeSettings, model: WakeModel):
        self._settings = settings
        self._model = model
        self._name = command[0]
        # PreciseEngine appends model and chunk size to the list it is given: hand it a copy.
        self._engine = PreciseEngine(list(command), str(model_path), chunk_size=settings.chunk_size)
        try:
            self._engine.start()
        except OSError as err:
            raise WakeEngineError(f"cannot start precise engine {self._name}: {err}") from err
        self._trigger = self._new_trigger()
        self._buffer = b""
        self._samples = 0

    def _new_trigger(self) -> TriggerDetector:
        return TriggerDetector(self._settings.chunk_size, self._settings.sensitivity, self._settings.trigger_level)

    def predict(self, chunk: bytes) -> float:
        try:
            return float(self._engine.get_prediction(chunk))
        except (OSError, ValueError, AttributeError) as err:
            proc = self._engine.proc
            code = proc.poll() if proc is not None else None
            raise WakeEngineError(
                f"precise engine {self._name} stopped answering (exit code {code}): {err}"
            ) from err

    def process(self, pcm: bytes) -> list[WakeDetection]:
        detections = []
        self._buffer += pcm
        size = self._settings.chunk_size
        while len(self._buffer) >= size:
            chunk, self._buffer = self._buffer[:size], self._buffer[size:]
            probability = self.predict(chunk)
            self._samples += size // SAMPLE_WIDTH
            # TriggerDetector needs several activated chunks in a row and then holds off for a while,
            # which is precise-runner's own reset after an activation.
            if self._trigger.update(probability):
                detections.append(WakeDetection(self._model, self._samples / SAMPLE_RATE))
        return detections

    def reset(self) -> None:
        self._trigger = self._new_trigger()
        self._buffer = b""

    def close(self) -> None:
        proc = self._engine.proc
        self._engine.stop()
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except Exception:  # noqa: BLE001 - best effort when the process will not die
                pass
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
