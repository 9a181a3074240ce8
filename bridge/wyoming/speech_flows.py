"""Audio-in requests of one connection: transcribe -> transcript (an ASR session) and detect -> detection.

Both turn the client's audio into Hermes frames on the connection's own site, through the mesh client:
audioSessionFrames of an ASR session (``MeshClient.open_transcription``), or audioFrames the mesh's wake
service listens to (``MeshClient.detect_wake_words``: its detections for that site become detection events).
"""

from __future__ import annotations

import asyncio
import re
import uuid

from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart
from wyoming.wake import Detect, Detection, NotDetected

from hermes.audioserver import AudioFrame
from hermes.hotword import HotwordDetected

from ..mesh_client import WakeWatch
from .audio import InputStream
from .context import FlowConnection


class TranscribeFlow:
    def __init__(self, conn: FlowConnection, request: Transcribe) -> None:
        self.conn = conn
        self.language = request.language or conn.language
        self.context = request.context
        self.asr = conn.mesh.open_transcription(conn.site_id, lang=self.language,
                                                session_id=f"{conn.site_id}-{uuid.uuid4().hex[:8]}")
        self.audio = InputStream()
        self.started = False
        self.finished = False

    async def begin(self) -> None:
        await self.asr.start()

    async def on_audio_start(self, event: AudioStart) -> None:
        self.audio.start(event)
        if not self.started and self.conn.settings.transcript_streaming:
            self.started = True
            await self.conn.write(TranscriptStart(language=self.language, context=self.context).event())

    async def on_audio_chunk(self, chunk: AudioChunk) -> None:
        for wav in self.audio.chunk(chunk):
            await self.asr.feed(wav)

    async def on_audio_stop(self) -> None:
        """Close the session and send the transcript (in a task, so describe/ping are still answered)."""
        for wav in self.audio.finish():
            await self.asr.feed(wav)
        self.finished = True
        await self.asr.stop()
        self.conn.run_task(self._reply())

    async def _reply(self) -> None:
        reply = await self.asr.transcript(self.conn.settings.reply_timeout)
        streaming = self.conn.settings.transcript_streaming
        if streaming and not self.started:
            await self.conn.write(TranscriptStart(language=self.language, context=self.context).event())
        if streaming and reply.text:
            await self.conn.write(TranscriptChunk(text=reply.text).event())
        await self.conn.write(Transcript(text=reply.text, language=self.language, context=self.context).event())
        if streaming:
            await self.conn.write(TranscriptStop().event())

    async def abort(self) -> None:
        self.finished = True
        await self.asr.abort()


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
    def __init__(self, conn: FlowConnection, request: Detect) -> None:
        self.conn = conn
        self.names = request.names
        self.context = request.context
        self.audio = InputStream()
        self.detections = 0
        self.finished = False
        self._wake: WakeWatch | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        """Listen for detections before the first audio frame goes out."""
        self._wake = await self.conn.mesh.detect_wake_words(self.conn.site_id)
        self._watcher = self.conn.run_task(self._watch(self._wake))

    async def _watch(self, wake: WakeWatch) -> None:
        while True:
            message = await wake.next()
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
        self._stop_watching()
        if self.detections == 0:
            await self.conn.write(NotDetected(context=self.context).event())

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if self._wake is not None:
            self._wake.close()

    async def abort(self) -> None:
        self.finished = True
        self._stop_watching()
