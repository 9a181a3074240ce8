"""Request/response over the broker: publish Hermes messages and await the correlated reply, bounded.

Each call names the service that should answer, so a missing service gives "no reply from the nlu service
within 30 s (is `hermesh nlu` running?)" instead of a hang, and a service whose status topic says offline
fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioPlayBytes, AudioPlayFinished, AudioSessionFrame
from hermes.base import HermesMessage
from hermes.common import HermesErrorMessage
from hermes.errors import AsrError, AudioPlayError, NluError, TtsError
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import WavFormatError, pcm_to_wav, wav_chunks, wav_info
from services.runtime import ServiceError

from .http_util import BridgeHTTPError

if TYPE_CHECKING:
    from .service import BridgeService

SESSION_FRAME_SAMPLES = 4096  # Rhasspy's speech-to-text sends WAV chunks of 4096 frames


class ServiceUnavailable(BridgeHTTPError):
    def __init__(self, message: str) -> None:
        super().__init__(503, message)


class ServiceFailed(BridgeHTTPError):
    """The service answered with a hermes/error message."""

    def __init__(self, service: str, error: str) -> None:
        super().__init__(502, f"{service}: {error}")


def new_id() -> str:
    return str(uuid.uuid4())


Reply = tuple[type[HermesMessage], Callable[[Any], bool]]


async def publish_in_order(bridge: BridgeService, messages: Sequence[HermesMessage]) -> None:
    """Publish ``messages`` in order, the middle ones without waiting for each to be written: a request's
    audioSessionFrames (24 for a 6 s command) cost a loop round trip each when awaited one by one, about 40 ms
    of a 160 ms /api/speech-to-intent. The MQTT client queues them in the order they are handed over, and the
    tasks of one gather start in order; the first and the last message are still sent on their own."""
    if len(messages) <= 2:
        for message in messages:
            await bridge.publish(message)
        return
    await bridge.publish(messages[0])
    await asyncio.gather(*(bridge.publish(message) for message in messages[1:-1]))
    await bridge.publish(messages[-1])


async def first_reply(
    bridge: BridgeService,
    messages: Sequence[HermesMessage],
    replies: Sequence[Reply],
    *,
    service: str,
    timeout: float,
) -> HermesMessage:
    """Publish ``messages`` in order and return the first message matching one of ``replies``."""
    await bridge.await_service(service)
    bridge.check_service(service)
    # Registered with the provider, so the service going offline (bridge.on_status) or the broker connection
    # dropping ends these waits at once with a ServiceError, which becomes the 503 below.
    expectations = [bridge.expect(cls, match=match, provider=service) for cls, match in replies]
    waits = [asyncio.ensure_future(exp.wait(timeout, service)) for exp in expectations]
    try:
        for cls, _ in replies:
            await bridge.subscribe_extra(cls.subscribe_filter())
        await publish_in_order(bridge, messages)
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            if task in done and not task.exception():
                result: HermesMessage = task.result()
                break
        else:
            for task in done:  # the service went offline or the broker went away: say that, not "no reply"
                failure = task.exception()
                if isinstance(failure, ServiceError) and not isinstance(failure, TimeoutError):
                    raise failure
            raise ServiceUnavailable(
                f"no reply from the {service} service within {timeout:g} s (is `hermesh {service}` running? "
                f"{bridge.describe_service(service)})"
            )
    except ServiceError as err:
        raise ServiceUnavailable(str(err)) from err
    finally:
        for task in waits:
            task.cancel()
        for exp in expectations:
            exp.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    if isinstance(result, HermesErrorMessage):
        raise ServiceFailed(service, result.error)
    return result


# ---- recognition --------------------------------------------------------------------------------------------
@dataclass
class Recognition:
    result: NluIntent | NluIntentNotRecognized
    seconds: float


async def recognize_text(
    bridge: BridgeService,
    text: str,
    site_id: str,
    *,
    intent_filter: list[str] | None = None,
    session_id: str | None = None,
    wakeword_id: str | None = None,
    lang: str | None = None,
    asr_confidence: float | None = None,
) -> Recognition:
    """hermes/nlu/query -> hermes/intent/<name> | intentNotRecognized | hermes/error/nlu, matched by sessionId."""
    query_id = new_id()
    session = session_id or query_id
    query = NluQuery(input=text, site_id=site_id, id=query_id, session_id=session, intent_filter=intent_filter,
                     wakeword_id=wakeword_id, lang=lang, asr_confidence=asr_confidence)

    def same(m: Any) -> bool:
        return bool(m.session_id == session)

    started = time.perf_counter()
    reply = await first_reply(
        bridge, [query],
        [(NluIntent, same), (NluIntentNotRecognized, same), (NluError, lambda m: m.session_id == session or m.context == query_id)],
        service="nlu", timeout=bridge.settings.reply_timeout,
    )
    assert isinstance(reply, NluIntent | NluIntentNotRecognized)
    return Recognition(reply, time.perf_counter() - started)


@dataclass
class Transcription:
    captured: AsrTextCaptured
    seconds: float
    wav_seconds: float


async def transcribe_pcm(
    bridge: BridgeService,
    pcm: bytes,
    site_id: str,
    *,
    stop_on_silence: bool = False,
    intent_filter: list[str] | None = None,
) -> Transcription:
    """Rhasspy's speech-to-text sequence: startListening, audioSessionFrames, stopListening -> textCaptured.

    The bridge keeps the posted audio as the last recording itself; asking the ASR for it back (audioCaptured)
    would only send the whole utterance over the broker once more."""
    session = new_id()
    frames: list[HermesMessage] = [
        AsrStartListening(site_id=site_id, session_id=session, stop_on_silence=stop_on_silence,
                          send_audio_captured=False, intent_filter=intent_filter)
    ]
    frames += [AudioSessionFrame(site_id=site_id, session_id=session, wav_bytes=chunk)
               for chunk in wav_chunks(pcm, SESSION_FRAME_SAMPLES)]
    frames.append(AsrStopListening(site_id=site_id, session_id=session))
    bridge.remember_recording(pcm_to_wav(pcm))
    started = time.perf_counter()
    reply = await first_reply(
        bridge, frames,
        [(AsrTextCaptured, lambda m: m.session_id == session), (AsrError, lambda m: m.session_id == session)],
        service="asr", timeout=bridge.settings.reply_timeout + len(pcm) / 32000,
    )
    assert isinstance(reply, AsrTextCaptured)
    return Transcription(reply, time.perf_counter() - started, len(pcm) / 32000)


# ---- speech -------------------------------------------------------------------------------------------------
async def speak(
    bridge: BridgeService,
    text: str,
    site_id: str,
    *,
    lang: str | None = None,
    session_id: str | None = None,
    volume: float | None = None,
    muted: bool = False,
) -> bytes:
    """hermes/tts/say -> the site's playBytes (captured) and sayFinished (or hermes/error/tts). Returns the WAV.

    ``muted``: the site's output is toggled off, so the bridge itself reports playFinished for the sound (the
    TTS then finishes at once, even on a site without any audio output).
    """
    say_id = new_id()
    timeout = max(bridge.settings.reply_timeout, len(text) / bridge.settings.say_chars_per_second)
    audio = bridge.expect(AudioPlayBytes, match=lambda m: m.site_id == site_id and m.request_id == say_id)
    await bridge.subscribe_extra(AudioPlayBytes.subscribe_filter(site_id=site_id))
    captured: dict[str, bytes] = {}

    async def capture() -> None:
        played = await audio.wait(timeout, "tts")
        captured["wav"] = played.wav_bytes
        if muted:
            await bridge.publish(AudioPlayFinished(site_id=site_id, id=say_id))

    capturing = asyncio.create_task(capture())
    try:
        await first_reply(
            bridge, [TtsSay(text=text, site_id=site_id, lang=lang, id=say_id, session_id=session_id, volume=volume)],
            [(TtsSayFinished, lambda m: m.id == say_id), (TtsError, lambda m: m.context == say_id)],
            service="tts", timeout=timeout,
        )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(capturing), 1.0)
        return captured.get("wav", b"")
    finally:
        capturing.cancel()
        audio.cancel()
        await asyncio.gather(capturing, return_exceptions=True)


async def play_wav(bridge: BridgeService, wav: bytes, site_id: str) -> None:
    """playBytes on a site and wait for its playFinished (or hermes/error/audioServer/play)."""
    request_id = new_id()
    try:
        duration = wav_info(wav).seconds
    except WavFormatError as err:
        raise BridgeHTTPError(400, str(err)) from err
    await first_reply(
        bridge, [AudioPlayBytes(site_id=site_id, request_id=request_id, wav_bytes=wav)],
        [(AudioPlayFinished, lambda m: m.id == request_id and m.site_id == site_id),
         (AudioPlayError, lambda m: m.site_id == site_id)],
        service="audio-output", timeout=bridge.settings.reply_timeout + duration,
    )
