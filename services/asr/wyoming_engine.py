"""Speech to text by an external Wyoming ASR server: ``"asr": {"engine": "wyoming", "engine_options":
{"uri": "tcp://host:10300"}}`` (also ``language``, ``model``, ``timeout``, ``normalize``).

The transcript is normalised (``normalize.py``) unless ``normalize`` is false: open-transcription servers such as
wyoming-faster-whisper write sentences ("Can I have a light-roast 12-ounce coffee?"), and the NLU's templates are
lower-case words with numbers spelled out. Against the real wyoming-faster-whisper with tiny.en, none of 20 real
coffee commands was understood from its raw text (tests/wyoming/test_wyoming_faster_whisper.py). Text that is
already in the templates' form (a grammar's, or our own Wyoming server's) comes out unchanged."""

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
from .normalize import normalize_text


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
            if self.engine.normalize:
                text = normalize_text(text, self.engine.language or "en")
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
    """Speech to text by a Wyoming ASR server (options: uri, language, model, timeout, normalize)."""

    name = "wyoming"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        options: dict[str, Any] = dict(config.options)
        self.uri = server_uri(options, "asr", AsrEngineError)
        self.language: str | None = options.get("language")
        self.model: str | None = options.get("model")
        self.timeout = float(options.get("timeout", 30.0))
        self.normalize = bool(options.get("normalize", True))

    def train(self, data: AsrTrainingData) -> None:
        """The Wyoming server has its own model; the mesh's grammar is not sent to it."""

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> WyomingAsrStream:
        try:
            return WyomingAsrStream(self)
        except WyomingClientError as err:
            raise AsrEngineError(str(err)) from err
