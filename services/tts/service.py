"""``hermesh tts``: hermes/tts/say -> playBytes -> (playFinished, bounded wait) -> sayFinished.

With ``say.stream`` (or ``tts.stream``) the sound goes out as Snips' playBytesStreaming chunks instead, one
per sentence as soon as the engine has made it, closed by an empty last chunk, and the wait is for
streamFinished. sayFinished is always sent, also after an error, so a dialogue manager waiting for it never
hangs. Sentences for one site are spoken one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from hermes.audioserver import AudioPlayBytes, AudioPlayBytesStreaming, AudioPlayFinished, AudioStreamFinished
from hermes.errors import TtsError
from hermes.site_ids import session_id_problem
from hermes.tts import GetVoices, TtsSay, TtsSayFinished, Voices
from hermes.wav import WavFormatError, pcm_to_wav, wav_info
from services.engine_loader import load_engine
from services.engines import EngineError
from services.runtime import HermesService, ServiceError, ServiceTimeout, handles

from .engine import TtsEngine, scale_volume, synthesize, synthesize_stream, takes_speaker
from .settings import TtsSettings
from .voices import speaker_problem, voice_problem, voice_to_wire


def refused(message: str, context: str) -> ServiceError:
    """A say refused for what it asks: its error text ends with TtsError.REFUSED_CODE (report_error adds an
    engine error's code), so the caller knows the request is at fault."""
    error = ServiceError(message, context=context)
    error.__cause__ = EngineError(TtsError.REFUSED_CODE, message)
    return error


@dataclass
class _SiteLock:
    """Sentences of one site are spoken one after another; ``pending`` counts the says holding or awaiting it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: int = 0


class TtsService(HermesService[TtsSettings]):
    name = "tts"
    settings_model = TtsSettings
    error_class = TtsError

    async def setup(self) -> None:
        s = self.settings
        self.engine: TtsEngine = await self.run_blocking(
            lambda: load_engine("tts", s.engine, s.options_for_engine(), profile_dir=self.profile))
        startup_error = getattr(self.engine, "startup_error", None)
        if startup_error is not None:  # e.g. a broken voice file: serve on, each say reports it
            self.log.error("tts engine %s started with an error: %s", s.engine, startup_error)
        # One lock per site with a say pending, dropped with its last say: site ids come and go (Wyoming
        # connections mint them), so a lock per site ever seen would grow for ever.
        self._site_locks: dict[str, _SiteLock] = {}
        # Every playFinished, so a reply is never missed between publishing playBytes and waiting.
        await self.subscribe_extra(AudioPlayFinished.subscribe_filter())
        await self.subscribe_extra(AudioStreamFinished.subscribe_filter())

    def problems(self) -> list[str]:
        startup_error = getattr(getattr(self, "engine", None), "startup_error", None)
        return [f"tts engine {self.settings.engine}: {startup_error}"] if startup_error is not None else []

    @handles(TtsSay, shared=True)
    async def on_say(self, say: TtsSay) -> None:
        # Waiting for playFinished takes seconds: do it outside the site's message queue.
        self.spawn(self._say(say), origin=say)

    async def _say(self, say: TtsSay) -> None:
        site_lock = self._site_locks.setdefault(say.site_id, _SiteLock())
        site_lock.pending += 1
        try:
            async with site_lock.lock:
                try:
                    await self._speak(say)
                except ServiceError as err:
                    await self.report_error(err, say, say.topic())
                finally:
                    try:
                        await self.publish(TtsSayFinished(site_id=say.site_id, id=say.id, session_id=say.session_id))
                    except ServiceError as err:  # broker gone while stopping: nothing left to tell
                        self.log.warning("could not send sayFinished for %s: %s", say.id, err)
        finally:
            site_lock.pending -= 1
            if site_lock.pending == 0 and self._site_locks.get(say.site_id) is site_lock:
                del self._site_locks[say.site_id]

    async def _speak(self, say: TtsSay) -> None:
        problems = self.problems()
        try:
            await self._speak_once(say)
        finally:
            if self.problems() != problems:  # e.g. a voice file fixed in place now loads
                await self.publish_status()

    async def _speak_once(self, say: TtsSay) -> None:
        context = say.id or say.text[:40]
        if not say.text.strip():
            return  # nothing to say: only sayFinished
        limit = self.settings.max_text_chars
        if len(say.text) > limit:
            raise refused(f"refused to speak {len(say.text)} characters: over tts.max_text_chars ({limit})", context)
        if say.voice is not None:
            await self._check_voice(say.voice, context)
        if say.speaker is not None:
            problem = speaker_problem(say.speaker)
            if problem is not None:
                raise refused(problem, context)
            if not takes_speaker(self.engine):  # espeak-ng, a user's engine: one speaker per voice, as Piper's
                self.log.info("say %s: engine %s has no speakers; speaker %r ignored", context, self.settings.engine,
                              say.speaker)
        # The say's id names the playBytes topic; one that cannot be a topic level gets an id of our own
        # (sayFinished still echoes the caller's in its payload).
        request_id = say.id if say.id and session_id_problem(say.id) is None else uuid.uuid4().hex
        stream = self.settings.stream if say.stream is None else say.stream
        # Which voice speaks, in the log: what a user who picked one can check (the web UI's test does).
        self.log.info("say %s on %s: %d characters, voice %s, language %s%s%s", request_id, say.site_id,
                      len(say.text), say.voice or "(default)", say.lang or "(default)",
                      f", speaker {say.speaker}" if say.speaker is not None else "", ", streamed" if stream else "")
        if stream:
            await self._speak_streamed(say, request_id, context)
            return
        try:
            wav = await self.run_blocking(synthesize, self.engine, say.text, say.voice, say.lang, say.speaker)
            if say.volume is not None:
                wav = scale_volume(wav, say.volume)
            seconds = wav_info(wav).seconds
        except (EngineError, WavFormatError) as err:  # a user's engine may raise the base class
            raise ServiceError(f"could not speak {say.text[:60]!r}: {err}", context=context) from err
        finished = self.expect(
            AudioPlayFinished, match=lambda m: m.id == request_id and m.site_id == say.site_id
        )
        try:
            await self.publish(AudioPlayBytes(site_id=say.site_id, request_id=request_id, wav_bytes=wav))
            await finished.wait(seconds + self.settings.play_finished_margin, "audio-output")
        except ServiceTimeout as err:
            raise self._no_answer(say, request_id, "playFinished", seconds, context) from err
        finally:
            finished.cancel()

    async def _check_voice(self, voice: str, context: str) -> None:
        try:
            voices = await self.run_blocking(self.engine.voices)
        except EngineError as err:
            raise ServiceError(f"cannot check voice {voice[:60]!r}: {err}", context=context) from err
        problem = voice_problem(voice, voices, self.settings.engine)
        if problem is not None:
            raise refused(problem, context)

    async def _speak_streamed(self, say: TtsSay, request_id: str, context: str) -> None:
        """One playBytesStreaming chunk per sentence, each sent as soon as the engine has made it; an empty
        last chunk closes the stream also after an error, so the audio output never waits for more."""
        finished = self.expect(
            AudioStreamFinished, match=lambda m: m.id == request_id and m.site_id == say.site_id
        )
        sentences: Iterator[bytes] = synthesize_stream(self.engine, say.text, say.voice, say.lang, say.speaker)
        seconds, number, rate, closed = 0.0, 0, 22050, False

        async def send(wav: bytes, last: bool) -> None:
            await self.publish(AudioPlayBytesStreaming(site_id=say.site_id, request_id=request_id,
                                                       chunk_number=number, is_last_chunk=int(last), wav_bytes=wav))

        try:
            while True:
                try:
                    wav = await self.run_blocking(next, sentences, None)
                    if wav is None:
                        break
                    if say.volume is not None:
                        wav = scale_volume(wav, say.volume)
                    info = wav_info(wav)
                except (EngineError, WavFormatError) as err:
                    raise ServiceError(f"could not speak {say.text[:60]!r}: {err}", context=context) from err
                seconds, rate = seconds + info.seconds, info.rate
                await send(wav, last=False)
                number += 1
            await send(pcm_to_wav(b"", rate), last=True)
            closed = True
            # Played as it comes, the sound ends at the latest its whole length after the last chunk.
            await finished.wait(seconds + self.settings.play_finished_margin, "audio-output")
        except ServiceTimeout as err:
            raise self._no_answer(say, request_id, "streamFinished", seconds, context) from err
        finally:
            finished.cancel()
            with contextlib.suppress(ValueError):  # still running in its thread when cancelled: it ends alone
                sentences.close()  # type: ignore[attr-defined]
            if not closed:
                with contextlib.suppress(ServiceError):
                    await send(pcm_to_wav(b"", rate), last=True)

    def _no_answer(self, say: TtsSay, request_id: str, reply: str, seconds: float, context: str) -> ServiceError:
        wait = seconds + self.settings.play_finished_margin
        return ServiceError(f"site {say.site_id!r} did not report {reply} for {request_id} within {wait:.1f} s "
                            f"(is an audio-output service running there?)", context=context)

    @handles(GetVoices, shared=True)
    async def on_get_voices(self, message: GetVoices) -> Voices:
        try:
            voices = await self.run_blocking(self.engine.voices)
        except EngineError as err:
            raise ServiceError(f"cannot list voices: {err}", context=message.id) from err
        return Voices(
            voices=[voice_to_wire(v) for v in voices],
            id=message.id,
            site_id=message.site_id,
        )
