"""Text requests of one connection: synthesize (plain and streamed), recognize, and handle.

TTS goes through hermes/tts/say for the connection's own site; the WAV the TTS publishes as playBytes is
sent back as audio events and answered with playFinished. Recognition is an nlu/query with intent
handling switched off for the site (the client executes the intent itself); handling is an nlu/query (or
the client's intent published as is) whose reply from an intent handler (tts/say, endSession or
continueSession for the session) becomes ``handled``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Any

from wyoming.audio import AudioStart, AudioStop
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled
from wyoming.intent import Entity, NotRecognized
from wyoming.intent import Intent as WyomingIntent
from wyoming.tts import SynthesizeStopped, SynthesizeVoice

from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.dialogue import DialogueContinueSession, DialogueEndSession
from hermes.errors import HandleError, NluError, TtsError
from hermes.handle import HandleToggleOff, HandleToggleOn
from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, NluQuery, Slot
from hermes.tts import TtsSay

from .audio import AudioFormatError, PcmFormat, wav_to_events
from .speech_flows import FlowError

if TYPE_CHECKING:
    from .connection import WyomingConnection

SENTENCE_END = re.compile(r"(?<=[.!?;:。！？])\s+|\n+")


def voice_lang(voice: SynthesizeVoice | None) -> str | None:
    """hermes/tts/say has only ``lang``; the TTS takes it as the voice (espeak-ng voices are language codes)."""
    if voice is None:
        return None
    return voice.name or voice.language


class Speaker:
    """Says texts on the connection's site one after another, streaming each WAV as audio events."""

    def __init__(self, conn: WyomingConnection, voice: SynthesizeVoice | None) -> None:
        self.conn = conn
        self.lang = voice_lang(voice)
        self.format: PcmFormat | None = None  # the first group's format; later groups are converted to it

    async def say(self, text: str) -> None:
        conn = self.conn
        if not text.strip():  # the TTS answers an empty say with sayFinished only: no sound to wait for
            fmt = self.format or PcmFormat(22050, 2, 1)
            await conn.write(AudioStart(fmt.rate, fmt.width, fmt.channels, timestamp=0).event())
            await conn.write(AudioStop(timestamp=0).event())
            return
        request_id = uuid.uuid4().hex
        conn.mailbox.streams_audio.add(request_id)
        try:
            await conn.publish(TtsSay(text=text, site_id=conn.site_id, lang=self.lang, id=request_id))
            timeout = conn.settings.reply_timeout + len(text) / 50.0
            try:
                reply = await conn.mailbox.take(
                    (AudioPlayBytes, TtsError),
                    lambda m: (m.request_id == request_id if isinstance(m, AudioPlayBytes)
                               else m.site_id == conn.site_id), timeout=timeout)
            except TimeoutError:
                raise FlowError(f"no audio from the mesh's TTS within {timeout:g} s (is 'hermesh tts' running?)",
                                "tts-timeout") from None
            if isinstance(reply, TtsError):
                raise FlowError(f"text to speech failed: {reply.error}", "tts-error")
            try:
                self.format, events = wav_to_events(reply.wav_bytes, self.format)
            except (AudioFormatError, ValueError) as err:
                raise FlowError(f"the TTS sent unusable audio: {err}", "tts-error") from err
            finally:
                # Our speaker is done (or failed): never leave the TTS waiting for playback.
                await conn.publish(AudioPlayFinished(id=request_id, site_id=conn.site_id))
            for event in events:
                await conn.write(event.event())
        finally:
            conn.mailbox.streams_audio.discard(request_id)


class SynthesizeStream:
    """synthesize-start / -chunk* / -stop: sentences are spoken as soon as they are complete."""

    def __init__(self, conn: WyomingConnection, voice: SynthesizeVoice | None) -> None:
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


async def recognize(conn: WyomingConnection, text: str, context: dict[str, Any] | None) -> None:
    """recognize -> intent / not-recognized, with the mesh's intent handling switched off for the site."""
    request_id = uuid.uuid4().hex
    await conn.publish(HandleToggleOff(site_id=conn.site_id))
    try:
        reply = await query(conn, text, request_id)
    finally:
        await conn.publish(HandleToggleOn(site_id=conn.site_id))
    if isinstance(reply, NluIntentNotRecognized):
        await conn.write(NotRecognized(text=conn.settings.not_understood_text, context=context).event())
        return
    await conn.write(WyomingIntent(name=reply.intent.intent_name, entities=entities_of(reply), context=context).event())


async def query(conn: WyomingConnection, text: str, request_id: str, session_id: str | None = None,
                custom_data: str | None = None) -> NluIntent | NluIntentNotRecognized:
    await conn.publish(NluQuery(input=text, site_id=conn.site_id, id=request_id, session_id=session_id,
                                lang=conn.server.catalog.language, custom_data=custom_data))
    timeout = conn.settings.reply_timeout
    try:
        reply = await conn.mailbox.take(
            (NluIntent, NluIntentNotRecognized, NluError),
            lambda m: m.id == request_id if not isinstance(m, NluError) else m.site_id == conn.site_id,
            timeout=timeout)
    except TimeoutError:
        raise FlowError(f"no answer from the mesh's NLU within {timeout:g} s (is 'hermesh nlu' running?)",
                        "nlu-timeout") from None
    if isinstance(reply, NluError):
        raise FlowError(f"intent recognition failed: {reply.error}", "nlu-error")
    return reply  # type: ignore[no-any-return]


def conversation_of(context: dict[str, Any] | None) -> str | None:
    if isinstance(context, dict) and context.get("conversation_id"):
        return str(context["conversation_id"])
    return None


async def handle_transcript(conn: WyomingConnection, text: str, context: dict[str, Any] | None) -> None:
    request_id = uuid.uuid4().hex
    session_id = f"{conn.site_id}-{request_id[:8]}"
    conn.mailbox.keys.add(session_id)
    try:
        reply = await query(conn, text, request_id, session_id, conversation_of(context))
        if isinstance(reply, NluIntentNotRecognized):
            await send_handled(conn, None, context, conn.settings.not_understood_text)
            return
        await send_handled(conn, await handler_reply(conn, session_id), context)
    finally:
        conn.mailbox.keys.discard(session_id)


async def handle_intent(conn: WyomingConnection, intent: WyomingIntent) -> None:
    """An intent the client recognised itself, published as hermes/intent/<name> for the mesh's handlers."""
    request_id = uuid.uuid4().hex
    session_id = f"{conn.site_id}-{request_id[:8]}"
    slots = [Slot(entity=e.name, slot_name=e.name, value={"kind": "Unknown", "value": e.value},
                  raw_value="" if e.value is None else str(e.value)) for e in intent.entities]
    conn.mailbox.keys.add(session_id)
    try:
        await conn.publish(NluIntent(input=intent.text or intent.name, intent=Intent(intent_name=intent.name,
                                     confidence_score=1.0), site_id=conn.site_id, id=request_id,
                                     session_id=session_id, slots=slots, custom_data=conversation_of(intent.context),
                                     lang=conn.server.catalog.language))
        await send_handled(conn, await handler_reply(conn, session_id), intent.context)
    finally:
        conn.mailbox.keys.discard(session_id)


async def handler_reply(conn: WyomingConnection, session_id: str) -> str | None:
    """What the intent handler said for the session: the text of its tts/say, endSession or continueSession."""
    timeout = conn.settings.handle_timeout
    try:
        reply = await conn.mailbox.take(
            (TtsSay, DialogueEndSession, DialogueContinueSession, HandleError),
            lambda m: m.session_id == session_id, timeout=timeout)
    except TimeoutError:
        raise _NotHandled(f"no intent handler answered within {timeout:g} s") from None
    if isinstance(reply, HandleError):
        raise _NotHandled(reply.error)
    return reply.text  # type: ignore[no-any-return]


class _NotHandled(Exception):
    pass


async def send_handled(conn: WyomingConnection, text: str | None, context: dict[str, Any] | None,
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


async def run_handle(conn: WyomingConnection, work: Any) -> None:
    """Run a handle request; a handler that failed or stayed silent gives not-handled."""
    try:
        await work
    except _NotHandled as err:
        await conn.write(NotHandled(text=str(err)).event())
