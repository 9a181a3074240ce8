"""The speech-to-text engine interface and its result types (types only: the engines are in registry.py).

An engine is trained from ``AsrTrainingData`` (the intent graph as grammar text plus pronunciations) and
decodes audio in streams: ``open_stream()`` gives an ``AsrStream`` that is fed 16 kHz mono s16le PCM while
it arrives and returns a ``Transcript`` from ``finish()``. A user's own engine is any class with this shape,
named in profile.json as ``"asr": {"engine": "my_pkg.my_module:MyAsr"}``; it receives an ``EngineConfig``
and reads its own options from ``config.options`` (``asr.engine_options``).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.engines import EngineConfig, EngineError
from services.phonetics import PronunciationDictionary


class AsrEngineError(EngineError, RuntimeError):
    """An engine failure the user can act on (missing model file, word without pronunciation, ...)."""

    default_code = "asr-engine"


SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Token:
    value: str
    confidence: float
    start: float  # seconds from the start of the stream
    end: float


@dataclass(frozen=True)
class Transcript:
    text: str
    likelihood: float  # 0..1
    tokens: list[Token] = field(default_factory=list)
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0  # time spent in the decoder for this stream (feeding + finishing)
    # Which of an engine's paths gave the text, for an engine that has several (hybrid: "grammar" or "whisper");
    # None when the engine has one path or heard nothing. It reaches textCaptured's optional ``source``.
    source: str | None = None

    @classmethod
    def empty(cls, audio_seconds: float = 0.0) -> Transcript:
        return cls(text="", likelihood=0.0, audio_seconds=audio_seconds)


@dataclass
class AsrTrainingData:
    """Everything an engine trains from, derived from one intent graph."""

    vocabulary: list[str]
    fsg_text: str  # the whole grammar as Sphinx FSG text (what the NLU understands)
    arpa_text: str | None = None  # n-gram model from the same graph
    dictionary: PronunciationDictionary = field(default_factory=PronunciationDictionary)  # every vocabulary word
    guessed: dict[str, list[str]] = field(default_factory=dict)  # words whose phones were guessed
    fsg_for_intents: Callable[[Sequence[str]], str] | None = None  # grammar limited to some intents


AsrEngineConfig = EngineConfig  # what an engine is constructed with (the same for every voice function)


class AsrStream(ABC):
    """One utterance being decoded. Not thread-safe: feed and finish from one caller at a time."""

    @abstractmethod
    def feed(self, pcm: bytes) -> None:
        """Decode more 16 kHz mono s16le audio now (so finish() has little left to do)."""

    @abstractmethod
    def finish(self) -> Transcript:
        """End the utterance and return its transcript; the stream is closed afterwards."""

    def cancel(self) -> None:
        """Drop the utterance without a result (default: finish and discard)."""
        self.finish()


class TimedStream(AsrStream):
    """The bookkeeping every engine's stream shares: decode timing, audio length and one finish. Engines
    implement ``_decode`` (one chunk) and ``_end`` (tokens and likelihood); ``_close`` runs after the end."""

    def __init__(self) -> None:
        self._samples = 0
        self._decode_seconds = 0.0
        self._open = True

    @property
    def audio_seconds(self) -> float:
        return self._samples / SAMPLE_RATE

    @abstractmethod
    def _decode(self, pcm: bytes) -> None:
        """Take one chunk of 16 kHz mono s16le audio."""

    @abstractmethod
    def _end(self) -> tuple[list[Token], float]:
        """End the utterance: the recognised tokens and the likelihood (0..1)."""

    def _close(self) -> None:  # noqa: B027 - optional hook: most streams hold nothing once ended
        """Release what the stream holds (called once, after ``_end``, even when it failed)."""

    def feed(self, pcm: bytes) -> None:
        if not self._open or not pcm:
            return
        started = time.perf_counter()
        self._decode(pcm)
        self._decode_seconds += time.perf_counter() - started
        self._samples += len(pcm) // 2

    def finish(self) -> Transcript:
        if not self._open:
            raise AsrEngineError("this stream is already finished")
        started = time.perf_counter()
        try:
            tokens, likelihood = self._end()
        finally:
            self._open = False
            self._close()
        decode_seconds = self._decode_seconds + time.perf_counter() - started
        if not tokens:
            return Transcript("", 0.0, [], self.audio_seconds, decode_seconds)
        return Transcript(" ".join(t.value for t in tokens), likelihood, tokens, self.audio_seconds, decode_seconds)

    def cancel(self) -> None:
        if self._open:
            self.finish()


class WholeUtteranceStream(TimedStream):
    """Keeps the utterance (up to ``max_bytes``; the rest is dropped) and hands it whole to ``decode`` in
    ``finish()``: for engines that decode an utterance at once (trimmed, denoised, or a model that reads it all)."""

    def __init__(self, decode: Callable[[bytes], tuple[list[Token], float]], max_bytes: int) -> None:
        super().__init__()
        self._decode_whole = decode
        self._room = max_bytes
        self._chunks: list[bytes] = []

    def _decode(self, pcm: bytes) -> None:
        if self._room <= 0:
            return
        pcm = pcm[: self._room]
        self._room -= len(pcm)
        self._chunks.append(pcm)

    def _end(self) -> tuple[list[Token], float]:
        pcm, self._chunks = b"".join(self._chunks), []
        return self._decode_whole(pcm)

    def cancel(self) -> None:
        """Drop the kept audio undecoded. Finishing to discard the result (the default) decoded every session
        that heard no speech in full (denoise, trim, decoder: ~70% of the ASR's CPU on bench/memory_soak.py's
        sessions), so the ASR fell behind a stream of sessions and its backlog of messages grew without end."""
        if self._open:
            self._open = False
            self._chunks = []
            self._close()


class PooledStream(TimedStream):
    """A stream that decodes as the audio comes, on a decoder it holds from open to finish and then gives back
    to the pool."""

    def __init__(self, pooled: Any, generation: int, release: Callable[[Any, int], None]) -> None:
        super().__init__()
        self._pooled = pooled
        self._generation = generation
        self._release = release

    def _close(self) -> None:
        self._release(self._pooled, self._generation)


class AsrEngine(ABC):
    """Base class of speech-to-text engines (subclassing is optional; the shape is what counts)."""

    name = "engine"
    # True when feeding a 64 ms frame is cheap (well under 1 ms) and holds the GIL anyway: the service then
    # decodes on its event loop instead of handing every frame to a thread. Default: decode in a thread.
    feeds_inline = False

    def __init__(self, config: AsrEngineConfig) -> None:
        self.config = config

    @abstractmethod
    def train(self, data: AsrTrainingData) -> None:
        """Build the engine's model from the graph; later streams use it. Called again to retrain."""

    @abstractmethod
    def open_stream(self, intent_filter: Sequence[str] | None = None) -> AsrStream:
        """Start decoding an utterance, limited to the given intents when the engine can do that."""

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing to release
        """Release decoders and models."""


class ObjectPool:
    """Idle decoder objects to reuse across streams; ``generation`` drops those built before a retrain.

    ``max_live`` caps the objects out at once: ``take`` waits for one to come back. Decoding is CPU-bound, so
    more decodes at once than cores only share the same cores, at about 20 MB per extra decoder."""

    def __init__(self, factory: Callable[[], Any], max_idle: int = 4, max_live: int | None = None) -> None:
        self._factory = factory
        self._max_live = max_live
        self._max_idle = max_idle if max_live is None else min(max_idle, max_live)
        self._idle: list[Any] = []
        self._live = 0  # taken and not given back (an object lost to an error is forgotten: see ``lost``)
        self._lock = threading.Condition()
        self.generation = 0

    def take(self) -> tuple[Any, int]:
        with self._lock:
            while self._max_live is not None and self._live >= self._max_live:
                self._lock.wait()
            self._live += 1
            generation, factory = self.generation, self._factory
            if self._idle:
                return self._idle.pop(), generation
        try:
            return factory(), generation
        except BaseException:
            self.lost()
            raise

    def give_back(self, item: Any, generation: int) -> None:
        with self._lock:
            self._live -= 1
            if generation == self.generation and len(self._idle) < self._max_idle:
                self._idle.append(item)
            self._lock.notify()

    def lost(self) -> None:
        """A taken object will not come back (its state is unknown after an error): make room for a new one."""
        with self._lock:
            self._live -= 1
            self._lock.notify()

    def reset(self, factory: Callable[[], Any] | None = None) -> None:
        """Forget idle objects (after retraining); objects in use are dropped when given back."""
        with self._lock:
            if factory is not None:
                self._factory = factory
            self._idle.clear()
            self.generation += 1

    def prewarm(self) -> None:
        item, generation = self.take()
        self.give_back(item, generation)
