"""Text to speech: the TTS's voices, and speaking a text (whole, or streamed sentence by sentence)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from hermes.audioserver import AudioToggleOff, AudioToggleOn
from hermes.wav import WavFormatError, convert_pcm, pcm_to_wav, read_wav, streaming_wav_header

from ..http_util import (
    MAX_TEXT_CHARS,
    BridgeHTTPError,
    StreamAborted,
    api_doc,
    bad_request,
    body_text,
    check_text,
    check_volume,
    json_response,
    qbool,
    qfloat,
    qsession,
    wav_response,
)
from ..mesh_client import MeshClient
from ..mesh_error import MeshError
from ..voice_choice import VoiceChoice, VoiceChoiceError, check_voice_name, choose
from .common import get_mesh, get_state, target_site, target_sites

LOG = logging.getLogger("hermesh.bridge.speech")
router = APIRouter(tags=["speech"])


@router.get("/api/tts-voices", **api_doc(
    "Voices of the TTS service", responses={
        "application/json": "[{voiceId, description, languages?, speakers?}]: the installed voices of the "
                            "configured engine"},
    description="Rhasspy's list of {voiceId, description}; Hermesh adds each voice's languages and speakers "
                "where the engine knows them. A voiceId is what POST /api/text-to-speech?voice= takes."))
async def tts_voices(request: Request) -> Response:
    voices = await get_mesh(request).voices(target_site(request))
    return json_response([voice.to_wire() for voice in voices])


async def voice_choice(request: Request, mesh: MeshClient, site: str) -> VoiceChoice:
    """``?voice=`` and ``?language=`` checked against the TTS's voices: a wrong one is 400 naming them.
    ``?speaker=`` is checked for its form here and by the TTS against the voice that speaks."""
    voice = request.query_params.get("voice") or None
    language = request.query_params.get("language") or None
    speaker = request.query_params.get("speaker")
    try:
        speaker = check_voice_name(speaker, "speaker") if speaker is not None else None
        if voice is None and language is None:
            return VoiceChoice(speaker=speaker)
        return dataclasses.replace(choose(await mesh.voices(site), voice, language), speaker=speaker)
    except VoiceChoiceError as err:
        raise bad_request(str(err)) from None


@router.post("/api/text-to-speech", **api_doc(
    "Speak a text on one or more sites", body="text/plain",
    body_description=f"the sentence, at most {MAX_TEXT_CHARS} characters (and the TTS's tts.max_text_chars)",
    responses={"audio/wav": "the synthesised audio of the first site"},
    params=[("siteId", "comma list of sites (default: own)"), ("sessionId", "session id"),
            ("language", "TTS language"),
            ("voice", "a voiceId of GET /api/tts-voices, or a language (Rhasspy's use of it)"),
            ("speaker", "Hermesh: a speaker of the voice (its speakers in GET /api/tts-voices, or an id); "
             "a voice with one speaker ignores it"),
            ("volume", "0..1"), ("play", "false: synthesise without playing"), ("repeat", "true: repeat the last "
             "sentence"), ("sayCharsPerSecond", "speech rate used to size the wait"),
            ("stream", "true: the WAV is sent sentence by sentence as each is made (its length is not known in "
             "advance, so the header says 0xFFFFFFFF); every site speaks at once, each sentence as it is made. "
             "A failure after the first sentence cuts the response short (an incomplete chunked body)")],
    errors={400: "an empty or over-long text (the message names the setting), a voice or language the TTS "
                 "does not have (the message lists its voices), a speaker the voice does not have (the message "
                 "lists its speakers)"},
    description="Always answers the WAV of the first target site (Rhasspy 2.5 sent it only for its own site); "
                "play=false mutes every target site while speaking."))
async def text_to_speech(request: Request) -> Response:
    mesh, state = get_mesh(request), get_state(request)
    sites = target_sites(request)
    if qbool(request, "repeat"):
        if not state.last_spoken:
            raise bad_request("repeat=true but nothing was spoken yet")
        sentence = state.last_spoken
    else:
        sentence = check_text(body_text(await request.body()).strip(), "the text")
        if not sentence:
            raise bad_request("empty body: send the text to speak")
    choice = await voice_choice(request, mesh, sites[0])
    volume = check_volume(qfloat(request, "volume", 1.0), "query parameter volume")
    play = qbool(request, "play", default=True)
    session = qsession(request)
    stream = qbool(request, "stream")
    state.last_spoken = sentence
    if stream:
        return await streamed_speech(mesh, sentence, sites, choice, session, volume, play)
    wavs: list[bytes] = []
    for site in sites:
        if not play:
            await mesh.publish(AudioToggleOff(site_id=site))
        try:
            wavs.append(await mesh.speak(sentence, site, lang=choice.lang, voice=choice.voice,
                                         speaker=choice.speaker, session_id=session, volume=volume,
                                         answer_playback=not play))
        finally:
            if not play:
                await mesh.publish(AudioToggleOn(site_id=site))
    if not wavs[0]:
        raise BridgeHTTPError(503, f"the tts service finished without sending audio to site {sites[0]!r}")
    return wav_response(wavs[0])


async def streamed_speech(mesh: MeshClient, sentence: str, sites: list[str], choice: VoiceChoice,
                          session: str | None, volume: float, play: bool) -> Response:
    """The say's sentences as one WAV (the first site's) sent while it is made. Every site gets its own streamed
    say at once, so each site's audio output plays its sentences back to back as they are made (not after the
    site before it has finished, as the whole-WAV path does). Everything up to the first site's first sentence
    can still be an error status; a failure after it, on any site, is logged once and aborts the body
    (StreamAborted), so the client sees an incomplete response rather than a short WAV that looks whole."""

    @contextlib.asynccontextmanager
    async def spoken(site: str) -> AsyncIterator[AsyncIterator[bytes]]:
        async with contextlib.AsyncExitStack() as site_stack:
            if not play:
                await mesh.publish(AudioToggleOff(site_id=site))
                site_stack.push_async_callback(mesh.publish, AudioToggleOn(site_id=site))
            yield await site_stack.enter_async_context(mesh.speak_stream(
                sentence, site, lang=choice.lang, voice=choice.voice, speaker=choice.speaker, session_id=session,
                volume=volume, answer_playback=not play))

    async def speak_on(site: str) -> None:  # a site besides the first: its sound goes to its speaker only
        async with spoken(site) as sentences:
            async for _ in sentences:
                pass

    async def stop_others() -> None:
        for task in others.values():
            task.cancel()
        await asyncio.gather(*others.values(), return_exceptions=True)

    # Started before the first site's say, so all the says go out together.
    others = {site: asyncio.ensure_future(speak_on(site)) for site in sites[1:]}
    stack = contextlib.AsyncExitStack()
    stack.push_async_callback(stop_others)  # still running when the response ends early: not needed any more
    try:
        sentences = await stack.enter_async_context(spoken(sites[0]))
        first = await anext(sentences, None)
        if first is None:  # nothing speakable (only emoji, only a pause): a WAV without samples
            for task in others.values():
                await task  # a failure on another site is still this request's error status
            await stack.aclose()
            return wav_response(pcm_to_wav(b"", 22050))
        info, _ = read_wav(first)
    except WavFormatError as err:
        await stack.aclose()
        raise BridgeHTTPError(502, f"the TTS sent unusable audio: {err}") from err
    except BaseException:
        await stack.aclose()
        raise

    def pcm(wav: bytes) -> bytes:  # every sentence in the first one's format (the header is sent once)
        part, frames = read_wav(wav)
        return convert_pcm(frames, part.rate, part.width, part.channels, to_rate=info.rate, to_channels=info.channels)

    async def body() -> AsyncIterator[bytes]:
        site, sent = sites[0], 1
        try:
            yield streaming_wav_header(info.rate, 2, info.channels)
            yield pcm(first)
            async for wav in sentences:
                yield pcm(wav)
                sent += 1
            for site, task in others.items():  # noqa: B007 - the site is named if its say fails
                await task
        except (MeshError, WavFormatError) as err:
            LOG.warning("streamed speech on site %s failed after %d sentence(s) of the response were sent; the "
                        "response is cut short so the client sees it incomplete: %s", site, sent, err)
            raise StreamAborted(f"site {site}: {err}") from err
        finally:
            await stack.aclose()

    return StreamingResponse(body(), media_type="audio/wav")
