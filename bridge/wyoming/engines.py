"""External Wyoming services as engines of the mesh's ASR, TTS and wake services.

Name them in profile.json by module path, with the server's address in the engine options:
    "asr":  {"engine": "bridge.wyoming.engines.WyomingAsrEngine", "engine_options": {"uri": "tcp://host:10300"}}
    "tts":  {"engine": "bridge.wyoming.engines.WyomingTtsEngine", "custom": {"uri": "tcp://host:10200"}}
    "wake": {"engine": "bridge.wyoming.engines.WyomingWakeEngine",
             "custom": {"uri": "tcp://host:10400", "models": ["ok_nabu_v0.1"]}}
The services call engines from worker threads, so these are blocking clients: one TCP connection per
ASR utterance, per synthesis and per wake site, framed with the wyoming library's read_event/write_event.
"""

from __future__ import annotations

import contextlib
import queue
import re
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, read_event, write_event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice
from wyoming.wake import Detect, Detection

from hermes.wav import pcm_to_wav

RATE, WIDTH, CHANNELS = 16000, 2, 1


class WyomingClientError(RuntimeError):
    """The Wyoming server could not be reached or answered with an error; the message names its address."""


def address_of(uri: str) -> tuple[str, int]:
    parsed = urlparse(str(uri or ""))
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        raise ValueError(f"Wyoming engine: 'uri' must look like tcp://127.0.0.1:10300, not {uri!r}")
    return parsed.hostname, parsed.port


class EventStream:
    """One blocking connection: events are written at once and read by a thread into a queue."""

    def __init__(self, uri: str, connect_timeout: float = 5.0) -> None:
        self.uri = uri
        host, port = address_of(uri)
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as err:
            raise WyomingClientError(f"cannot connect to the Wyoming server at {uri}: {err}") from err
        self._sock.settimeout(None)
        self._writer = self._sock.makefile("wb")
        self._reader = self._sock.makefile("rb")
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._read, name=f"wyoming-reader {uri}", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                event = read_event(self._reader)
                self._events.put(event)
                if event is None:
                    return
        except (OSError, ValueError):
            self._events.put(None)

    def send(self, event: Event) -> None:
        try:
            with self._lock:
                write_event(event, self._writer)
        except (OSError, ValueError) as err:
            raise WyomingClientError(f"the Wyoming server at {self.uri} went away ({err})") from err

    def receive(self, timeout: float) -> Event:
        try:
            event = self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise WyomingClientError(f"no answer from the Wyoming server at {self.uri} within {timeout:g} s") from None
        if event is None:
            self._events.put(None)  # keep reporting the end
            raise WyomingClientError(f"the Wyoming server at {self.uri} closed the connection")
        if Error.is_type(event.type):
            error = Error.from_event(event)
            raise WyomingClientError(f"the Wyoming server at {self.uri} reported: {error.text} ({error.code})")
        return event

    def pending(self) -> list[Event]:
        """Events that have arrived, without waiting (raises when the connection has ended)."""
        events: list[Event] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return events
            if event is None or Error.is_type(event.type):
                self._events.put(event)
                if events:
                    return events
                self.receive(0)
            else:
                events.append(event)

    def until(self, event_type: str, timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            event = self.receive(deadline - time.monotonic())
            if event.type == event_type:
                return event

    def close(self) -> None:
        self.closed = True
        for closer in (self._writer.close, lambda: self._sock.shutdown(socket.SHUT_RDWR), self._sock.close):
            with contextlib.suppress(OSError, ValueError):
                closer()


def describe(uri: str, timeout: float = 5.0) -> Info:
    stream = EventStream(uri, timeout)
    try:
        stream.send(Describe().event())
        return Info.from_event(stream.until("info", timeout))
    finally:
        stream.close()


# ---- speech to text -----------------------------------------------------------------------------------------
try:  # the interfaces the services define (read-only use; subclassing is optional there)
    from services.asr.engine import AsrEngine, AsrEngineConfig, AsrEngineError, AsrStream, AsrTrainingData
    from services.asr.engine import Transcript as AsrTranscript
except ImportError:  # pragma: no cover - the bridge can run without the ASR package
    AsrEngine = object  # type: ignore[misc,assignment]
    AsrStream = object  # type: ignore[misc,assignment]


class WyomingAsrStream(AsrStream):  # type: ignore[misc,valid-type]
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


class WyomingAsrEngine(AsrEngine):  # type: ignore[misc,valid-type]
    """Speech to text by a Wyoming ASR server (options: uri, language, model, timeout)."""

    name = "wyoming"

    def __init__(self, config: AsrEngineConfig) -> None:
        self.config = config
        options: dict[str, Any] = dict(config.options)
        try:
            address_of(options.get("uri", ""))
        except ValueError as err:
            raise AsrEngineError(f"asr engine_options: {err}") from err
        self.uri: str = options["uri"]
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


# ---- text to speech -----------------------------------------------------------------------------------------
def chunks_to_wav(chunks: list[AudioChunk]) -> bytes:
    first = chunks[0]
    return pcm_to_wav(b"".join(chunk.audio for chunk in chunks), first.rate, first.width, first.channels)


class WyomingTtsEngine:
    """Text to speech by a Wyoming TTS server (custom settings: uri, voice, speaker, timeout)."""

    def __init__(self, settings: dict[str, Any], profile_dir: Path) -> None:
        try:
            address_of(settings.get("uri", ""))
        except ValueError as err:
            from services.tts.engine import TtsConfigError

            raise TtsConfigError(f"tts custom: {err}") from err
        self.uri: str = settings["uri"]
        self.voice: str | None = settings.get("voice")
        self.speaker: str | None = settings.get("speaker")
        self.timeout = float(settings.get("timeout", 30.0))
        self._voice_names: set[str] | None = None

    def _voice_for(self, voice: str | None, lang: str | None) -> SynthesizeVoice | None:
        if voice:
            return SynthesizeVoice(name=voice, speaker=self.speaker)
        if lang:
            if self._voice_names is None:
                with contextlib.suppress(Exception):
                    self._voice_names = {v.voice_id for v in self.voices()}
            if lang in (self._voice_names or set()):
                return SynthesizeVoice(name=lang, speaker=self.speaker)
            return SynthesizeVoice(language=lang)
        if self.voice:
            return SynthesizeVoice(name=self.voice, speaker=self.speaker)
        return None

    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None) -> bytes:
        from services.tts.engine import TtsEngineError

        try:
            stream = EventStream(self.uri, self.timeout)
        except WyomingClientError as err:
            raise TtsEngineError(str(err)) from err
        try:
            stream.send(Synthesize(text=text, voice=self._voice_for(voice, lang)).event())
            chunks: list[AudioChunk] = []
            deadline = time.monotonic() + self.timeout
            while True:
                event = stream.receive(deadline - time.monotonic())
                if AudioChunk.is_type(event.type):
                    chunks.append(AudioChunk.from_event(event))
                elif AudioStop.is_type(event.type):
                    break
        except WyomingClientError as err:
            raise TtsEngineError(str(err)) from err
        finally:
            stream.close()
        if not chunks:
            raise TtsEngineError(f"the Wyoming server at {self.uri} sent no audio for {text[:40]!r}")
        return chunks_to_wav(chunks)

    def voices(self) -> list[Any]:
        from services.tts.engine import TtsEngineError, TtsVoice

        try:
            info = describe(self.uri, self.timeout)
        except WyomingClientError as err:
            raise TtsEngineError(str(err)) from err
        return [TtsVoice(voice.name, voice.description) for program in info.tts if program.installed
                for voice in program.voices if voice.installed]


# ---- wake word ------------------------------------------------------------------------------------------------
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
        from services.wake.engine import WakeEngineError

        if self._stream is None:
            try:
                stream = EventStream(self.engine.uri, self.engine.timeout)
                stream.send(Detect(names=[m.model_id for m in self.engine.models]).event())
                stream.send(AudioStart(RATE, WIDTH, CHANNELS, timestamp=self.samples * 1000 // RATE).event())
            except WyomingClientError as err:
                raise WakeEngineError(str(err)) from err
            self._stream = stream
        return self._stream

    def process(self, pcm: bytes) -> list[Any]:
        from services.wake.engine import WakeDetection, WakeEngineError

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

    Custom settings: ``uri``; ``models`` (names to detect, e.g. ["ok_nabu_v0.1"]; default: every installed
    model the server lists); ``refractory_seconds`` (2.0); ``timeout`` (10.0).
    """

    def __init__(self, settings: dict[str, Any], profile_dir: Path) -> None:
        from services.wake.engine import WakeConfigError, WakeModel

        try:
            address_of(settings.get("uri", ""))
        except ValueError as err:
            raise WakeConfigError(f"wake custom: {err}") from err
        self.uri: str = settings["uri"]
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

    def model_named(self, name: str | None) -> Any:
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
