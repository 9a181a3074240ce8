"""Speech to text by an external Wyoming ASR server: ``"asr": {"engine": "wyoming", "engine_options":
{"uri": "tcp://host:10300"}}`` (also ``language``, ``model``, ``timeout``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop

from services.engines import EngineConfig
from services.wyoming_client import CHANNELS, RATE, WIDTH, EventStream, WyomingClientError, server_uri

from .engine import AsrEngine, AsrEngineError, AsrStream, AsrTrainingData
from .engine import Transcript as AsrTranscript


class WyomingAsrStream(AsrStream):
    def __init__(self, engine: WyomingAsrEngine) -> None:
        self.engine = engine
        self.samples = 0
        self.started = time.monotonic()
        self.stream = EventStream(engine.uri, engine.timeout)
        self.stream.send(Transcribe(name=engine.model, language=engine.language).event())
        self.stream.send(AudioStart(RATE, WIDTH, CHANNELS, timestamp=0).event())

    def feed(self, pcm: bytes) -> None:
        try:
            self.stream.send(AudioChunk(RATE, WIDTH, CHANNELS, pcm, timestamp=self.samples * 1000 // RATE).event())
        except WyomingClientError as err:
            raise AsrEngineError(str(err)) from err
        self.samples += len(pcm) // WIDTH

    def finish(self) -> AsrTranscript:
        try:
            self.stream.send(AudioStop(timestamp=self.samples * 1000 // RATE).event())
            text = Transcript.from_event(self.stream.until("transcript", self.engine.timeout)).text.strip()
        except WyomingClientError as err:
            raise AsrEngineError(str(err)) from err
        finally:
            self.stream.close()
        seconds = self.samples / RATE
        return AsrTranscript(text=text, likelihood=1.0 if text else 0.0, audio_seconds=seconds,
                             decode_seconds=time.monotonic() - self.started)

    def cancel(self) -> None:
        self.stream.close()


class WyomingAsrEngine(AsrEngine):
    """Speech to text by a Wyoming ASR server (options: uri, language, model, timeout)."""

    name = "wyoming"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        options: dict[str, Any] = dict(config.options)
        self.uri = server_uri(options, "asr", AsrEngineError)
        self.language: str | None = options.get("language")
        self.model: str | None = options.get("model")
        self.timeout = float(options.get("timeout", 30.0))

    def train(self, data: AsrTrainingData) -> None:
        """The Wyoming server has its own model; the mesh's grammar is not sent to it."""

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> WyomingAsrStream:
        try:
            return WyomingAsrStream(self)
        except WyomingClientError as err:
            raise AsrEngineError(str(err)) from err
