"""Audio devices, wake words, voices, playback, volume, pronunciations."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hermes.asr import AsrToggleOff, AsrToggleOn
from hermes.audioserver import (
    MAX_TEST_SECONDS,
    AudioDeviceMode,
    AudioDevices,
    AudioGetDevices,
    AudioSetVolume,
    SummaryToggleOff,
    SummaryToggleOn,
)
from hermes.common import ToggleReason
from hermes.errors import G2pError
from hermes.g2p import G2pPhonemes, G2pPronounce
from hermes.hotword import GetHotwords, Hotwords, HotwordToggleOff, HotwordToggleOn
from hermes.wav import WavFormatError, pcm_to_wav, wav_info

from ..http_util import (
    BridgeHTTPError,
    api_doc,
    bad_request,
    body_text,
    json_response,
    qbool,
    qfloat,
    qint,
    text,
    wav_response,
)
from ..mesh_client import new_id
from ..profile_files import ProfileFileError, safe_path
from .common import get_bridge, get_mesh, get_state, require_admin, target_sites

router = APIRouter(tags=["devices"])


async def devices(request: Request, mode: AudioDeviceMode, test: bool) -> Response:
    return json_response(await listed_devices(request, mode, test))


async def listed_devices(request: Request, mode: AudioDeviceMode, test: bool) -> dict[str, str]:
    require_admin(request, "listing audio devices")
    bridge = get_bridge(request)
    site = bridge.common.own_site_id
    request_id = new_id()
    service = "audio-input" if mode == AudioDeviceMode.INPUT else "audio-output"
    reply = await get_mesh(request).ask(
        [AudioGetDevices(modes=[mode], site_id=site, id=request_id, test=test)],
        [(AudioDevices, lambda m: m.id == request_id)], service=service)
    assert isinstance(reply, AudioDevices)
    result: dict[str, str] = {}
    for device in reply.devices:
        description = device.description or device.name or device.id
        if device.name and device.description and device.name not in device.description:
            description = f"{device.name}: {device.description}"  # "pulse: ALSA, ...": which one it is
        if test and device.working:
            description += " (working!)"
        result[device.id] = description
    return result


@router.get("/api/microphones", **api_doc("Microphones of the own site", responses={"application/json":
                                                                                     "{deviceId: description}"}))
async def microphones(request: Request) -> Response:
    return await devices(request, AudioDeviceMode.INPUT, False)


@router.get("/api/test-microphones", **api_doc("Microphones, tested", responses={
    "application/json": "{deviceId: description}, ' (working!)' appended to working ones"}))
async def test_microphones(request: Request) -> Response:
    return await devices(request, AudioDeviceMode.INPUT, True)


@router.get("/api/speakers", **api_doc("Speakers of the own site", responses={"application/json":
                                                                               "{deviceId: description}"}))
async def speakers(request: Request) -> Response:
    return await devices(request, AudioDeviceMode.OUTPUT, False)


async def listed_device(request: Request, mode: AudioDeviceMode) -> str:
    """The ``device`` query parameter, checked against the devices the own site lists (400 naming them)."""
    kind = "microphone" if mode == AudioDeviceMode.INPUT else "speaker"
    device = request.query_params.get("device", "").strip()
    known = await listed_devices(request, mode, False)
    if device not in known:
        site = get_bridge(request).common.own_site_id
        choices = ", ".join(f"{key} ({value})" for key, value in known.items()) or "none"
        problem = f"{device!r} is not a {kind} of site {site}" if device else "query parameter device is missing"
        raise bad_request(f"{problem}; {kind}s of site {site}: {choices}")
    return device


@router.post("/api/test-microphone", **api_doc(
    "Record from one microphone of the own site", responses={"audio/wav": "what it recorded, 16 kHz mono"},
    params=[("device", "a device id of /api/microphones"),
            ("seconds", f"how long, more than 0 and at most {MAX_TEST_SECONDS:g} (default 3)")],
    description="Hermesh's device test for the web UI (Rhasspy's /api/test-microphones only says whether each "
                "microphone hears something).", errors={400: "unknown device, or seconds out of range"}))
async def test_microphone(request: Request) -> Response:
    require_admin(request, "testing a microphone")
    seconds = qfloat(request, "seconds", 3.0)
    if not 0.0 < seconds <= MAX_TEST_SECONDS:
        raise bad_request(f"seconds must be more than 0 and at most {MAX_TEST_SECONDS:g}, not {seconds:g}")
    device = await listed_device(request, AudioDeviceMode.INPUT)
    site = get_bridge(request).common.own_site_id
    wav = await get_mesh(request).record_test(site, device, seconds)
    return wav_response(wav, "microphone-test.wav")


@router.post("/api/test-speaker", **api_doc(
    "Play a WAV on one speaker of the own site", body="audio/wav", body_description="the sound to play",
    responses={"text/plain": "OK, once played"}, params=[("device", "a device id of /api/speakers")],
    description="Hermesh's device test for the web UI: wake word and ASR are off while it plays, as for "
                "/api/play-wav.", errors={400: "unknown device, or the body is not a WAV file"}))
async def test_speaker(request: Request) -> Response:
    require_admin(request, "testing a speaker")
    wav = await request.body()
    try:
        wav_info(wav)
    except WavFormatError as err:
        raise bad_request(f"the body is not a WAV file: {err}") from err
    device = await listed_device(request, AudioDeviceMode.OUTPUT)
    site = get_bridge(request).common.own_site_id
    async with playing(request, site):
        await get_mesh(request).play_test(wav, site, device)
    return text("OK")


@router.get("/api/wake-words", **api_doc("Wake words of the own site", responses={
    "application/json": "[{modelId, modelWords, modelVersion, modelType}]"}))
async def wake_words(request: Request) -> Response:
    require_admin(request, "listing wake words")
    bridge = get_bridge(request)
    request_id = new_id()
    reply = await get_mesh(request).ask(
        [GetHotwords(site_id=bridge.common.own_site_id, id=request_id)],
        [(Hotwords, lambda m: m.id == request_id)], service="wake")
    assert isinstance(reply, Hotwords)
    return json_response([model.to_wire() for model in reply.models])


@contextlib.asynccontextmanager
async def playing(request: Request, site: str) -> AsyncIterator[None]:
    """Wake word and ASR of the site off (playAudio) while the block plays, so it does not hear itself."""
    mesh = get_mesh(request)
    await mesh.publish(HotwordToggleOff(site_id=site, reason=ToggleReason.PLAY_AUDIO))
    await mesh.publish(AsrToggleOff(site_id=site, reason=ToggleReason.PLAY_AUDIO))
    try:
        yield
    finally:
        await mesh.publish(HotwordToggleOn(site_id=site, reason=ToggleReason.PLAY_AUDIO))
        await mesh.publish(AsrToggleOn(site_id=site, reason=ToggleReason.PLAY_AUDIO))


async def play_on_sites(request: Request, wav: bytes, sites: list[str]) -> None:
    """Rhasspy's play-wav flow per site: wake word and ASR off (playAudio), play, both on again."""
    mesh = get_mesh(request)

    async def one(site: str) -> None:
        async with playing(request, site):
            await mesh.play(wav, site)

    await asyncio.gather(*(one(site) for site in sites))


def read_profile_wav(profile: Path, name: str) -> bytes:
    """The bytes of a file inside the profile, named relative to it or by an absolute path inside it."""
    relative = name
    if name.startswith("/"):
        try:
            relative = str(Path(name).resolve().relative_to(profile.resolve()))
        except ValueError as err:
            raise bad_request(f"{name!r} is outside the profile directory") from err
    try:
        path = safe_path(profile, "", relative)
    except ProfileFileError as err:
        raise bad_request(str(err)) from err
    if not path.is_file():
        raise BridgeHTTPError(404, f"no such file in the profile: {relative}")
    return path.read_bytes()


@router.post("/api/play-wav", **api_doc(
    "Play a WAV file on sites", body="audio/wav",
    body_description="a WAV file (Content-Type audio/wav); otherwise the path of a WAV inside the profile",
    responses={"text/plain": "OK"}, params=[("siteId", "comma list of sites (default: own)")],
    description="Paths are limited to the profile directory and URLs are refused (Rhasspy 2.5 fetched any path "
                "or URL).", errors={404: "no such file in the profile"}))
async def play_wav_route(request: Request) -> Response:
    sites = target_sites(request)
    body = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "audio/wav":
        require_admin(request, "playing a file of the profile")
        name = body_text(body).strip()
        if "://" in name:
            raise bad_request("URLs are not fetched; POST the WAV itself with Content-Type: audio/wav")
        body = await asyncio.to_thread(read_profile_wav, get_bridge(request).profile, name)
    if not body:
        raise bad_request("empty body: send a WAV file")
    await play_on_sites(request, body, sites)
    return text("OK")


@router.get("/api/play-recording", **api_doc("The last recorded voice command", responses={
    "audio/wav": "the last captured command (an empty WAV if none)"}))
async def get_recording(request: Request) -> Response:
    require_admin(request, "reading the last recording")
    return wav_response(get_state(request).last_recording or pcm_to_wav(b""))


@router.post("/api/play-recording", **api_doc("Play the last recorded voice command on the own site",
                                              responses={"text/plain": "OK"},
                                              errors={404: "nothing was recorded yet"}))
async def post_recording(request: Request) -> Response:
    require_admin(request, "playing the last recording")
    recording = get_state(request).last_recording
    if not recording:
        raise BridgeHTTPError(404, "nothing was recorded yet")
    await play_on_sites(request, recording, [get_bridge(request).common.own_site_id])
    return text("OK")


@router.post("/api/set-volume", **api_doc(
    "Set the output volume of sites", body="text/plain", body_description="a number from 0 to 1",
    responses={"text/plain": "the volume"}, params=[("siteId", "comma list of sites (default: own)")]))
async def set_volume(request: Request) -> Response:
    raw = body_text(await request.body()).strip()
    try:
        volume = float(raw)
    except ValueError as err:
        raise bad_request(f"the volume must be a number from 0 to 1, not {raw!r}") from err
    if not 0.0 <= volume <= 1.0:
        raise bad_request(f"the volume must be from 0 to 1, not {volume}")
    mesh = get_mesh(request)
    for site in target_sites(request):
        await mesh.publish(AudioSetVolume(volume=volume, site_id=site))
    return text(str(volume))


@router.post("/api/listen-for-wake", **api_doc(
    "Switch wake word detection on or off", body="text/plain", body_description="on / off (or false)",
    responses={"text/plain": "on / off"}, params=[("siteId", "comma list of sites"), ("reason", "toggle reason")]))
async def listen_for_wake(request: Request) -> Response:
    word = body_text(await request.body()).strip().lower()
    enable = word not in ("off", "false")
    reason_raw = request.query_params.get("reason", "")
    try:
        reason = ToggleReason(reason_raw)
    except ValueError as err:
        raise bad_request(f"reason must be one of {[r.value for r in ToggleReason]}") from err
    mesh = get_mesh(request)
    for site in target_sites(request):
        message: Any = HotwordToggleOn(site_id=site, reason=reason) if enable else HotwordToggleOff(
            site_id=site, reason=reason)
        await mesh.publish(message)
    return text("on" if enable else "off")


@router.post("/api/audio-summaries", **api_doc(
    "Switch microphone level summaries on or off", body="text/plain", body_description="on / off (or false)",
    responses={"text/plain": "on / off"}, params=[("siteId", "comma list of sites (default: own)")],
    description="While on, websocket /api/events/audiosummary sends {current_energy, max_energy, min_energy, "
                "max_current_ratio} for every audioSummary of the sites."))
async def audio_summaries(request: Request) -> Response:
    word = body_text(await request.body()).strip().lower()
    enable = word not in ("off", "false")
    get_bridge(request).energy.reset()
    mesh = get_mesh(request)
    for site in target_sites(request):
        await mesh.publish(SummaryToggleOn(site_id=site) if enable else SummaryToggleOff(site_id=site))
    return text("on" if enable else "off")


# ---- pronunciations -----------------------------------------------------------------------------------------
async def espeak(*args: str) -> bytes:
    if any("\x00" in arg for arg in args):  # a program argument cannot hold one (ValueError from exec)
        raise bad_request("the text must not contain a NUL character")
    program = shutil.which("espeak-ng") or shutil.which("espeak")
    if program is None:
        raise BridgeHTTPError(503, "espeak-ng is not installed (apt-get install espeak-ng)")
    process = await asyncio.create_subprocess_exec(program, *args, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise BridgeHTTPError(502, f"espeak-ng failed: {err.decode(errors='replace').strip()}")
    return out


@router.post("/api/lookup", **api_doc(
    "Look up or guess the pronunciations of a word", body="text/plain", body_description="one word",
    responses={"application/json": "{in_dictionary, pronunciations, phonemes} or {type: phonemes, value}"},
    params=[("n", "number of guesses (default 5)"), ("outputFormat", "hermes")]))
async def lookup(request: Request) -> Response:
    require_admin(request, "looking up words")
    word = body_text(await request.body()).strip().lower()
    if not word or len(word.split()) != 1:
        raise bad_request("send exactly one word to look up")
    if "\x00" in word:  # it also goes to espeak-ng as an argument
        raise bad_request("the text must not contain a NUL character")
    bridge = get_bridge(request)
    request_id = new_id()
    site = bridge.common.own_site_id
    reply = await get_mesh(request).ask(
        [G2pPronounce(words=[word], id=request_id, site_id=site, num_guesses=qint(request, "n", 5))],
        [(G2pPhonemes, lambda m: m.id == request_id), (G2pError, lambda m: m.context == request_id)],
        service="asr")
    assert isinstance(reply, G2pPhonemes)
    if request.query_params.get("outputFormat", "").lower() == "hermes":
        return json_response({"type": "phonemes", "value": reply.to_wire()})
    found = reply.word_phonemes.get(word)
    if found is None:
        return json_response({})
    espeak_phonemes = (await espeak("-q", "-x", word)).decode(errors="replace").strip()
    return json_response({
        "in_dictionary": any(p.guessed is False for p in found),
        "pronunciations": [" ".join(p.phonemes) for p in found],
        "phonemes": espeak_phonemes,
    })


@router.post("/api/pronounce", **api_doc(
    "Speak phonemes or a word with eSpeak", body="text/plain", body_description="eSpeak phonemes or a word",
    responses={"audio/wav": "with download=true", "text/plain": "OK (played on the own site)"},
    params=[("type", "phonemes (default) or word"), ("download", "true: return the WAV instead of playing")]))
async def pronounce(request: Request) -> Response:
    require_admin(request, "pronouncing")
    content = body_text(await request.body()).strip()
    if not content:
        raise bad_request("send phonemes (or a word with type=word)")
    if "[[" in content or "]]" in content:
        raise bad_request("phonemes must not contain '[[' or ']]'")
    spoken = content if request.query_params.get("type", "phonemes") == "word" else f"[[{content}]]"
    wav = await espeak("--stdout", "--", spoken)
    if qbool(request, "download"):
        return wav_response(wav)
    await play_on_sites(request, wav, [get_bridge(request).common.own_site_id])
    return text("OK")
