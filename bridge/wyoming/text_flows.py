"""Text requests of one connection: synthesize (plain and streamed), recognize, and handle.

Everything goes through the mesh client. TTS is ``speak_stream`` on the connection's own site, the connection
being that site's speaker: each sentence's WAV is sent back as audio events as soon as the TTS has made it. Recognition is ``recognize_text`` with intent
handling switched off for the site (the client executes the intent itself); handling is ``handle_text`` (or
``handle_intent`` for the client's own intent), whose handler reply (tts/say, endSession or continueSession
for the session) becomes ``handled``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from wyoming.audio import AudioStart, AudioStop
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled
from wyoming.intent import Entity, NotRecognized
from wyoming.intent import Intent as WyomingIntent
from wyoming.tts import SynthesizeStopped, SynthesizeVoice

from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, Slot

from ..mesh_error import MeshError, MeshErrorCode
from ..voice_choice import VoiceChoiceError, check_voice_name
from .audio import AudioFormatError, PcmFormat, chunk_events, wav_pcm
from .context import FlowConnection

SENTENCE_END = re.compile(r"(?<=[.!?;:。！？])\s+|\n+")


def voice_request(voice: SynthesizeVoice | None) -> tuple[str | None, str | None, str | None]:
    """(voice, lang, speaker) of the say: a Wyoming voice's name is a voice of our info (the TTS refuses any
    other, naming its voices), its language the say's language, its speaker one of the voice's speakers (the
    TTS refuses one the voice lacks, naming those it has). Never a path: the name is checked here first."""
    if voice is None:
        return None, None, None
    name = check_voice_name(voice.name) if voice.name else None
    language = check_voice_name(voice.language, "language") if voice.language else None
    speaker = check_voice_name(voice.speaker, "speaker") if voice.speaker else None
    return name, language, speaker


class Speaker:
    """Says texts on the connection's site one after another, each as one audio-start / audio-chunk* /
    audio-stop group sent while the TTS makes it: every sentence goes out as soon as it is made."""

    def __init__(self, conn: FlowConnection, voice: SynthesizeVoice | None) -> None:
        self.conn = conn
        try:
            self.voice, self.lang, self.speaker = voice_request(voice)
        except VoiceChoiceError as err:
            raise MeshError(MeshErrorCode.REJECTED, "tts", str(err)) from None
        self.format: PcmFormat | None = None  # the first group's format; later groups are converted to it

    async def say(self, text: str) -> None:
        conn = self.conn
        timestamp, started = 0, False
        if text.strip():  # the TTS answers an empty say with sayFinished only: no sound to wait for
            timeout = conn.settings.reply_timeout + len(text) / 50.0
            async with conn.mesh.speak_stream(text, conn.site_id, voice=self.voice, lang=self.lang,
                                              speaker=self.speaker, answer_playback=True,
                                              timeout=timeout) as sentences:
                async for wav in sentences:
                    try:
                        self.format, frames = wav_pcm(wav, self.format)
                    except (AudioFormatError, ValueError) as err:
                        raise MeshError(MeshErrorCode.FAILED, "tts", f"the TTS sent unusable audio: {err}") from err
                    if not started:
                        fmt = self.format
                        await conn.write(AudioStart(fmt.rate, fmt.width, fmt.channels, timestamp=0).event())
                        started = True
                    chunks, timestamp = chunk_events(self.format, frames, timestamp)
                    for chunk in chunks:
                        await conn.write(chunk.event())
        if not started:  # nothing to hear: still one (empty) group, so the client's read ends
            fmt = self.format or PcmFormat(22050, 2, 1)
            await conn.write(AudioStart(fmt.rate, fmt.width, fmt.channels, timestamp=0).event())
        await conn.write(AudioStop(timestamp=timestamp).event())


class SynthesizeStream:
    """synthesize-start / -chunk* / -stop: sentences are spoken as soon as they are complete."""

    def __init__(self, conn: FlowConnection, voice: SynthesizeVoice | None) -> None:
        self.conn = conn
        self.speaker = Speaker(conn, voice)
        self.buffer = ""
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.task = conn.run_task(self._speak_all())
        self.stopping = False

    def add_text(self, text: str) -> None:
        self.buffer += text
        parts = SENTENCE_END.split(self.buffer)
        for sentence in parts[:-1]:
            if sentence.strip():
                self.queue.put_nowait(sentence.strip())
        self.buffer = parts[-1]

    def stop(self) -> None:
        self.stopping = True
        if self.buffer.strip():
            self.queue.put_nowait(self.buffer.strip())
        self.buffer = ""
        self.queue.put_nowait(None)

    async def _speak_all(self) -> None:
        while True:
            sentence = await self.queue.get()
            if sentence is None:
                break
            await self.speaker.say(sentence)
        await self.conn.write(SynthesizeStopped().event())

    def abort(self) -> None:
        self.task.cancel()


def entities_of(intent: NluIntent) -> list[Entity]:
    return [Entity(name=slot.slot_name or slot.entity, value=slot.value.get("value")) for slot in intent.slots or []]


async def recognize(conn: FlowConnection, text: str, context: dict[str, Any] | None) -> None:
    """recognize -> intent / not-recognized, with the mesh's intent handling switched off for the site."""
    async with conn.mesh.handling_off(conn.site_id):
        recognition = await conn.mesh.recognize_text(text, conn.site_id, lang=conn.language,
                                                     timeout=conn.settings.reply_timeout)
    reply = recognition.result
    if isinstance(reply, NluIntentNotRecognized):
        await conn.write(NotRecognized(text=conn.settings.not_understood_text, context=context).event())
        return
    await conn.write(WyomingIntent(name=reply.intent.intent_name, entities=entities_of(reply), context=context).event())


def conversation_of(context: dict[str, Any] | None) -> str | None:
    if isinstance(context, dict) and context.get("conversation_id"):
        return str(context["conversation_id"])
    return None


async def handle_transcript(conn: FlowConnection, text: str, context: dict[str, Any] | None) -> None:
    session_id = f"{conn.site_id}-{uuid.uuid4().hex[:8]}"
    _, said = await conn.mesh.handle_text(
        text, conn.site_id, session_id, lang=conn.language, custom_data=conversation_of(context),
        timeout=conn.settings.reply_timeout, handle_timeout=conn.settings.handle_timeout)
    if said is None:
        await send_handled(conn, None, context, conn.settings.not_understood_text)
        return
    await send_handled(conn, said, context)


async def handle_intent(conn: FlowConnection, intent: WyomingIntent) -> None:
    """An intent the client recognised itself, published as hermes/intent/<name> for the mesh's handlers."""
    request_id = uuid.uuid4().hex
    slots = [Slot(entity=e.name, slot_name=e.name, value={"kind": "Unknown", "value": e.value},
                  raw_value="" if e.value is None else str(e.value)) for e in intent.entities]
    message = NluIntent(input=intent.text or intent.name, intent=Intent(intent_name=intent.name, confidence_score=1.0),
                        site_id=conn.site_id, id=request_id, session_id=f"{conn.site_id}-{request_id[:8]}",
                        slots=slots, custom_data=conversation_of(intent.context), lang=conn.language)
    said = await conn.mesh.handle_intent(message, conn.settings.handle_timeout)
    await send_handled(conn, said, intent.context)


async def send_handled(conn: FlowConnection, text: str | None, context: dict[str, Any] | None,
                       not_handled: str | None = None) -> None:
    if not_handled is not None:
        await conn.write(NotHandled(text=not_handled, context=context).event())
        return
    streaming = conn.settings.handled_streaming
    if streaming:
        await conn.write(HandledStart(context=context).event())
        if text:
            await conn.write(HandledChunk(text=text).event())
    await conn.write(Handled(text=text, context=context).event())
    if streaming:
        await conn.write(HandledStop().event())
