"""Recognition: text/speech to intent, speech to text, listen for command, recordings (TTS: speech.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.base import describe_validation_error
from hermes.errors import AsrError
from hermes.nlu import NluIntent, Slot
from hermes.rhasspy_json import intent_to_rhasspy, not_recognized_to_rhasspy
from hermes.wav import WavFormatError, pcm_to_wav, to_pcm16k_mono

from ..http_util import (
    MAX_TEXT_CHARS,
    BridgeHTTPError,
    api_doc,
    bad_request,
    body_text,
    check_site_id,
    check_text,
    json_response,
    prefers_json,
    qbool,
    qlevel,
    qlist,
    qsession,
    qtimeout,
    request_json,
    text,
)
from ..mesh_client import Recognition, new_id
from .common import (
    default_site,
    get_bridge,
    get_mesh,
    get_principal,
    get_state,
    require_admin,
    target_site,
)

router = APIRouter(tags=["recognition"])

INTENT_PARAMS = [
    ("nohass", "true: do not let intent handlers (Home Assistant) act on the intent"),
    ("outputFormat", "rhasspy (default) or hermes"),
    ("intentFilter", "comma list of intent names to consider"),
    ("entity", "name of one extra slot added to a recognised intent"),
    ("value", "value of that extra slot"),
]
INTENT_RESPONSE = {"application/json": "Rhasspy intent dict, or {type, value} with outputFormat=hermes"}


def handling_off(request: Request, site: str) -> Any:
    """``nohass=true``: switch intent handling off for the site around the recognition."""
    return get_mesh(request).handling_off(site, qbool(request, "nohass"))


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
                    speech_confidence: float | None, extras: bool = True, add_entity: bool = True,
                    speech_source: str | None = None) -> Response:
    """``speech_source``: textCaptured's ``source`` (which path of a hybrid ASR gave the text). It goes in the
    Rhasspy JSON as one more HTTP extra beside ``speech_confidence``, and only when the ASR said it, so a Rhasspy
    client sees the same keys as ever from every other engine; the Hermes format is the NluIntent as it is."""
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
        if speech_source is not None:
            data["speech_source"] = speech_source
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
    async with handling_off(request, site):
        recognition = await get_mesh(request).recognize_text(text_in, site, intent_filter=qlist(request, "intentFilter"))
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
    get_state(request).last_recording = pcm_to_wav(pcm)
    result = await get_mesh(request).transcribe(pcm, site, stop_on_silence=qbool(request, "detectSilence"))
    return transcription_response(request, result.captured, result.seconds, result.wav_seconds)


@router.post("/api/speech-to-intent", **api_doc(
    "Transcribe a WAV file and recognise its intent", body="audio/wav", responses=INTENT_RESPONSE,
    params=[*INTENT_PARAMS, ("detectSilence", "true: stop at the end of speech"),
            ("noheader", "true: raw 16 kHz 16-bit mono PCM"), ("siteId", "site (default: own site)")]))
async def speech_to_intent(request: Request) -> Response:
    pcm = audio_body(request, await request.body())
    site = target_site(request)
    get_state(request).last_recording = pcm_to_wav(pcm)
    async with handling_off(request, site):
        heard, recognition = await get_mesh(request).speech_to_intent(
            pcm, site, stop_on_silence=qbool(request, "detectSilence"), intent_filter=qlist(request, "intentFilter"))
    return intent_response(request, recognition, raw_text=heard.captured.text,
                           speech_confidence=heard.captured.likelihood, speech_source=heard.captured.source)


@router.post("/api/listen-for-command", **api_doc(
    "Wake the site up and return the intent of the next voice command", responses=INTENT_RESPONSE,
    params=[*INTENT_PARAMS, ("siteId", "site"), ("sessionId", "dialogue session id to use"),
            ("modelId", "wake word id (default 'default')"), ("lang", "language"),
            ("timeout", "seconds to wait (default bridge.reply_timeout; more than 0, at most 3600)")],
    description="Needs the dialogue manager. Repeated entity=..&value=.. pairs become custom entities. "
                "intentFilter and timeout are honoured (Rhasspy 2.5 ignored them)."))
async def listen_for_command(request: Request) -> Response:
    mesh = get_mesh(request)
    site = target_site(request)
    session_id = qsession(request)
    model_id = qlevel(request, "modelId", "default")
    lang = request.query_params.get("lang") or None
    timeout = qtimeout(request, "timeout", get_bridge(request).settings.reply_timeout)
    entities = request.query_params.getlist("entity")
    values = request.query_params.getlist("value")
    if len(entities) != len(values):
        raise bad_request(f"{len(entities)} entity parameter(s) but {len(values)} value parameter(s)")
    custom = dict(zip(entities, values, strict=True)) or None
    begin = time.perf_counter()
    async with handling_off(request, site):
        reply = await mesh.listen_for_command(site, session_id=session_id, model_id=model_id, lang=lang,
                                              intent_filter=qlist(request, "intentFilter"), custom_entities=custom,
                                              timeout=timeout)
    return intent_response(request, Recognition(reply, time.perf_counter() - begin), raw_text=None,
                           speech_confidence=None, extras=False, add_entity=False)


@router.post("/api/start-recording", **api_doc(
    "Start recording a voice command from the site's live audio", responses={"text/plain": "the session id"},
    params=[("name", "label to stop it by (default '')")]))
async def start_recording(request: Request) -> Response:
    require_admin(request, "start-recording")
    name = request.query_params.get("name", "")
    site = default_site(request)
    session = new_id()
    # The one request that wants the audio back: the bridge holds none of a live recording.
    await get_mesh(request).publish(AsrStartListening(site_id=site, session_id=session, stop_on_silence=False,
                                                      send_audio_captured=True))
    get_state(request).recordings[name] = (site, session)
    return text(session)


@router.post("/api/stop-recording", **api_doc(
    "Stop a recording and recognise its intent", responses=INTENT_RESPONSE,
    params=[("name", "label given to start-recording"), *INTENT_PARAMS],
    errors={404: "no recording of that name was started"}))
async def stop_recording(request: Request) -> Response:
    require_admin(request, "stop-recording")
    mesh, recordings = get_mesh(request), get_state(request).recordings
    name = request.query_params.get("name", "")
    if name not in recordings:
        raise BridgeHTTPError(404, f"no recording named {name!r} was started (POST /api/start-recording?name=...)")
    site, session = recordings.pop(name)
    reply = await mesh.ask(
        [AsrStopListening(site_id=site, session_id=session)],
        [(AsrTextCaptured, lambda m: m.session_id == session), (AsrError, lambda m: m.session_id == session)],
        service="asr")
    assert isinstance(reply, AsrTextCaptured)
    async with handling_off(request, site):
        recognition = await mesh.recognize_text(reply.text, site)
    return intent_response(request, recognition, raw_text=reply.text, speech_confidence=reply.likelihood,
                           speech_source=reply.source)


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
    await get_mesh(request).publish(intent)
    return text("OK")
