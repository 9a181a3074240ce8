"""POST /api/evaluate: recognise every WAV of an uploaded archive and report accuracy against its JSON."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from hermes.nlu import NluIntent
from hermes.rhasspy_json import intent_to_rhasspy, not_recognized_to_rhasspy
from hermes.wav import WavFormatError, pcm_to_wav, to_pcm16k_mono

from ..evaluation import ArchiveError, Outcome, read_archive, report
from ..http_util import api_doc, bad_request, json_response, qbool
from .common import get_bridge, get_mesh, get_state, require_admin

router = APIRouter(tags=["training"])


@router.post("/api/evaluate", **api_doc(
    "Accuracy report over an archive of WAV files and their expected intents", body="multipart/form-data",
    body_description="form field 'archive': a .tar.gz or .zip of x.wav + x.json (Rhasspy intent) pairs; the "
                     "archive may also be the whole body (application/gzip, application/zip)",
    responses={"application/json": "actual, expected, num_wavs, num_words, num_intents, num_entities, correct_*, "
                                   "transcription_accuracy, intent_accuracy, entity_accuracy, "
                                   "intent_entity_accuracy, average_transcription_speedup"},
    params=[("detectSilence", "true: stop each WAV at the end of speech"),
            ("stopOnError", "true: fail on the first recognition error (default: record it and go on)")],
    description="Directory paths on the server (Rhasspy's path=true) are not accepted."))
async def evaluate(request: Request) -> Response:
    require_admin(request, "evaluation")
    bridge = get_bridge(request)
    if qbool(request, "path"):
        raise bad_request("path=true is not supported: upload the archive as form field 'archive'")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("archive")
        if not isinstance(upload, UploadFile):
            raise bad_request("multipart form without a file field named 'archive'")
        data = await upload.read()
    else:
        data = await request.body()
    if not data:
        raise bad_request("no archive: send form field 'archive' with a .tar.gz or .zip")
    try:
        samples = read_archive(data)
    except ArchiveError as err:
        raise bad_request(str(err)) from err
    site = bridge.common.own_site_id
    stop_on_error = qbool(request, "stopOnError")
    outcomes = []
    mesh = get_mesh(request)
    async with mesh.handling_off(site):
        for sample in samples:
            try:
                pcm = to_pcm16k_mono(sample.wav)
            except WavFormatError as err:
                raise bad_request(f"{sample.name}.wav: {err}") from err
            get_state(request).last_recording = pcm_to_wav(pcm)
            try:
                heard = await mesh.transcribe(pcm, site, stop_on_silence=qbool(request, "detectSilence"))
                recognition = await mesh.recognize_text(heard.captured.text, site)
            except Exception as err:
                if stop_on_error:
                    raise
                actual = not_recognized_to_rhasspy("")
                actual["error"] = getattr(err, "message", str(err))
                outcomes.append(Outcome(sample.name, sample.expected, actual, len(pcm) / 32000, 0.0))
                continue
            result = recognition.result
            actual = (intent_to_rhasspy(result, raw_text=heard.captured.text) if isinstance(result, NluIntent)
                      else not_recognized_to_rhasspy(result))
            outcomes.append(Outcome(sample.name, sample.expected, actual, heard.wav_seconds, heard.seconds))
    return json_response(report(outcomes))
