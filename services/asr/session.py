"""One listening session: audio goes to the decoder as it arrives and through the endpointer.

Pure logic (no broker, no clock): the service feeds 16 kHz mono PCM and gets back what happened. The
decoder is fed frame by frame, so when the endpointer hears the end of speech only ``finish()`` is left.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .endpointer import Endpointer, SegmentEvent
from .engine import AsrStream, Transcript


class SessionOutcome(enum.Enum):
    TRANSCRIBE = "transcribe"  # end of speech (or max duration): the transcript is due now
    NO_SPEECH = "no_speech"  # the session heard no speech in time: an empty result


@dataclass
class SessionInfo:
    site_id: str
    session_id: str
    stop_on_silence: bool
    send_audio_captured: bool
    wakeword_id: str | None = None
    lang: str | None = None


class AsrSession:
    """Feed PCM; ``feed`` returns an outcome once the session should end (only with stop_on_silence)."""

    def __init__(self, info: SessionInfo, stream: AsrStream, endpointer: Endpointer | None) -> None:
        self.info = info
        self._stream: AsrStream | None = stream
        self._endpointer = endpointer
        self._audio: list[bytes] | None = [] if info.send_audio_captured else None
        self.samples = 0
        self.speech_started = False
        self.outcome: SessionOutcome | None = None
        self.transcript: Transcript | None = None

    @property
    def done(self) -> bool:
        """True once a result exists (later audio is ignored)."""
        return self.transcript is not None

    @property
    def audio_seconds(self) -> float:
        return self.samples / 16000

    def feed(self, pcm: bytes) -> SessionOutcome | None:
        if self.done or self.outcome is not None or self._stream is None:
            return None
        self.samples += len(pcm) // 2
        if self._audio is not None:
            self._audio.append(pcm)
        self._stream.feed(pcm)
        if self._endpointer is None or not self.info.stop_on_silence:
            return None
        for event in self._endpointer.process(pcm):
            if event is SegmentEvent.SPEECH_STARTED:
                self.speech_started = True
            elif event in (SegmentEvent.SPEECH_ENDED, SegmentEvent.MAX_DURATION):
                self.outcome = SessionOutcome.TRANSCRIBE
            elif event is SegmentEvent.NO_SPEECH:
                self.outcome = SessionOutcome.NO_SPEECH
        return self.outcome

    def finish(self, outcome: SessionOutcome | None = None) -> Transcript:
        """The transcript (decoding what was fed), or an empty one when no speech was heard."""
        if self.transcript is not None:
            return self.transcript
        outcome = outcome or self.outcome or SessionOutcome.TRANSCRIBE
        stream, self._stream = self._stream, None
        if stream is None:
            self.transcript = Transcript.empty(self.audio_seconds)
        elif outcome is SessionOutcome.NO_SPEECH:
            stream.cancel()
            self.transcript = Transcript.empty(self.audio_seconds)
        else:
            self.transcript = stream.finish()
        return self.transcript

    def close(self) -> None:
        """Release the decoder without a result (session dropped)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()

    def captured_audio(self) -> bytes:
        return b"".join(self._audio or [])
