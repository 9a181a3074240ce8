"""POST /api/train: send the profile's sentence and slot texts to the NLU and ASR services, await both."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.nlu.errors import TemplateError
from services.nlu.ini import parse_ini_texts
from services.phonetics import PronunciationError, read_custom_words

from ..http_util import BridgeHTTPError, api_doc, json_response, prefers_json, text
from ..mesh_client import new_id
from ..mesh_error import MeshError, MeshErrorCode
from ..profile_files import all_slots, sentence_files
from .common import get_bridge, get_mesh, require_admin
from .profile_api import custom_words_file

router = APIRouter(tags=["training"])


@router.post("/api/train", **api_doc(
    "Train the NLU and ASR services from the profile's sentences and slots",
    responses={"text/plain": "Training completed in N second(s), then one 'warning: ...' line per warning",
               "application/json": "with Accept: application/json: {result: success, seconds, message, "
                                   "warnings: [...], skipped: [...]}"},
    description="Reads sentences.ini, intents/*.ini and slots/, publishes rhasspy/nlu/<site>/train and "
                "rhasspy/asr/<site>/train with the texts and waits for trainSuccess (or the error with the "
                "file and line of a template problem). A service that never reported its status and does not "
                "answer is skipped and named in the reply. Warnings (a sentence line starting with '[' read as an "
                "intent header; a bad custom_words.txt line for a word no sentence uses, kept) follow the "
                "success line, one per line."))
async def train(request: Request) -> Response:
    require_admin(request, "training")
    bridge = get_bridge(request)
    profile = bridge.profile
    try:  # a file the NLU could not read (not UTF-8, a folder named x.ini) fails here, naming file and line
        sentences = await asyncio.to_thread(sentence_files, profile, strict=True)
        slots = await asyncio.to_thread(all_slots, profile, strict=True)
    except TemplateError as err:
        raise BridgeHTTPError(400, f"Training failed: {err}") from err
    if not sentences:
        raise BridgeHTTPError(400, f"no sentences to train: write {profile / 'sentences.ini'} or intents/*.ini")
    site = bridge.common.own_site_id
    mesh = get_mesh(request)
    train_id = new_id()
    started = time.perf_counter()

    async def one(service: str) -> str | None:
        online = mesh.registry.online(service)
        timeout = mesh.timeouts.train if online else mesh.timeouts.reply
        try:
            await mesh.train(service, sentences, slots, site, train_id=train_id, timeout=timeout)
        except MeshError as err:
            if err.code == MeshErrorCode.REJECTED or online or mesh.registry.known(service):
                raise
            return f"{service} skipped ({err.message})"
        return None

    results = await asyncio.gather(one("nlu"), one("asr"), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, MeshError):
            raise result
    errors = [r for r in results if isinstance(r, MeshError)]
    skipped = [r for r in results if isinstance(r, str)]
    if errors:
        # A profile a service refused is the user's to fix (400, as a template error above), whatever else failed.
        worst = next((e for e in errors if e.code == MeshErrorCode.REJECTED), errors[0])
        everything = "; ".join([e.message for e in errors] + skipped)
        raise MeshError(worst.code, worst.service, f"Training failed: {everything}")
    if len(skipped) == 2:
        raise MeshError(MeshErrorCode.OFFLINE, "nlu", "Training failed: neither the nlu nor the asr service "
                        "answered (start them with `hermesh up`): " + "; ".join(skipped))
    seconds = time.perf_counter() - started
    asr_trained = not any(note.startswith("asr ") for note in skipped)
    warnings = template_warnings(sentences)
    if asr_trained:
        warnings += await asyncio.to_thread(custom_word_warnings, profile)
    note = ("; " + "; ".join(skipped)) if skipped else ""
    message = f"Training completed in {seconds:.2f} second(s){note}"
    if prefers_json(request):
        return json_response({"result": "success", "seconds": round(seconds, 3), "message": message,
                              "warnings": warnings, "skipped": skipped})
    # Rhasspy answers the first line alone and its clients check only the status (rhasspy-client) or show the
    # text (its web UI): lines after it break neither.
    return text("\n".join([message, *(f"warning: {w}" for w in warnings)]))


def template_warnings(sentences: dict[str, str]) -> list[str]:
    """What the NLU's template reader warns about in the very texts it was sent (e.g. a '[' line read as an
    intent header): the same parser on the same input gives the same warnings, no message field needed."""
    return parse_ini_texts(list(sentences.items())).warnings


def custom_word_warnings(profile: Path) -> list[str]:
    """The bad lines of the custom words file that the ASR's training kept (they name words no sentence uses).

    Hermes' trainSuccess has no field for warnings, and a Hermesh-only field would make our trainSuccess differ
    from rhasspy-hermes' byte for byte (tests/protocol checks that). The ASR only reached trainSuccess if every
    bad line was for an unused word, so after it the bridge re-reads the same file with the same reader
    (``services.phonetics.read_custom_words``, one source for what a bad line is) and every problem it finds
    is one of the ASR's warnings. A remote ASR reads its own copy of the profile; this reports the bridge's.
    """
    problems: dict[str, list[str]] = {}
    try:
        read_custom_words(profile / custom_words_file(profile), problems)
    except (PronunciationError, BridgeHTTPError) as err:  # unreadable, or asr.custom_words leaves the profile
        return [str(err)]
    return [message for messages in problems.values() for message in messages]
