"""The bridge's one way of asking the mesh: typed operations over the runtime's ``expect``, one error family.

Every operation publishes Hermes messages and awaits the reply that carries its ids (sessionId, id, requestId).
It names the service that should answer, so a missing service gives "no reply from the nlu service within
30 s (is `hermesh nlu` running?)" instead of a hang, a service whose status topic says offline fails at once,
and one that goes offline (or a broker connection that drops) ends the wait at once (``fail_waits``).

Which services are there comes from their status topics (``mesh_status.py``). Failures are ``MeshError``
(``mesh_error.py``) with a ``MeshErrorCode`` and the service's name, never an HTTP or Wyoming error:
the exception handler in ``bridge/app.py`` turns them into statuses (``http_util.MESH_ERROR_STATUS``) and
``bridge/wyoming/connection.py`` into events (``wyoming/errors.py``), each in one place. Nothing here knows a
topic: subscriptions come from the message classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured, AsrTrain, AsrTrainSuccess
from hermes.audioserver import (
    AudioPlayBytes,
    AudioPlayBytesStreaming,
    AudioPlayFinished,
    AudioPlayTest,
    AudioRecordTest,
    AudioRecordTestResult,
    AudioSessionFrame,
    AudioStreamFinished,
)
from hermes.base import HermesMessage
from hermes.common import HermesErrorMessage
from hermes.dialogue import (
    DialogueAction,
    DialogueContinueSession,
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
    DialogueStartSession,
)
from hermes.errors import (
    AsrError,
    AudioPlayError,
    AudioRecordError,
    DialogueError,
    HandleError,
    HotwordError,
    NluError,
    TtsError,
)
from hermes.handle import HandleToggleOff, HandleToggleOn
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery, NluTrain, NluTrainSuccess
from hermes.status import ServiceStatus
from hermes.tts import GetVoices, TtsSay, TtsSayFinished, Voice, Voices
from hermes.wav import WavFormatError, wav_chunks, wav_info
from services.runtime import HermesService, ServiceError
from services.runtime.errors import ServiceOffline
from services.runtime.service import Expectation
from services.runtime.service_status import Change

from .mesh_error import MeshError, MeshErrorCode
from .mesh_status import ServiceAvailability

# After a streamed sound's last chunk, how long a TTS error may take to follow it (the TTS closes a stream
# that failed mid-way with its last chunk, then publishes the error at once).
ERROR_GRACE = 0.5
SESSION_FRAME_SAMPLES = 4096  # Rhasspy's speech-to-text sends WAV chunks of 4096 frames
HANDLER = "intent-handler"

Reply = tuple[type[HermesMessage], Callable[[Any], bool]]


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Recognition:
    result: NluIntent | NluIntentNotRecognized
    seconds: float


@dataclass
class Transcription:
    captured: AsrTextCaptured
    seconds: float
    wav_seconds: float


@dataclass(frozen=True)
class MeshTimeouts:
    """How long requests wait (the bridge's settings of the same names; these are their defaults)."""

    reply: float = 30.0
    train: float = 600.0
    say_chars_per_second: float = 33.0  # sizes the wait of a long say
    # A worker of a pool died: the broker gave each request to one worker, and nobody can tell which, so a request
    # in flight may be lost with it. Resending it could run it twice (an intent fired twice), so the requests
    # waiting on that service get this long to be answered by a live worker, then fail with 503 (retry).
    worker_lost: float = 2.0


def worker_lost_message(status: ServiceStatus) -> str:
    return (f"the {status.service} worker {status.instance!r} went offline while this request waited; it may have "
            f"been the one handling it (the {status.service} pool is still up): retry")


class PendingReply:
    """Replies registered before their request is published (no race with a fast service); ``result`` waits."""

    def __init__(self, client: MeshClient, service: str, replies: Sequence[Reply]) -> None:
        self.client = client
        self.service = service
        self.classes = [cls for cls, _ in replies]
        self.expectations: list[Expectation[Any]] = [
            client.service.expect(cls, match=match, provider=service) for cls, match in replies]

    async def subscribe(self) -> None:
        for cls in self.classes:
            await self.client.service.subscribe_extra(cls.subscribe_filter())

    async def result(self, timeout: float) -> HermesMessage:
        """The first reply; a Hermes error reply raises MeshError(FAILED), a missing one TIMEOUT or OFFLINE."""
        try:
            futures = [exp.future for exp in self.expectations]
            done, _ = await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for future in futures:  # two at once (a race of reply and error): the first listed wins
                if future in done and not future.cancelled() and future.exception() is None:
                    reply: HermesMessage = future.result()
                    break
            else:
                for future in done:  # the service went offline or the broker went away: say that, not "no reply"
                    failure = None if future.cancelled() else future.exception()
                    if isinstance(failure, ServiceError):
                        raise MeshError(MeshErrorCode.OFFLINE, self.service, str(failure)) from failure
                raise self.client.availability.timeout_error(self.service, timeout)
        finally:
            self.cancel()
        if isinstance(reply, HermesErrorMessage):
            # A service that refused what was asked (TtsError.refused) points at the caller, not at itself.
            code = MeshErrorCode.REJECTED if getattr(reply, "refused", False) else MeshErrorCode.FAILED
            raise MeshError(code, self.service, f"{self.service}: {reply.error}")
        return reply

    def cancel(self) -> None:
        for exp in self.expectations:
            exp.cancel()


class Watch:
    """A stream of messages (``HermesService.listen``) until ``close()``."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[HermesMessage] = asyncio.Queue()
        self.removers: list[Callable[[], None]] = []

    async def next(self) -> HermesMessage:
        return await self.queue.get()

    def close(self) -> None:
        for remove in self.removers:
            remove()
        self.removers.clear()


class MeshClient:
    """Typed requests to the mesh on behalf of one HermesService (the bridge, or any host of the Wyoming server)."""

    def __init__(self, service: HermesService[Any],
                 timeouts: MeshTimeouts | Callable[[], MeshTimeouts] | None = None) -> None:
        self.service = service
        self._timeouts = timeouts or MeshTimeouts()
        self.availability = ServiceAvailability()
        self.registry = self.availability.registry
        self._answered_plays: set[str] = set()  # playBytes request ids a caller of ``speak`` answers itself

    @property
    def timeouts(self) -> MeshTimeouts:
        """Read at every request: the bridge's settings can change while it runs."""
        return self._timeouts() if callable(self._timeouts) else self._timeouts

    # ---- what the broker says about services (mesh_status.py) -------------------------------------------
    def status_changed(self, status: ServiceStatus) -> int:
        """Feed one status message; a service gone offline fails its waits now (returns how many). One worker of
        a pool gone: the waits on that service get ``timeouts.worker_lost`` more seconds, then fail."""
        change = self.availability.update(status)
        if change == Change.OFFLINE:
            return self.service.service_went_offline(status.service)
        if change == Change.INSTANCE_LOST:
            self.service.shorten_waits(status.service, self.timeouts.worker_lost,
                                       lambda: ServiceOffline(status.service, worker_lost_message(status)))
        return 0

    def connection_lost(self) -> None:
        self.registry.connection_lost()

    # ---- the building blocks ------------------------------------------------------------------------------
    async def publish(self, message: HermesMessage) -> None:
        try:
            await self.service.publish(message)
        except ServiceError as err:
            raise MeshError(MeshErrorCode.OFFLINE, "broker", str(err)) from err

    async def publish_in_order(self, messages: Sequence[HermesMessage], service: str) -> None:
        """Publish ``messages`` in order, the middle ones without waiting for each to be written: a request's
        audioSessionFrames (24 for a 6 s command) cost a loop round trip each when awaited one by one, about
        40 ms of a 160 ms /api/speech-to-intent. The MQTT client queues them in the order they are handed over,
        and the tasks of one gather start in order; the first and the last message are still sent on their own."""
        publish = self.service.publish
        try:
            if len(messages) <= 2:
                for message in messages:
                    await publish(message)
                return
            await publish(messages[0])
            await asyncio.gather(*(publish(message) for message in messages[1:-1]))
            await publish(messages[-1])
        except ServiceError as err:
            raise MeshError(MeshErrorCode.OFFLINE, service, str(err)) from err

    async def pending(self, service: str, replies: Sequence[Reply]) -> PendingReply:
        """Check the service is there and register its replies, before the request that causes them."""
        await self.availability.await_service(service)
        self.availability.check_service(service)
        pending = PendingReply(self, service, replies)
        try:
            await pending.subscribe()
        except BaseException:
            pending.cancel()
            raise
        return pending

    async def ask(self, messages: Sequence[HermesMessage], replies: Sequence[Reply], *, service: str,
                  timeout: float | None = None) -> HermesMessage:
        """Publish ``messages`` in order and return the first message matching one of ``replies``."""
        pending = await self.pending(service, replies)
        try:
            await self.publish_in_order(messages, service)
            return await pending.result(self.timeouts.reply if timeout is None else timeout)
        finally:
            pending.cancel()

    async def watch(self, classes: Sequence[type[HermesMessage]], match: Callable[[Any], bool]) -> Watch:
        """Every message of ``classes`` accepted by ``match`` from now until ``close()``, in arrival order: for
        streams (detections, a satellite's traffic), where ``ask`` takes one reply."""
        watch = Watch()

        def deliver(message: HermesMessage) -> None:
            if match(message):
                watch.queue.put_nowait(message)

        try:
            for cls in classes:
                watch.removers.append(await self.service.listen(cls, deliver))
        except BaseException:
            watch.close()
            raise
        return watch

    @contextlib.asynccontextmanager
    async def handling_off(self, site_id: str, off: bool = True) -> AsyncIterator[None]:
        """Intent handlers leave the site's intents alone inside the block (the caller acts on them itself)."""
        if not off:
            yield
            return
        await self.publish(HandleToggleOff(site_id=site_id))
        try:
            yield
        finally:
            await self.publish(HandleToggleOn(site_id=site_id))

    # ---- recognition --------------------------------------------------------------------------------------
    async def recognize_text(
        self, text: str, site_id: str, *, intent_filter: list[str] | None = None, session_id: str | None = None,
        wakeword_id: str | None = None, lang: str | None = None, asr_confidence: float | None = None,
        custom_data: str | None = None, timeout: float | None = None,
    ) -> Recognition:
        """nlu/query -> hermes/intent/<name> | intentNotRecognized | hermes/error/nlu, matched by sessionId."""
        query_id = new_id()
        session = session_id or query_id
        query = NluQuery(input=text, site_id=site_id, id=query_id, session_id=session, intent_filter=intent_filter,
                         wakeword_id=wakeword_id, lang=lang, asr_confidence=asr_confidence, custom_data=custom_data)

        def same(m: Any) -> bool:
            return bool(m.session_id == session)

        started = time.perf_counter()
        reply = await self.ask(
            [query], [(NluIntent, same), (NluIntentNotRecognized, same),
                      (NluError, lambda m: m.session_id == session or m.context == query_id)],
            service="nlu", timeout=timeout)
        assert isinstance(reply, NluIntent | NluIntentNotRecognized)
        return Recognition(reply, time.perf_counter() - started)

    async def transcribe(
        self, pcm: bytes, site_id: str, *, stop_on_silence: bool = False, intent_filter: list[str] | None = None,
        session_id: str | None = None, lang: str | None = None, timeout: float | None = None,
    ) -> Transcription:
        """startListening, audioSessionFrames, stopListening -> textCaptured (16 kHz 16-bit mono PCM in).

        The ASR is not asked for the audio back (sendAudioCaptured): the caller already holds it."""
        session = session_id or new_id()
        frames: list[HermesMessage] = [
            AsrStartListening(site_id=site_id, session_id=session, stop_on_silence=stop_on_silence,
                              send_audio_captured=False, intent_filter=intent_filter, lang=lang)]
        frames += [AudioSessionFrame(site_id=site_id, session_id=session, wav_bytes=chunk)
                   for chunk in wav_chunks(pcm, SESSION_FRAME_SAMPLES)]
        frames.append(AsrStopListening(site_id=site_id, session_id=session))
        started = time.perf_counter()
        wav_seconds = len(pcm) / 32000
        reply = await self.ask(frames, _asr_replies(session), service="asr",
                               timeout=(self.timeouts.reply if timeout is None else timeout) + wav_seconds)
        assert isinstance(reply, AsrTextCaptured)
        return Transcription(reply, time.perf_counter() - started, wav_seconds)

    async def speech_to_intent(
        self, pcm: bytes, site_id: str, *, stop_on_silence: bool = False, intent_filter: list[str] | None = None,
        lang: str | None = None,
    ) -> tuple[Transcription, Recognition]:
        """Transcribe, then recognise the text, both halves under one sessionId (a monitor sees one session)."""
        heard = await self.transcribe(pcm, site_id, stop_on_silence=stop_on_silence, intent_filter=intent_filter,
                                      lang=lang)
        recognition = await self.recognize_text(heard.captured.text, site_id, intent_filter=intent_filter,
                                                asr_confidence=heard.captured.likelihood,
                                                session_id=heard.captured.session_id, lang=lang)
        return heard, recognition

    def open_transcription(self, site_id: str, *, lang: str | None = None, session_id: str | None = None
                           ) -> AsrSession:
        """An ASR session fed as the audio arrives (Wyoming's transcribe): ``start``, ``feed``, ``stop``,
        ``transcript``."""
        return AsrSession(self, site_id, session_id or new_id(), lang)

    async def listen_for_command(
        self, site_id: str, *, session_id: str | None = None, model_id: str = "default", lang: str | None = None,
        intent_filter: list[str] | None = None, custom_entities: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> NluIntent | NluIntentNotRecognized:
        """Wake the site up (a hotword detection, or startSession with the filter) and return the intent of the
        command the dialogue manager hears. Nobody speaking within ``timeout`` is "not recognised"."""
        wait = self.timeouts.reply if timeout is None else timeout
        known: dict[str, str | None] = {"session": session_id}

        def ours(m: Any) -> bool:
            if m.site_id != site_id:
                return False
            return known["session"] is None or m.session_id == known["session"]

        started = self.service.expect(DialogueSessionStarted, match=lambda m: m.site_id == site_id and (
            session_id is None or m.session_id == session_id))
        await self.service.subscribe_extra(DialogueSessionStarted.subscribe_filter())

        async def learn_session() -> None:
            with contextlib.suppress(Exception):
                message = await started.wait(wait, "dialogue")
                known["session"] = known["session"] or message.session_id

        learner = asyncio.create_task(learn_session())
        trigger: HermesMessage
        if intent_filter:
            trigger = DialogueStartSession(
                init=DialogueAction(can_be_enqueued=False, intent_filter=intent_filter,
                                    send_intent_not_recognized=True), site_id=site_id, lang=lang)
        else:
            trigger = HotwordDetected(wakeword_id=model_id, model_id=model_id, site_id=site_id,
                                      session_id=session_id, lang=lang, custom_entities=custom_entities,
                                      current_sensitivity=1.0)
        try:
            reply = await self.ask(
                [trigger],
                [(NluIntent, ours), (NluIntentNotRecognized, ours),
                 (NluError, lambda m: m.site_id == site_id and known["session"] in (None, m.session_id)),
                 (DialogueError, lambda m: m.site_id == site_id),
                 # the session can end first: a service it waited on went away, or it timed out
                 (DialogueSessionEnded,
                  lambda m: known["session"] is not None and m.session_id == known["session"])],
                service="dialogue", timeout=wait)
        except MeshError as err:
            if err.code == MeshErrorCode.FAILED or not self.registry.online("dialogue"):
                raise
            # The dialogue is there; nobody spoke a command within the client's timeout. That is "nothing
            # recognised" (as a silent utterance is), not a missing service; the session it opened is ended.
            if known["session"]:
                await self.publish(DialogueEndSession(session_id=known["session"]))
            return NluIntentNotRecognized(input="", site_id=site_id, session_id=known["session"])
        finally:
            learner.cancel()
            started.cancel()
        if isinstance(reply, DialogueSessionEnded):
            if reply.termination.reason == "error":
                # It ends so when a service it needed went away: for the caller, that service is missing.
                raise MeshError(MeshErrorCode.OFFLINE, "dialogue",
                                f"the dialogue session ended with an error: {reply.termination.error or '?'}")
            return NluIntentNotRecognized(input="", site_id=site_id, session_id=reply.session_id)
        assert isinstance(reply, NluIntent | NluIntentNotRecognized)
        return reply

    async def handle_intent(self, intent: NluIntent, handle_timeout: float = 10.0) -> str | None:
        """Publish an intent recognised elsewhere and return what the intent handler said for its session."""
        assert intent.session_id, "the intent needs a sessionId to match the handler's reply by"
        handled = PendingReply(self, HANDLER, _handler_replies(intent.session_id))
        try:
            await handled.subscribe()
            await self.publish(intent)
            return await _handler_said(handled, handle_timeout)
        finally:
            handled.cancel()

    async def handle_text(
        self, text: str, site_id: str, session_id: str, *, lang: str | None = None, custom_data: str | None = None,
        timeout: float | None = None, handle_timeout: float = 10.0,
    ) -> tuple[Recognition, str | None]:
        """Recognise ``text`` and let the intent handlers act on it; returns the recognition and what the
        handler said (None when the text was not recognised: no handler is asked)."""
        # The handler's reply is registered before the query, so a fast handler is never missed.
        handled = PendingReply(self, HANDLER, _handler_replies(session_id))
        try:
            await handled.subscribe()
            recognition = await self.recognize_text(text, site_id, session_id=session_id, lang=lang,
                                                    custom_data=custom_data, timeout=timeout)
            if isinstance(recognition.result, NluIntentNotRecognized):
                return recognition, None
            return recognition, await _handler_said(handled, handle_timeout)
        finally:
            handled.cancel()

    # ---- speech -------------------------------------------------------------------------------------------
    async def voices(self, site_id: str, *, timeout: float | None = None) -> list[Voice]:
        """The TTS's installed voices (rhasspy/tts/getVoices): the one list the HTTP API, its voice checks and
        Wyoming's info all read."""
        request_id = new_id()
        reply = await self.ask([GetVoices(site_id=site_id, id=request_id)], [(Voices, lambda m: m.id == request_id)],
                               service="tts", timeout=timeout)
        assert isinstance(reply, Voices)
        return reply.voices

    async def speak(
        self, text: str, site_id: str, *, lang: str | None = None, voice: str | None = None,
        speaker: str | None = None, session_id: str | None = None, volume: float | None = None,
        answer_playback: bool = False,
        timeout: float | None = None,
    ) -> bytes:
        """tts/say -> the site's playBytes (captured) and sayFinished (or hermes/error/tts). Returns the WAV
        (empty when none came within a second of sayFinished).

        ``answer_playback``: the caller is the site's speaker (a muted site, a Wyoming client), so the client
        reports playFinished as soon as the sound arrives (the TTS then finishes at once, even on a site
        without any audio output)."""
        say_id = new_id()
        wait = timeout if timeout is not None else max(
            self.timeouts.reply, len(text) / self.timeouts.say_chars_per_second)
        audio = self.service.expect(AudioPlayBytes, match=lambda m: m.site_id == site_id and m.request_id == say_id)
        if answer_playback:
            self._answered_plays.add(say_id)
        captured: dict[str, bytes] = {}
        finished = AudioPlayFinished(site_id=site_id, id=say_id)

        async def capture() -> None:
            played = await audio.wait(wait, "tts")
            captured["wav"] = played.wav_bytes
            if answer_playback:
                captured["answered"] = b"1"
                await self.publish(finished)

        capturing: asyncio.Task[None] | None = None
        try:
            await self.service.subscribe_extra(AudioPlayBytes.subscribe_filter(site_id=site_id))
            capturing = asyncio.create_task(capture())
            await self.ask(
                [TtsSay(text=text, site_id=site_id, lang=lang, voice=voice, speaker=speaker, id=say_id,
                        session_id=session_id, volume=volume)],
                [(TtsSayFinished, lambda m: m.id == say_id), (TtsError, lambda m: m.context == say_id)],
                service="tts", timeout=wait)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(capturing), 1.0)
            return captured.get("wav", b"")
        finally:
            self._answered_plays.discard(say_id)
            sound_came = audio.future.done() and not audio.future.cancelled() and audio.future.exception() is None
            audio.cancel()
            if capturing is not None:
                capturing.cancel()
                await asyncio.gather(capturing, return_exceptions=True)
            if answer_playback and sound_came and "answered" not in captured:
                # Cancelled between the sound and our answer (a client gone): the TTS must not wait for it.
                self.service.spawn(self.publish(finished))

    @contextlib.asynccontextmanager
    async def speak_stream(
        self, text: str, site_id: str, *, lang: str | None = None, voice: str | None = None,
        speaker: str | None = None, session_id: str | None = None, volume: float | None = None,
        answer_playback: bool = False,
        timeout: float | None = None,
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """tts/say with ``stream``: ``async with mesh.speak_stream(...) as sentences`` yields each sentence's WAV
        as the TTS sends it (playBytesStreaming), the first long before the last is made, and ends after the
        last chunk. A TTS error before, between or right after the sentences (the TTS closes a broken stream
        with its last chunk, then reports) raises MeshError. The say is sent on entering, so a refusal
        (REJECTED) comes before any sound. ``answer_playback`` as for ``speak``: then we report streamFinished,
        as the site's audio output would, and wait for sayFinished; else the site plays the sound and its
        sayFinished comes later, unawaited."""
        say_id = new_id()
        wait = timeout if timeout is not None else max(
            self.timeouts.reply, len(text) / self.timeouts.say_chars_per_second)
        if answer_playback:
            self._answered_plays.add(say_id)
        # A TTS that does not stream (Rhasspy's ignores ``stream``) sends one playBytes: that is the one sentence.
        watch = await self.watch([AudioPlayBytesStreaming, AudioPlayBytes],
                                 lambda m: m.site_id == site_id and m.request_id == say_id)
        pending: PendingReply | None = None
        said: asyncio.Future[HermesMessage] | None = None
        finished = AudioStreamFinished(id=say_id, site_id=site_id)
        try:
            pending = await self.pending("tts", [(TtsSayFinished, lambda m: m.id == say_id),
                                                 (TtsError, lambda m: m.context == say_id)])
            await self.publish_in_order([TtsSay(text=text, site_id=site_id, lang=lang, voice=voice, speaker=speaker,
                                                id=say_id, session_id=session_id, volume=volume, stream=True)],
                                        "tts")
            said = asyncio.ensure_future(pending.result(wait))
            first = await self._next_chunk(watch, said, wait)
            yield self._sentences(first, watch, said, wait, finished if answer_playback else None)
        finally:
            watch.close()
            self._answered_plays.discard(say_id)
            if said is not None:
                said.cancel()
            if pending is not None:
                pending.cancel()

    async def _next_chunk(self, watch: Watch, said: asyncio.Future[HermesMessage], wait: float
                          ) -> AudioPlayBytesStreaming | AudioPlayBytes | None:
        """The stream's next chunk; None when the say finished without (more) sound; the say's error raises."""
        getting = asyncio.ensure_future(watch.next())
        try:
            done, _ = await asyncio.wait([getting, said], timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getting.done():
                getting.cancel()
        if getting in done:
            chunk = getting.result()
            assert isinstance(chunk, AudioPlayBytesStreaming | AudioPlayBytes)
            return chunk
        if said in done:
            said.result()  # raises the TTS's error
            return None
        raise self.availability.timeout_error("tts", wait)

    async def _sentences(self, first: AudioPlayBytesStreaming | AudioPlayBytes | None, watch: Watch,
                         said: asyncio.Future[HermesMessage], wait: float, finished: AudioStreamFinished | None
                         ) -> AsyncIterator[bytes]:
        chunk = first
        try:
            if isinstance(chunk, AudioPlayBytes):  # the whole sound at once
                if finished is not None:
                    finished = None
                    await self.publish(AudioPlayFinished(site_id=chunk.site_id, id=chunk.request_id))
                yield chunk.wav_bytes
                return
            while isinstance(chunk, AudioPlayBytesStreaming):
                try:
                    frames = wav_info(chunk.wav_bytes).frames
                except WavFormatError as err:
                    raise MeshError(MeshErrorCode.FAILED, "tts", f"the TTS sent a chunk that is not a WAV: {err}") from err
                if frames:
                    yield chunk.wav_bytes
                if chunk.is_last_chunk:
                    answered = finished is not None
                    if finished is not None:
                        await self.publish(finished)
                        finished = None
                    # The say's end: at once when we answered the playback, else only an error comes now.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(said), wait if answered else ERROR_GRACE)
                    if said.done():
                        said.result()  # a TTS error raises
                    return
                chunk = await self._next_chunk(watch, said, wait)
        finally:
            if finished is not None:  # cut short (a client gone): the TTS must not wait for the sound
                self.service.spawn(self.publish(finished))
            said.cancel()

    def answers_playback(self, request_id: str) -> bool:
        """A ``speak`` in progress reports playFinished for this sound itself."""
        return request_id in self._answered_plays

    async def play(self, wav: bytes, site_id: str, *, timeout: float | None = None) -> None:
        """playBytes on a site and wait for its playFinished (or hermes/error/audioServer/play)."""
        request_id = new_id()
        duration = _sound_seconds(wav)
        await self.ask(
            [AudioPlayBytes(site_id=site_id, request_id=request_id, wav_bytes=wav)],
            [(AudioPlayFinished, lambda m: m.id == request_id and m.site_id == site_id),
             (AudioPlayError, lambda m: m.site_id == site_id)],
            service="audio-output", timeout=(self.timeouts.reply if timeout is None else timeout) + duration)

    async def record_test(self, site_id: str, device: str, seconds: float) -> bytes:
        """The WAV that ``seconds`` of one microphone of a site recorded (hermesh/audioServer/recordTest)."""
        request_id = new_id()
        reply = await self.ask(
            [AudioRecordTest(site_id=site_id, device=device, seconds=seconds, id=request_id)],
            [(AudioRecordTestResult, lambda m: m.request_id == request_id and m.site_id == site_id),
             (AudioRecordError, lambda m: m.context == request_id)],
            service="audio-input", timeout=self.timeouts.reply + seconds)
        assert isinstance(reply, AudioRecordTestResult)
        return reply.wav_bytes

    async def play_test(self, wav: bytes, site_id: str, device: str) -> None:
        """A WAV on one speaker of a site, whatever it plays on otherwise; waits for its playFinished."""
        request_id = new_id()
        duration = _sound_seconds(wav)
        await self.ask(
            [AudioPlayTest(site_id=site_id, device=device, request_id=request_id, wav_bytes=wav)],
            # the error first: a failed play is answered by its error and then playFinished all the same
            [(AudioPlayError, lambda m: m.context == request_id),
             (AudioPlayFinished, lambda m: m.id == request_id and m.site_id == site_id)],
            service="audio-output", timeout=self.timeouts.reply + duration)

    # ---- wake ---------------------------------------------------------------------------------------------
    async def detect_wake_words(self, site_id: str) -> WakeWatch:
        """Detections (hotword/<id>/detected) on a site from now until ``close()``; ``next()`` raises
        MeshError for the wake service's error message. The caller sends the site's audio frames."""
        return WakeWatch(await self.watch([HotwordDetected, HotwordError], lambda m: m.site_id == site_id))

    # ---- training -----------------------------------------------------------------------------------------
    async def train(self, service: str, sentences: dict[str, str], slots: dict[str, list[str]], site_id: str,
                    *, train_id: str | None = None, timeout: float | None = None) -> None:
        """nlu or asr train -> trainSuccess. The service refusing the profile (a template error) is REJECTED:
        the profile is at fault, not the service. One training of both services shares one ``train_id``."""
        train_id = train_id or new_id()
        message: NluTrain | AsrTrain
        if service == "nlu":
            message = NluTrain(id=train_id, site_id=site_id, sentences=sentences, slots=slots)
            replies: list[Reply] = [(NluTrainSuccess, lambda m: m.id == train_id),
                                    (NluError, lambda m: train_id in (m.session_id, m.context))]
        else:
            message = AsrTrain(id=train_id, site_id=site_id, sentences=sentences, slots=slots)
            replies = [(AsrTrainSuccess, lambda m: m.id == train_id),
                       (AsrError, lambda m: train_id in (m.session_id, m.context))]
        try:
            await self.ask([message], replies, service=service,
                           timeout=self.timeouts.train if timeout is None else timeout)
        except MeshError as err:
            if err.code == MeshErrorCode.FAILED:
                raise MeshError(MeshErrorCode.REJECTED, service, err.message) from None
            raise


def _sound_seconds(wav: bytes) -> float:
    """How long a WAV to play lasts; a body that is no WAV is the caller's error, refused before it is sent."""
    try:
        return wav_info(wav).seconds
    except WavFormatError as err:
        raise MeshError(MeshErrorCode.REJECTED, "audio-output", str(err)) from err


def _asr_replies(session: str) -> list[Reply]:
    return [(AsrTextCaptured, lambda m: m.session_id == session), (AsrError, lambda m: m.session_id == session)]


def _handler_replies(session_id: str) -> list[Reply]:
    """What an intent handler answers a session with: a say, an end or a continuation, or its error."""
    return [(cls, lambda m: m.session_id == session_id)
            for cls in (TtsSay, DialogueEndSession, DialogueContinueSession, HandleError)]


async def _handler_said(handled: PendingReply, timeout: float) -> str | None:
    try:
        reply = await handled.result(timeout)
    except MeshError as err:
        if err.code == MeshErrorCode.TIMEOUT:
            raise MeshError(err.code, HANDLER, f"no intent handler answered within {timeout:g} s") from None
        if err.code == MeshErrorCode.FAILED:
            raise MeshError(err.code, HANDLER, err.message.removeprefix(f"{HANDLER}: ")) from None
        raise
    return reply.text  # type: ignore[attr-defined, no-any-return]


class WakeWatch:
    def __init__(self, watch: Watch) -> None:
        self._watch = watch

    async def next(self) -> HotwordDetected:
        message = await self._watch.next()
        if isinstance(message, HotwordError):
            raise MeshError(MeshErrorCode.FAILED, "wake", f"wake: {message.error}")
        assert isinstance(message, HotwordDetected)
        return message

    def close(self) -> None:
        self._watch.close()


class AsrSession:
    """One ASR session fed in pieces; the transcript's wait is registered at ``start``, so a service going
    offline meanwhile fails it at once."""

    def __init__(self, client: MeshClient, site_id: str, session_id: str, lang: str | None) -> None:
        self.client = client
        self.site_id = site_id
        self.session_id = session_id
        self.lang = lang
        self._pending: PendingReply | None = None
        self.stopped = False

    async def start(self) -> None:
        self._pending = await self.client.pending("asr", _asr_replies(self.session_id))
        await self.client.publish(AsrStartListening(
            site_id=self.site_id, session_id=self.session_id, lang=self.lang, stop_on_silence=False,
            send_audio_captured=False))

    async def feed(self, wav: bytes) -> None:
        await self.client.publish(AudioSessionFrame(site_id=self.site_id, session_id=self.session_id, wav_bytes=wav))

    async def stop(self) -> None:
        """The audio is complete: stopListening."""
        self.stopped = True
        await self.client.publish(AsrStopListening(site_id=self.site_id, session_id=self.session_id))

    async def transcript(self, timeout: float) -> AsrTextCaptured:
        """The textCaptured of the session (after ``stop``)."""
        assert self._pending is not None, "start() first"
        reply = await self._pending.result(timeout)
        assert isinstance(reply, AsrTextCaptured)
        return reply

    async def abort(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        if not self.stopped:
            self.stopped = True
            await self.client.publish(AsrStopListening(site_id=self.site_id, session_id=self.session_id))
