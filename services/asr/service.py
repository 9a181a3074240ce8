"""``hermesh asr``: speech to text over Hermes (startListening/stopListening sessions, audio frames, training, g2p).

Audio frames are decoded as they arrive; with stopOnSilence the endpointer ends the session and the
transcript is published at once. Toggles follow the reason algebra of hermes-protocol.md §3.5 with one
set for the whole service (as Rhasspy's ASR). A session ends by, in this order of likelihood: end of
speech, stopListening, no speech within ``segmenter.no_speech_timeout`` seconds of audio (empty text),
``max_seconds`` of audio, or ``session_timeout`` seconds without a result (e.g. no audio arrives at all).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from hermes.asr import (
    AsrAudioCaptured,
    AsrRecordingFinished,
    AsrStartListening,
    AsrStopListening,
    AsrTextCaptured,
    AsrToggleOff,
    AsrToggleOn,
    AsrToken,
    AsrTokenTime,
    AsrTrain,
    AsrTrainSuccess,
)
from hermes.audio_stream import PcmStream
from hermes.audioserver import AudioFrame, AudioSessionFrame
from hermes.common import ToggleReason
from hermes.errors import AsrError, G2pError
from hermes.g2p import G2pPhonemes, G2pPronounce, G2pPronunciation
from hermes.site_ids import session_id_problem
from hermes.wav import WavFormatError, pcm_to_wav
from services.config import ConfigError, SettingsModel
from services.engine_loader import load_engine
from services.engines import EngineError
from services.phonetics import PronunciationError, pronounce, read_custom_words
from services.profile import CUSTOM_WORDS, Profile
from services.runtime import HermesService, ServiceError, handles
from services.runtime.gc_pauses import settle_heap

from .endpointer import Endpointer, SegmenterSettings, VadUnavailableError, VoiceActivityDetector, make_vad
from .engine import AsrEngine, AsrEngineError, AsrTrainingData, Transcript
from .fsg import FsgError
from .session import AsrSession, SessionInfo, SessionOutcome
from .training import TRAINED_DIR, asr_work_dir


class StrictSegmenterSettings(SegmenterSettings):
    model_config = ConfigDict(extra="forbid")


class AsrSettings(SettingsModel):
    engine: str | None = Field(
        None, description="pocketsphinx | kaldi | wyoming | faster-whisper | hybrid | a class path (my_pkg.my_asr:MyAsr); default: kaldi when "
        "kaldi_model_dir is set, else pocketsphinx",
    )
    mode: Literal["grammar", "ngram", "dictation"] = Field(
        "grammar", description="pocketsphinx: closed grammar of the intents, their n-gram model, or open dictation"
    )
    acoustic_model: Path | None = Field(None, description="pocketsphinx acoustic model dir (default: bundled en-us)")
    kaldi_model_dir: Path | None = Field(None, description="a kaldi-active-grammar model directory")
    engine_options: dict[str, Any] = Field(default_factory=dict, description="passed to the engine as-is "
                                           "(config.options), over the built-in engines' settings above")
    vad: Literal["pocketsphinx", "webrtcvad", "silero"] = "pocketsphinx"
    vad_mode: int = Field(3, ge=0, le=3, description="WebRTC VAD aggressiveness (pocketsphinx, webrtcvad)")
    silero_threshold: float = Field(0.5, gt=0, lt=1)
    segmenter: StrictSegmenterSettings = Field(default_factory=StrictSegmenterSettings)  # type: ignore[arg-type]
    session_timeout: float = Field(30.0, gt=0, description="wall-clock seconds before a session without result ends")
    guess_unknown_words: bool = True
    custom_words: str = CUSTOM_WORDS
    max_idle_decoders: int = Field(4, ge=1)
    # pocketsphinx 5.1's Python module never releases the GIL (its extension has no PyEval_SaveThread; a
    # thread spinning beside a decode barely runs, and two decodes in two threads took 2.15x one), so decodes in
    # one ASR process run one after the other, and its event loop waits while one runs. Rooms that speak at
    # once are decoded in parallel by more processes: `hermesh asr --pool asr` workers (README, "Many rooms, many machines").
    max_decoders: int | None = Field(None, ge=1, description="decodes at once (default: the CPU count); each "
                                     "decoder is ~20 MB. With pocketsphinx they take turns (it holds Python's "
                                     "GIL): run more ASR workers (--pool) for parallel decodes")


@dataclass
class _LiveSession:
    session: AsrSession
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    converter: PcmStream = field(default_factory=PcmStream)  # this session's audio, from its first frame
    timer: asyncio.TimerHandle | None = None
    published: bool = False


class AsrService(HermesService[AsrSettings]):
    name = "asr"
    settings_model = AsrSettings
    error_class = AsrError

    engine: AsrEngine
    trained_stamp: float | None = None
    trained_texts: str | None = None  # fingerprint of the texts of the last train message trained on

    async def setup(self) -> None:
        self.sessions: dict[str, _LiveSession] = {}
        self.disabled_reasons: set[str] = set()
        self._training = asyncio.Lock()
        self.engine = await self.run_blocking(self._create_engine)
        self.engine_feeds_inline = bool(getattr(self.engine, "feeds_inline", False))
        try:  # a VAD whose package is missing is a setting to fix now, not an error at every session
            self._new_vad()
        except VadUnavailableError as err:
            raise ConfigError(f"asr: {err}") from err
        try:
            await self.run_blocking(self._train_from_profile)
        except (EngineError, FsgError, PronunciationError) as err:
            self.log.warning("not trained yet: %s", err)
        except Exception:  # noqa: BLE001 - a profile must never keep the ASR from starting (crash loop)
            self.log.exception("not trained yet: training from the profile failed unexpectedly")

    async def teardown(self) -> None:
        for live in list(self.sessions.values()):
            live.session.close()
        self.sessions.clear()
        self.engine.close()

    # ---- engine and training -----------------------------------------------------------------------------
    def _engine_spec(self) -> str:
        return self.settings.engine or ("kaldi" if self.settings.kaldi_model_dir else "pocketsphinx")

    def _create_engine(self) -> AsrEngine:
        s = self.settings
        options: dict[str, Any] = {"mode": s.mode, "max_idle_decoders": s.max_idle_decoders,
                                   "max_decoders": s.max_decoders}
        if s.acoustic_model:
            options["acoustic_model"] = s.acoustic_model
        if s.kaldi_model_dir:
            options["model_dir"] = s.kaldi_model_dir
        options.update(s.engine_options)
        try:
            engine: AsrEngine = load_engine("asr", self._engine_spec(), options, profile_dir=self.profile,
                                            work_dir=asr_work_dir(self.profile))
            return engine
        except EngineError as err:  # a setting the user must fix: reported without a traceback
            raise ConfigError(f"asr: {err}") from err

    def _training_options(self) -> dict[str, Any]:
        return {"guess_unknown_words": self.settings.guess_unknown_words, "custom_words": self.settings.custom_words,
                "with_arpa": self.settings.mode == "ngram"}

    def _trained_marker(self) -> Path:
        return self.profile / TRAINED_DIR / "intent_graph.pickle"  # written by 'hermesh train' (the NLU's)

    def _train_from_profile(self) -> None:
        from .training import training_data_from_profile

        stamp = self._stamp()
        self._train(training_data_from_profile(self.profile, **self._training_options()))
        self.trained_stamp = stamp
        self.trained_texts = None  # trained from the NLU's files, not from texts we can compare

    def _stamp(self) -> float | None:
        try:
            return self._trained_marker().stat().st_mtime
        except FileNotFoundError:
            return None

    def _train(self, data: AsrTrainingData) -> None:
        self.engine.train(data)
        settle_heap()  # the old model's objects go, the new one's are frozen (see services/runtime/gc_pauses.py)
        self.log.info("trained: %d words%s", len(data.vocabulary),
                      f", {len(data.guessed)} guessed" if data.guessed else "")

    def _texts_fingerprint(self, sentences: Mapping[str, str], slots: Mapping[str, list[str]]) -> str:
        """What a training from these texts depends on: them and the custom words file it reads."""
        try:
            custom = (self.profile / self.settings.custom_words).read_bytes()
        except OSError:
            custom = b""
        texts = json.dumps([sorted(sentences.items()), sorted(slots.items())], ensure_ascii=False)
        return hashlib.sha256(texts.encode() + b"\0" + custom).hexdigest()

    def _profile_fingerprint(self) -> str | None:
        try:
            profile = Profile(self.profile)
            return self._texts_fingerprint(dict(profile.sentence_texts(relative_names=True)), profile.slot_texts())
        except Exception:  # noqa: BLE001 - a profile that does not read is not the one we trained on
            return None

    async def _retrain_if_profile_trained(self) -> None:
        """Pick up what ``hermesh train`` wrote since we trained (checked when a session starts)."""
        stamp = self._stamp()
        if stamp is not None and stamp != self.trained_stamp:
            # The NLU rewrites the same files when it trains from a train message: after POST /api/train the
            # first command waited for a second, identical ASR training (seconds on a large profile).
            if self.trained_texts is not None and \
                    await self.run_blocking(self._profile_fingerprint) == self.trained_texts:
                self.trained_stamp = stamp
                return
            try:
                await self.run_blocking(self._train_from_profile)
            except (EngineError, FsgError, PronunciationError) as err:
                self.trained_stamp = stamp  # report once, keep the previous model
                raise ServiceError(f"retraining after 'hermesh train' failed: {err}") from err

    @handles(AsrTrain)
    async def on_train(self, message: AsrTrain) -> None:
        # Outside the site's queue (as the NLU's): speech meanwhile is decoded with the previous model; one
        # training at a time, in the order received.
        self.spawn(self._retrain(message), origin=message)

    async def _retrain(self, message: AsrTrain) -> None:
        async with self._training:
            await self._retrain_now(message)

    async def _retrain_now(self, message: AsrTrain) -> None:
        from .training import training_data_from_texts

        try:
            if message.sentences is None:
                raise AsrEngineError(
                    "rhasspy/asr/train without sentences: Hermesh trains from the sentence and slot texts, "
                    f"not from a graph file ({message.graph_path or 'no graphPath'})"
                )
            data = await self.run_blocking(
                training_data_from_texts, message.sentences, message.slots or {}, self.profile,
                **self._training_options(),
            )
            await self.run_blocking(self._train, data)
            self.trained_texts = await self.run_blocking(self._texts_fingerprint, message.sentences, message.slots or {})
        except Exception as err:  # the train id goes in sessionId (§1.3): the trainer waits for it
            if isinstance(err, EngineError | FsgError | PronunciationError):
                self.log.error("training failed: %s", err)
                text = f"training failed: {err}"
            else:
                self.log.exception("training failed unexpectedly")
                text = f"training failed: {type(err).__name__}: {err}"
            # the train id goes back as sessionId (Rhasspy's convention), if it can be one
            train_id = message.id if message.id and session_id_problem(message.id) is None else None
            await self.publish(AsrError(error=text, site_id=message.site_id,
                                        session_id=train_id, context=message.topic()))
            return
        await self.publish(AsrTrainSuccess(id=message.id, site_id=message.site_id))

    # ---- toggles -----------------------------------------------------------------------------------------
    @handles(AsrToggleOff)
    async def on_toggle_off(self, message: AsrToggleOff) -> None:
        self.disabled_reasons.add(ToggleReason(message.reason).value)

    @handles(AsrToggleOn)
    async def on_toggle_on(self, message: AsrToggleOn) -> None:
        reason = ToggleReason(message.reason).value
        if reason == "":
            self.disabled_reasons.clear()
        else:
            self.disabled_reasons.discard(reason)

    @property
    def enabled(self) -> bool:
        return not self.disabled_reasons

    # ---- sessions ----------------------------------------------------------------------------------------
    @handles(AsrStartListening, shared=True)
    async def on_start_listening(self, message: AsrStartListening) -> None:
        key = message.session_id or ""
        old = self.sessions.pop(key, None)
        if old is not None:
            await self._drop(old)
        await self._retrain_if_profile_trained()
        # An EngineError goes to the runtime as it is: it becomes hermes/error/asr with its code.
        stream = await self.run_blocking(self.engine.open_stream, message.intent_filter)
        endpointer = Endpointer(self._new_vad(), self.settings.segmenter) if message.stop_on_silence else None
        info = SessionInfo(message.site_id, key, message.stop_on_silence, message.send_audio_captured,
                           message.wakeword_id, message.lang)
        live = _LiveSession(AsrSession(info, stream, endpointer))
        live.timer = asyncio.get_running_loop().call_later(
            self.settings.session_timeout, lambda: self.spawn(self._timeout(live), origin=message))
        self.sessions[key] = live

    async def _timeout(self, live: _LiveSession) -> None:
        if live.published:
            return
        self.log.info("session %r on %s timed out after %g s", live.session.info.session_id,
                      live.session.info.site_id, self.settings.session_timeout)
        await self._complete(live, self._stop_outcome(live.session))

    def _new_vad(self) -> VoiceActivityDetector:
        s = self.settings
        return make_vad(s.vad, mode=s.vad_mode, threshold=s.silero_threshold)

    @staticmethod
    def _stop_outcome(session: AsrSession) -> SessionOutcome:
        # With an endpointer, a session that never heard speech has nothing worth decoding.
        if session.info.stop_on_silence and not session.speech_started:
            return SessionOutcome.NO_SPEECH
        return SessionOutcome.TRANSCRIBE

    @handles(AsrStopListening)
    async def on_stop_listening(self, message: AsrStopListening) -> None:
        live = self.sessions.pop(message.session_id or "", None)
        if live is None:
            return
        # The resampler still holds the last few milliseconds (its filter's reach): the end of the last word of
        # a recording cut tight, as telephony audio often is. With them the utterance is what the same audio
        # converted whole gives.
        tail = live.converter.flush()
        if tail:
            await self._feed(live, tail)
        await self._complete(live, self._stop_outcome(live.session))

    @handles(AudioFrame)
    async def on_audio_frame(self, message: AudioFrame) -> None:
        if not self.enabled:
            return
        listening = [live for live in self.sessions.values()
                     if live.session.info.site_id == message.site_id and not live.published]
        # Each session converts with its own resampler, started at its first frame: the utterance is then
        # resampled exactly as the same audio posted whole would be, whatever the site sent before it.
        for live in listening:
            await self._feed(live, self._convert(live.converter, message.wav_bytes))

    @handles(AudioSessionFrame)
    async def on_audio_session_frame(self, message: AudioSessionFrame) -> None:
        live = self.sessions.get(message.session_id)
        if live is None or live.published or live.session.info.site_id != message.site_id or not self.enabled:
            return
        await self._feed(live, self._convert(live.converter, message.wav_bytes))

    @staticmethod
    def _convert(converter: PcmStream, wav_bytes: bytes) -> bytes:
        try:
            return converter.wav(wav_bytes)
        except WavFormatError as err:
            raise ServiceError(f"audio frame dropped: {err}") from err

    async def _feed(self, live: _LiveSession, pcm: bytes) -> None:
        async with live.lock:
            if live.published:
                return
            outcome = await self._decode(live.session.feed, pcm)
        if outcome is not None:
            await self._complete(live, outcome)

    async def _decode(self, function: Any, *args: Any) -> Any:
        """Work per frame: inline for engines whose feeding is well under 1 ms per 64 ms frame (pocketsphinx
        only keeps the audio until the utterance ends: a worker thread would add a hand-off per frame and
        nothing else); in a worker thread for the others."""
        if self.engine_feeds_inline:
            return function(*args)
        return await self.run_blocking(function, *args)

    async def _complete(self, live: _LiveSession, outcome: SessionOutcome) -> None:
        """Publish the session's result once; later frames and a stopListening for it change nothing."""
        async with live.lock:
            if live.published:
                return
            live.published = True
            if live.timer is not None:
                live.timer.cancel()
            session = live.session
            if self.sessions.get(session.info.session_id) is live:  # a later stopListening has nothing to do
                del self.sessions[session.info.session_id]
            info = session.info
            # "Recording stopped, just before transcription" (Rhasspy): sent while the decoder works, not after
            # it, so its ~1 ms publish is off a request's path and the end-of-listening cue comes sooner.
            finished = asyncio.create_task(self.publish(
                AsrRecordingFinished(site_id=info.site_id, session_id=info.session_id or None)))
            try:
                transcript: Transcript = await self.run_blocking(session.finish, outcome)  # the decoding itself
            finally:
                await finished  # before the text, whatever the decoder did
        await self.publish(self._text_captured(info, transcript))
        if info.send_audio_captured and not info.session_id:
            # audioCaptured's topic names the session: without one there is nowhere to send the audio
            self.log.warning("sendAudioCaptured without a sessionId on site %s: no audioCaptured sent", info.site_id)
        elif info.send_audio_captured:
            await self.publish(AsrAudioCaptured(site_id=info.site_id, session_id=info.session_id,
                                                wav_bytes=pcm_to_wav(session.captured_audio())))

    @staticmethod
    def _text_captured(info: SessionInfo, transcript: Transcript) -> AsrTextCaptured:
        tokens, offset = [], 0
        for token in transcript.tokens:
            tokens.append(AsrToken(value=token.value, confidence=token.confidence, range_start=offset,
                                   range_end=offset + len(token.value),
                                   time=AsrTokenTime(start=token.start, end=token.end)))
            offset += len(token.value) + 1
        return AsrTextCaptured(
            text=transcript.text, likelihood=transcript.likelihood,
            seconds=round(transcript.decode_seconds, 6) if transcript.text else 0.0,
            site_id=info.site_id, session_id=info.session_id or None, wakeword_id=info.wakeword_id,
            asr_tokens=[tokens] if tokens else None, lang=info.lang, source=transcript.source,
        )

    async def _drop(self, live: _LiveSession) -> None:
        async with live.lock:
            live.published = True
            if live.timer is not None:
                live.timer.cancel()
            await self.run_blocking(live.session.close)

    # ---- pronunciations --------------------------------------------------------------------------------
    @handles(G2pPronounce, shared=True)
    async def on_pronounce(self, message: G2pPronounce) -> Any:
        try:
            # Lenient: a lookup shows what the file says even on a line training would refuse.
            custom = await self.run_blocking(read_custom_words, self.profile / self.settings.custom_words, {})
            result: dict[str, list[G2pPronunciation]] = {}
            for word in message.words:
                if word in custom:
                    result[word] = [G2pPronunciation(phonemes=p, guessed=False) for p in custom.lookup(word)]
                    continue
                found = await self.run_blocking(pronounce, word, None, message.num_guesses)
                result[word] = [G2pPronunciation(phonemes=p.phones, guessed=p.guessed) for p in found]
        except PronunciationError as err:
            await self.publish(G2pError(error=str(err), site_id=message.site_id, session_id=message.session_id,
                                        context=message.id))
            return
        yield G2pPhonemes(word_phonemes=result, id=message.id, site_id=message.site_id,
                          session_id=message.session_id)

