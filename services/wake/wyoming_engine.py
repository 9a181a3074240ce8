"""Wake word detection by an external Wyoming wake server such as wyoming-openwakeword:
``"wake": {"engine": "wyoming", "engine_options": {"uri": "tcp://host:10400", "models": ["ok_nabu_v0.1"]}}``."""

from __future__ import annotations

import contextlib
import re

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.wake import Detect, Detection

from services.engines import EngineConfig
from services.wyoming_client import (
    CHANNELS,
    RATE,
    WIDTH,
    EventStream,
    WyomingClientError,
    describe,
    server_uri,
)

from .engine import WakeConfigError, WakeDetection, WakeEngineError, WakeModel


def wakeword_id_of(model_name: str) -> str:
    """``ok_nabu_v0.1`` -> ``ok_nabu`` (topic-safe, without the model version)."""
    base = re.sub(r"_v\d+(\.\d+)*$", "", model_name.strip())
    return re.sub(r"[\s/+#]+", "_", base) or "wake"


class WyomingWakeDetector:
    """One site's detection stream: audio goes out as it is fed, detections are collected as they arrive."""

    def __init__(self, engine: WyomingWakeEngine) -> None:
        self.engine = engine
        self.samples = 0
        self._stream: EventStream | None = None
        self._last: dict[str, float] = {}  # model id -> stream time of its last reported detection

    def _open(self) -> EventStream:
        if self._stream is None:
            try:
                stream = EventStream(self.engine.uri, self.engine.timeout)
                stream.send(Detect(names=[m.model_id for m in self.engine.models]).event())
                stream.send(AudioStart(RATE, WIDTH, CHANNELS, timestamp=self.samples * 1000 // RATE).event())
            except WyomingClientError as err:
                raise WakeEngineError(str(err)) from err
            self._stream = stream
        return self._stream

    def process(self, pcm: bytes) -> list[WakeDetection]:
        stream = self._open()
        try:
            stream.send(AudioChunk(RATE, WIDTH, CHANNELS, pcm, timestamp=self.samples * 1000 // RATE).event())
            self.samples += len(pcm) // WIDTH
            arrived = stream.pending()
        except WyomingClientError as err:
            self._drop()
            raise WakeEngineError(str(err)) from err
        found = []
        now = self.samples / RATE
        for event in arrived:
            if not Detection.is_type(event.type):
                continue
            model = self.engine.model_named(Detection.from_event(event).name)
            if model is None:
                continue
            # A detector such as openWakeWord fires several times per utterance: report it once.
            if now - self._last.get(model.model_id, -1e9) < self.engine.refractory_seconds:
                continue
            self._last[model.model_id] = now
            found.append(WakeDetection(model=model, stream_seconds=now))
        return found

    def reset(self) -> None:
        """Forget what the server has heard so far: a new connection starts from silence."""
        self._drop()

    def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(WyomingClientError):
                stream.send(AudioStop().event())
            stream.close()

    def close(self) -> None:
        self._drop()


class WyomingWakeEngine:
    """Wake word detection by a Wyoming wake server such as wyoming-openwakeword.

    Engine options: ``uri``; ``models`` (names to detect, e.g. ["ok_nabu_v0.1"]; default: every installed
    model the server lists); ``refractory_seconds`` (2.0); ``timeout`` (10.0).
    """

    def __init__(self, config: EngineConfig) -> None:
        settings = config.options
        self.uri = server_uri(settings, "wake", WakeConfigError)
        self.timeout = float(settings.get("timeout", 10.0))
        self.refractory_seconds = float(settings.get("refractory_seconds", 2.0))
        names = settings.get("models")
        phrases: dict[str, str] = {}
        if not names:
            try:
                info = describe(self.uri, self.timeout)
            except WyomingClientError as err:
                raise WakeConfigError(f"wake: cannot list the models of {self.uri}: {err}") from err
            for program in info.wake:
                for model in program.models:
                    if model.installed:
                        phrases[model.name] = model.phrase or model.name
            names = list(phrases)
        if not names:
            raise WakeConfigError(f"wake: the Wyoming server at {self.uri} lists no wake word model")
        self.models = [WakeModel(wakeword_id=wakeword_id_of(n), model_id=n, words=phrases.get(n, n.replace("_", " ")))
                       for n in names]

    def model_named(self, name: str | None) -> WakeModel | None:
        if name is None:
            return self.models[0] if len(self.models) == 1 else None
        for model in self.models:
            if name in (model.model_id, model.wakeword_id) or wakeword_id_of(name) == model.wakeword_id:
                return model
        return None

    def new_detector(self) -> WyomingWakeDetector:
        return WyomingWakeDetector(self)

    def close(self) -> None:
        """Nothing is held between detectors."""
