"""Audio-in requests of one connection: transcribe -> transcript (an ASR session) and detect -> detection.

Both turn the client's audio into Hermes frames on the connection's own site: audioSessionFrames of an ASR
session opened with startListening (ended by stopListening at audio-stop), or audioFrames the mesh's wake
service listens to (its hotword/<id>/detected for that site becomes a detection).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING

from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart
from wyoming.wake import Detect, Detection, NotDetected

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioFrame, AudioSessionFrame
from hermes.errors import AsrError, HotwordError
from hermes.hotword import HotwordDetected

from .audio import InputStream

if TYPE_CHECKING:
    from .connection import WyomingConnection


class FlowError(Exception):
    """A request that failed; becomes one Wyoming error event with ``code``."""

    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.code = code


class TranscribeFlow:
    def __init__(self, conn: WyomingConnection, request: Transcribe) -> None:
        self.conn = conn
        self.language = request.language or conn.server.catalog.language
        self.context = request.context
        self.session_id = f"{conn.site_id}-{uuid.uuid4().hex[:8]}"
        self.audio = InputStream()
        self.started = False
        self.finished = False

    async def begin(self) -> None:
        await self.conn.publish(AsrStartListening(
            site_id=self.conn.site_id, session_id=self.session_id, lang=self.language,
            stop_on_silence=False, send_audio_captured=False,
        ))

    async def on_audio_start(self, event: AudioStart) -> None:
        self.audio.start(event)
        if not self.started and self.conn.settings.transcript_streaming:
            self.started = True
            await self.conn.write(TranscriptStart(language=self.language, context=self.context).event())

    async def on_audio_chunk(self, chunk: AudioChunk) -> None:
        for wav in self.audio.chunk(chunk):
            await self.conn.publish(AudioSessionFrame(site_id=self.conn.site_id, session_id=self.session_id,
                                                      wav_bytes=wav))

    async def on_audio_stop(self) -> None:
        """Close the session and send the transcript (in a task, so describe/ping are still answered)."""
        for wav in self.audio.finish():
            await self.conn.publish(AudioSessionFrame(site_id=self.conn.site_id, session_id=self.session_id,
                                                      wav_bytes=wav))
        self.finished = True
        await self.conn.publish(AsrStopListening(site_id=self.conn.site_id, session_id=self.session_id))
        self.conn.run_task(self._reply())

    async def _reply(self) -> None:
        timeout = self.conn.settings.reply_timeout
        try:
            reply = await self.conn.mailbox.take(
                (AsrTextCaptured, AsrError), lambda m: m.session_id == self.session_id, timeout=timeout)
        except TimeoutError:
            raise FlowError(f"no transcript from the mesh's ASR within {timeout:g} s (is 'hermesh asr' running "
                            f"and serving site {self.conn.site_id}?)", "asr-timeout") from None
        if isinstance(reply, AsrError):
            raise FlowError(f"speech recognition failed: {reply.error}", "asr-error")
        streaming = self.conn.settings.transcript_streaming
        if streaming and not self.started:
            await self.conn.write(TranscriptStart(language=self.language, context=self.context).event())
        if streaming and reply.text:
            await self.conn.write(TranscriptChunk(text=reply.text).event())
        await self.conn.write(Transcript(text=reply.text, language=self.language, context=self.context).event())
        if streaming:
            await self.conn.write(TranscriptStop().event())

    async def abort(self) -> None:
        if not self.finished:
            self.finished = True
            await self.conn.publish(AsrStopListening(site_id=self.conn.site_id, session_id=self.session_id))


def _normal(name: str) -> str:
    """Wake word names compared loosely: case, spaces/underscores and a version suffix do not matter."""
    name = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return re.sub(r"_v\d+(\.\d+)*$", "", name)


def matching_name(requested: list[str] | None, detected: HotwordDetected) -> str | None:
    """The name to report for a detection, or None when the client did not ask for this wake word."""
    candidates = [detected.model_id, detected.wakeword_id]
    if not requested:
        return detected.model_id or detected.wakeword_id
    for name in requested:
        if name in candidates:
            return name
    for name in requested:
        if _normal(name) in {_normal(c) for c in candidates if c}:
            return name
    return None


class DetectFlow:
    def __init__(self, conn: WyomingConnection, request: Detect) -> None:
        self.conn = conn
        self.names = request.names
        self.context = request.context
        self.audio = InputStream()
        self.detections = 0
        self.finished = False
        conn.mailbox.clear()
        self._watcher = conn.run_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self.conn.mailbox.take((HotwordDetected, HotwordError),
                                                   lambda m: m.site_id == self.conn.site_id, timeout=3600)
            if isinstance(message, HotwordError):
                raise FlowError(f"wake word detection failed: {message.error}", "wake-error")
            name = matching_name(self.names, message)
            if name is None:
                continue
            self.detections += 1
            await self.conn.write(Detection(name=name, timestamp=self.audio.milliseconds, context=self.context).event())

    async def on_audio_start(self, event: AudioStart) -> None:
        self.audio.start(event)

    async def on_audio_chunk(self, chunk: AudioChunk) -> None:
        for wav in self.audio.chunk(chunk):
            await self.conn.publish(AudioFrame(site_id=self.conn.site_id, wav_bytes=wav))

    async def on_audio_stop(self) -> None:
        for wav in self.audio.finish():
            await self.conn.publish(AudioFrame(site_id=self.conn.site_id, wav_bytes=wav))
        self.finished = True
        self.conn.run_task(self._finish())

    async def _finish(self) -> None:
        # The wake service works through the last frames after audio-stop: give a late detection a moment.
        if self.detections == 0 and self.conn.settings.detect_grace > 0:
            await asyncio.sleep(self.conn.settings.detect_grace)
        self._watcher.cancel()
        if self.detections == 0:
            await self.conn.write(NotDetected(context=self.context).event())

    async def abort(self) -> None:
        self.finished = True
        self._watcher.cancel()
