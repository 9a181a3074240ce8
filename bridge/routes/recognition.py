"""Recognition and speech: text/speech to intent, speech to text, listen for command, recordings, TTS."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioToggleOff, AudioToggleOn
from hermes.base import describe_validation_error
from hermes.dialogue import (
    DialogueAction,
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
    DialogueStartSession,
)
from hermes.errors import AsrError, DialogueError, NluError
from hermes.handle import HandleToggleOff, HandleToggleOn
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized, Slot
from hermes.rhasspy_json import intent_to_rhasspy, not_recognized_to_rhasspy
from hermes.tts import GetVoices, Voices
from hermes.wav import WavFormatError, to_pcm16k_mono

from ..http_util import (
    MAX_TEXT_CHARS,
    BridgeHTTPError,
    api_doc,
    bad_request,
    body_text,
    check_site_id,
    check_text,
    check_volume,
    json_response,
    prefers_json,
    qbool,
    qfloat,
    qlevel,
    qlist,
    qsession,
    qtimeout,
    request_json,
    text,
    wav_response,
)
from ..mesh import Recognition, ServiceUnavailable, first_reply, new_id, recognize_text, speak, transcribe_pcm
from .common import default_site, get_bridge, get_principal, require_admin, target_site, target_sites

router = APIRouter(tags=["recognition"])

INTENT_PARAMS = [
    ("nohass", "true: do not let intent handlers (Home Assistant) act on the intent"),
    ("outputFormat", "rhasspy (default) or hermes"),
    ("intentFilter", "comma list of intent names to consider"),
    ("entity", "name of one extra slot added to a recognised intent"),
    ("value", "value of that extra slot"),
]
INTENT_RESPONSE = {"application/json": "Rhasspy intent dict, or {type, value} with outputFormat=hermes"}


@contextlib.asynccontextmanager
async def handling_off(request: Request, site: str) -> AsyncIterator[None]:
    """``nohass=true``: switch intent handling off for the site around the recognition."""
    if not qbool(request, "nohass"):
        yield
        return
    bridge = get_bridge(request)
    await bridge.publish(HandleToggleOff(site_id=site))
    try:
        yield
    finally:
        await bridge.publish(HandleToggleOn(site_id=site))


def user_entity(request: Request) -> tuple[str, str] | None:
    entity, value = request.query_params.get("entity"), request.query_params.get("value")
    if entity and value is not None:
        return entity, value
    return None


def with_entity(intent: NluIntent, entity: tuple[str, str] | None) -> NluIntent:
    if entity is None:
        return intent
    name, value = entity
    slot = Slot(entity=name, value={"value": value}, slot_name=name, raw_value=value, confidence=0.0)
    return intent.model_copy(update={"slots": [*(intent.slots or []), slot]})


def intent_response(request: Request, recognition: Recognition, *, raw_text: str | None,
                    speech_confidence: float | None, extras: bool = True, add_entity: bool = True) -> Response:
    result = recognition.result
    if isinstance(result, NluIntent) and add_entity:
        result = with_entity(result, user_entity(request))
    if request.query_params.get("outputFormat", "rhasspy").lower() == "hermes":
        kind = "intent" if isinstance(result, NluIntent) else "intentNotRecognized"
        return json_response({"type": kind, "value": result.to_wire()})
    if isinstance(result, NluIntent):
        data = intent_to_rhasspy(result, raw_text=raw_text)
    else:
        data = not_recognized_to_rhasspy(result)
        if raw_text is not None:
            data["raw_text"] = raw_text
    if extras:
        data["speech_confidence"] = speech_confidence
        data["recognize_seconds"] = recognition.seconds
    return json_response(data)


def audio_body(request: Request, body: bytes) -> bytes:
    """16 kHz 16-bit mono PCM from a WAV body, or the raw PCM itself with ``noheader=true``."""
    if not body:
        raise bad_request("empty body: send a WAV file (or raw 16 kHz 16-bit mono PCM with noheader=true)")
    if qbool(request, "noheader"):
        if len(body) % 2:
            raise bad_request("noheader=true: the body must be 16-bit PCM (an even number of bytes)")
        return body
    try:
        return to_pcm16k_mono(body)
    except WavFormatError as err:
        raise bad_request(f"the body is not a WAV file: {err} (use noheader=true for raw PCM)") from err


@router.post("/api/text-to-intent", **api_doc(
    "Recognise the intent of a text", body="text/plain",
    body_description=f"the command, UTF-8, at most {MAX_TEXT_CHARS} characters",
    responses=INTENT_RESPONSE, params=[*INTENT_PARAMS, ("siteId", "site of the query (default: own site)")]))
async def text_to_intent(request: Request) -> Response:
    text_in = check_text(body_text(await request.body()).strip(), "the text")
    site = target_site(request)
    bridge = get_bridge(request)
    async with handling_off(request, site):
        recognition = await recognize_text(bridge, text_in, site, intent_filter=qlist(request, "intentFilter"))
    return intent_response(request, recognition, raw_text=text_in, speech_confidence=1.0)


def transcription_response(request: Request, captured: AsrTextCaptured, seconds: float, wav_seconds: float) -> Response:
    if request.query_params.get("outputFormat", "").lower() == "hermes":
        return json_response({"type": "textCaptured", "value": captured.to_wire()})
    if prefers_json(request):
        return json_response({"text": captured.text, "likelihood": captured.likelihood,
                              "transcribe_seconds": seconds, "wav_seconds": wav_seconds})
    return text(captured.text)


@router.post("/api/speech-to-text", **api_doc(
    "Transcribe a WAV file", body="audio/wav", body_description="WAV (any rate; 16 kHz mono preferred)",
    responses={"text/plain": "the transcription", "application/json": "with Accept: application/json or "
               "outputFormat=hermes"},
    params=[("noheader", "true: the body is raw 16 kHz 16-bit mono PCM"), ("outputFormat", "hermes"),
            ("detectSilence", "true: stop at the end of speech"), ("siteId", "site (default: own site)")]))
async def speech_to_text(request: Request) -> Response:
    pcm = audio_body(request, await request.body())
    site = target_site(request)
    result = await transcribe_pcm(get_bridge(request), pcm, site, stop_on_silence=qbool(request, "detectSilence"))
    return transcription_response(request, result.captured, result.seconds, result.wav_seconds)


@router.post("/api/speech-to-intent", **api_doc(
    "Transcribe a WAV file and recognise its intent", body="audio/wav", responses=INTENT_RESPONSE,
    params=[*INTENT_PARAMS, ("detectSilence", "true: stop at the end of speech"),
            ("noheader", "true: raw 16 kHz 16-bit mono PCM"), ("siteId", "site (default: own site)")]))
async def speech_to_intent(request: Request) -> Response:
    pcm = audio_body(request, await request.body())
    site = target_site(request)
    bridge = get_bridge(request)
    intent_filter = qlist(request, "intentFilter")
    async with handling_off(request, site):
        heard = await transcribe_pcm(bridge, pcm, site, stop_on_silence=qbool(request, "detectSilence"),
                                     intent_filter=intent_filter)
        # the NLU half under the ASR half's sessionId: a monitor follows the request as one session
        recognition = await recognize_text(bridge, heard.captured.text, site, intent_filter=intent_filter,
                                           asr_confidence=heard.captured.likelihood,
                                           session_id=heard.captured.session_id)
    return intent_response(request, recognition, raw_text=heard.captured.text,
                           speech_confidence=heard.captured.likelihood)


@router.post("/api/listen-for-command", **api_doc(
    "Wake the site up and return the intent of the next voice command", responses=INTENT_RESPONSE,
    params=[*INTENT_PARAMS, ("siteId", "site"), ("sessionId", "dialogue session id to use"),
            ("modelId", "wake word id (default 'default')"), ("lang", "language"),
            ("timeout", "seconds to wait (default bridge.reply_timeout; more than 0, at most 3600)")],
    description="Needs the dialogue manager. Repeated entity=..&value=.. pairs become custom entities. "
                "intentFilter and timeout are honoured (Rhasspy 2.5 ignored them)."))
async def listen_for_command(request: Request) -> Response:
    bridge = get_bridge(request)
    site = target_site(request)
    session_id = qsession(request)
    model_id = qlevel(request, "modelId", "default")
    lang = request.query_params.get("lang") or None
    intent_filter = qlist(request, "intentFilter")
    timeout = qtimeout(request, "timeout", bridge.settings.reply_timeout)
    entities = request.query_params.getlist("entity")
    values = request.query_params.getlist("value")
    if len(entities) != len(values):
        raise bad_request(f"{len(entities)} entity parameter(s) but {len(values)} value parameter(s)")
    custom = dict(zip(entities, values, strict=True)) or None
    known: dict[str, str | None] = {"session": session_id}

    def ours(m: Any) -> bool:
        if m.site_id != site:
            return False
        return known["session"] is None or m.session_id == known["session"]

    started = bridge.expect(DialogueSessionStarted, match=lambda m: m.site_id == site and (
        session_id is None or m.session_id == session_id))
    await bridge.subscribe_extra(DialogueSessionStarted.subscribe_filter())

    async def learn_session() -> None:
        with contextlib.suppress(Exception):
            message = await started.wait(timeout, "dialogue")
            known["session"] = known["session"] or message.session_id

    learner = asyncio.create_task(learn_session())
    if intent_filter:
        trigger: Any = DialogueStartSession(
            init=DialogueAction(can_be_enqueued=False, intent_filter=intent_filter, send_intent_not_recognized=True),
            site_id=site, lang=lang)
    else:
        trigger = HotwordDetected(wakeword_id=model_id, model_id=model_id, site_id=site, session_id=session_id,
                                  lang=lang, custom_entities=custom, current_sensitivity=1.0)
    begin = time.perf_counter()
    try:
        async with handling_off(request, site):
            reply = await first_reply(
                bridge, [trigger],
                [(NluIntent, ours), (NluIntentNotRecognized, ours),
                 (NluError, lambda m: m.site_id == site and known["session"] in (None, m.session_id)),
                 (DialogueError, lambda m: m.site_id == site),
                 # the session can end first: a service it waited on went away, or it timed out
                 (DialogueSessionEnded, lambda m: known["session"] is not None and m.session_id == known["session"])],
                service="dialogue", timeout=timeout)
    except ServiceUnavailable:
        if not bridge.registry.online("dialogue"):
            raise
        # The dialogue is there; nobody spoke a command within the client's timeout. That is "nothing
        # recognised" (as a silent utterance is), not a missing service; the session it opened is ended.
        if known["session"]:
            await bridge.publish(DialogueEndSession(session_id=known["session"]))
        reply = NluIntentNotRecognized(input="", site_id=site, session_id=known["session"])
    finally:
        learner.cancel()
        started.cancel()
    if isinstance(reply, DialogueSessionEnded):
        if reply.termination.reason == "error":
            raise ServiceUnavailable(f"the dialogue session ended with an error: {reply.termination.error or '?'}")
        reply = NluIntentNotRecognized(input="", site_id=site, session_id=reply.session_id)
    assert isinstance(reply, NluIntent | NluIntentNotRecognized)
    return intent_response(request, Recognition(reply, time.perf_counter() - begin), raw_text=None,
                           speech_confidence=None, extras=False, add_entity=False)


@router.post("/api/start-recording", **api_doc(
    "Start recording a voice command from the site's live audio", responses={"text/plain": "the session id"},
    params=[("name", "label to stop it by (default '')")]))
async def start_recording(request: Request) -> Response:
    require_admin(request, "start-recording")
    bridge = get_bridge(request)
    name = request.query_params.get("name", "")
    site = default_site(request)
    session = new_id()
    await bridge.publish(AsrStartListening(site_id=site, session_id=session, stop_on_silence=False,
                                           send_audio_captured=True))
    bridge.recordings[name] = (site, session)
    return text(session)


@router.post("/api/stop-recording", **api_doc(
    "Stop a recording and recognise its intent", responses=INTENT_RESPONSE,
    params=[("name", "label given to start-recording"), *INTENT_PARAMS],
    errors={404: "no recording of that name was started"}))
async def stop_recording(request: Request) -> Response:
    require_admin(request, "stop-recording")
    bridge = get_bridge(request)
    name = request.query_params.get("name", "")
    if name not in bridge.recordings:
        raise BridgeHTTPError(404, f"no recording named {name!r} was started (POST /api/start-recording?name=...)")
    site, session = bridge.recordings.pop(name)
    reply = await first_reply(
        bridge, [AsrStopListening(site_id=site, session_id=session)],
        [(AsrTextCaptured, lambda m: m.session_id == session), (AsrError, lambda m: m.session_id == session)],
        service="asr", timeout=bridge.settings.reply_timeout)
    assert isinstance(reply, AsrTextCaptured)
    async with handling_off(request, site):
        recognition = await recognize_text(bridge, reply.text, site)
    return intent_response(request, recognition, raw_text=reply.text, speech_confidence=reply.likelihood)


async def check_voice(bridge: Any, site: str, voice: str) -> None:
    """A voice or language the TTS does not have is the client's mistake (400), not the TTS failing (502).
    Matched as espeak-ng does: case-insensitively, a region variant by its language ("en-GB" -> "en")."""
    request_id = new_id()
    try:
        reply = await first_reply(bridge, [GetVoices(site_id=site, id=request_id)],
                                  [(Voices, lambda m: m.id == request_id)], service="tts",
                                  timeout=bridge.settings.reply_timeout)
    except ServiceUnavailable:
        return  # the speaking below reports the missing TTS
    assert isinstance(reply, Voices)
    known = {v.voice_id.lower() for v in reply.voices}
    wanted = voice.lower()
    if known and wanted not in known and wanted.split("-")[0] not in known:
        some = ", ".join(sorted(known)[:12])
        raise bad_request(f"the TTS has no voice or language {voice[:40]!r} (GET /api/tts-voices lists them: {some}, ...)")


@router.post("/api/text-to-speech", **api_doc(
    "Speak a text on one or more sites", body="text/plain",
    body_description=f"the sentence, at most {MAX_TEXT_CHARS} characters",
    responses={"audio/wav": "the synthesised audio of the first site"},
    params=[("siteId", "comma list of sites (default: own)"), ("sessionId", "session id"),
            ("language", "TTS language"), ("voice", "TTS voice (used as language when language is absent)"),
            ("volume", "0..1"), ("play", "false: synthesise without playing"), ("repeat", "true: repeat the last "
             "sentence"), ("sayCharsPerSecond", "speech rate used to size the wait")],
    description="Always answers the WAV of the first target site (Rhasspy 2.5 sent it only for its own site); "
                "play=false mutes every target site while speaking."))
async def text_to_speech(request: Request) -> Response:
    bridge = get_bridge(request)
    sites = target_sites(request)
    if qbool(request, "repeat"):
        if not bridge.last_spoken:
            raise bad_request("repeat=true but nothing was spoken yet")
        sentence = bridge.last_spoken
    else:
        sentence = check_text(body_text(await request.body()).strip(), "the text")
        if not sentence:
            raise bad_request("empty body: send the text to speak")
    bridge.last_spoken = sentence
    lang = request.query_params.get("language") or request.query_params.get("voice") or None
    if lang:
        await check_voice(bridge, sites[0], lang)
    volume = check_volume(qfloat(request, "volume", 1.0), "query parameter volume")
    play = qbool(request, "play", default=True)
    session = qsession(request)
    wavs: list[bytes] = []
    for site in sites:
        if not play:
            await bridge.publish(AudioToggleOff(site_id=site))
        try:
            wavs.append(await speak(bridge, sentence, site, lang=lang, session_id=session, volume=volume,
                                    muted=not play))
        finally:
            if not play:
                await bridge.publish(AudioToggleOn(site_id=site))
    if not wavs[0]:
        raise ServiceUnavailable(f"the tts service finished without sending audio to site {sites[0]!r}")
    return wav_response(wavs[0])


@router.post("/api/handle-intent", **api_doc(
    "Publish an intent so the intent handlers act on it", body="application/json",
    body_description="a Hermes NluIntent", responses={"text/plain": "OK"},
    description="Published to hermes/intent/<intentName> (Rhasspy 2.5 published nothing)."))
async def handle_intent(request: Request) -> Response:
    data = await request_json(request, "the intent")
    if not isinstance(data, dict):
        raise bad_request("the intent must be a JSON object (a Hermes NluIntent)")
    data.setdefault("siteId", default_site(request))
    check_site_id(data["siteId"])
    try:
        intent = NluIntent.model_validate(data)
    except ValidationError as err:
        raise bad_request(f"not a Hermes NluIntent: {describe_validation_error(err)}") from err
    if not intent.intent.intent_name or any(c in intent.intent.intent_name for c in "+#"):
        raise bad_request("intent.intentName must be a non-empty name without MQTT wildcards")
    get_principal(request).check_site(intent.site_id)
    await get_bridge(request).publish(intent)
    return text("OK")
