"""Text to speech by an external Wyoming TTS server: ``"tts": {"engine": "wyoming", "engine_options":
{"uri": "tcp://host:10200"}}`` (also ``voice``, ``speaker``, ``timeout``)."""

from __future__ import annotations

import contextlib
import time

from wyoming.audio import AudioChunk, AudioStop
from wyoming.tts import Synthesize, SynthesizeVoice

from hermes.wav import pcm_to_wav
from services.engines import EngineConfig
from services.wyoming_client import EventStream, WyomingClientError, describe, server_uri

from .engine import TtsConfigError, TtsEngineError, TtsVoice


def chunks_to_wav(chunks: list[AudioChunk]) -> bytes:
    first = chunks[0]
    return pcm_to_wav(b"".join(chunk.audio for chunk in chunks), first.rate, first.width, first.channels)


class WyomingTtsEngine:
    """Text to speech by a Wyoming TTS server (engine options: uri, voice, speaker, timeout)."""

    def __init__(self, config: EngineConfig) -> None:
        settings = config.options
        self.uri = server_uri(settings, "tts", TtsConfigError)
        self.voice: str | None = settings.get("voice")
        self.speaker: str | None = settings.get("speaker")
        self.timeout = float(settings.get("timeout", 30.0))
        self._voice_names: set[str] | None = None

    def _voice_for(self, voice: str | None, lang: str | None, speaker: str | None = None) -> SynthesizeVoice | None:
        speaker = speaker or self.speaker  # a say's own speaker over the configured one
        if voice:
            return SynthesizeVoice(name=voice, speaker=speaker)
        if lang:
            if self._voice_names is None:
                with contextlib.suppress(Exception):
                    self._voice_names = {v.voice_id for v in self.voices()}
            if lang in (self._voice_names or set()):
                return SynthesizeVoice(name=lang, speaker=speaker)
            return SynthesizeVoice(language=lang)
        if self.voice:
            return SynthesizeVoice(name=self.voice, speaker=speaker)
        return None

    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None,
                   speaker: str | None = None) -> bytes:
        try:
            stream = EventStream(self.uri, self.timeout)
        except WyomingClientError as err:
            raise TtsEngineError(str(err)) from err
        try:
            stream.send(Synthesize(text=text, voice=self._voice_for(voice, lang, speaker)).event())
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

    def voices(self) -> list[TtsVoice]:
        try:
            info = describe(self.uri, self.timeout)
        except WyomingClientError as err:
            raise TtsEngineError(str(err)) from err
        return [TtsVoice(voice.name, voice.description) for program in info.tts if program.installed
                for voice in program.voices if voice.installed]
