"""Scripted Hermes peers for the parts of the mesh a test needs but that have no real service to run here
(an audio output without a sound card, a dialogue manager stand-in for one-shot sessions)."""

from __future__ import annotations

from hermes.audioserver import AudioPlayBytes, AudioPlayBytesStreaming, AudioPlayFinished, AudioStreamFinished
from services.runtime import HermesService, handles


class AudioOutputPeer(HermesService):  # type: ignore[type-arg]
    """Answers every playBytes with playFinished at once and keeps what it was asked to play."""

    name = "audio-output"

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.played: list[AudioPlayBytes] = []
        self.streamed: list[AudioPlayBytesStreaming] = []

    @handles(AudioPlayBytes)
    async def on_play(self, message: AudioPlayBytes) -> AudioPlayFinished:
        self.played.append(message)
        return AudioPlayFinished(site_id=message.site_id, id=message.request_id, session_id=message.request_id)

    @handles(AudioPlayBytesStreaming)
    async def on_stream(self, message: AudioPlayBytesStreaming) -> AudioStreamFinished | None:
        self.streamed.append(message)
        if not message.is_last_chunk:
            return None
        return AudioStreamFinished(site_id=message.site_id, id=message.request_id)
