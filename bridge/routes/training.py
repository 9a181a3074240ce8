"""POST /api/train: send the profile's sentence and slot texts to the ASR, then the NLU, await each."""

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
from ..last_training import LastTraining
from ..mesh_client import MeshClient, new_id
from ..mesh_error import MeshError, MeshErrorCode
from ..profile_files import all_slots, sentence_files
from .common import get_bridge, get_mesh, get_state, require_admin
from .profile_api import custom_words_file

router = APIRouter(tags=["training"])


@router.post("/api/train", **api_doc(
    "Train the NLU and ASR services from the profile's sentences and slots",
    responses={"text/plain": "Training completed in N second(s), then one 'warning: ...' line per warning",
               "application/json": "with Accept: application/json: {result: success, seconds, message, "
                                   "warnings: [...], skipped: [...]}"},
    description="Reads sentences.ini, intents/*.ini and slots/, publishes rhasspy/asr/<site>/train with the "
                "texts and waits for trainSuccess (or the error with the file and line of a template or custom "
                "words problem), then the same on rhasspy/nlu/<site>/train. A failed training leaves both "
                "services on the previous one (the NLU is not trained after the ASR refused; the ASR is trained "
                "again on the previous texts if the NLU refused). A service that never reported its status and does not "
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
    state = get_state(request)
    async with state.training:
        started = time.perf_counter()
        skipped = await train_asr_then_nlu(mesh, state.last_training, sentences, slots, site)
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


async def train_asr_then_nlu(mesh: MeshClient, last: LastTraining, sentences: dict[str, str],
                             slots: dict[str, list[str]], site: str) -> list[str]:
    """Train the ASR, then the NLU; a failed training leaves both on the model they served before it.

    The ASR goes first because it refuses more (a custom word with phones the acoustic model lacks, besides
    every template error the NLU would see), as Rhasspy trains speech to text before intent recognition and
    stops at the first failure: a refusal then reaches nothing else. The NLU refusing after the ASR took the
    new texts is rare (both compile them the same way); the ASR is then trained again on the NLU's last
    successful texts. The price is the sum of both trainings instead of the longer one. Returns the notes of
    the services skipped (never heard of, not answering).
    """
    train_id = new_id()

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

    try:
        asr_skipped = await one("asr")
    except MeshError as err:
        kept = ("the asr and the nlu keep serving the previous training" if err.code != MeshErrorCode.TIMEOUT
                else "the asr may still take the new sentences when it finishes")  # unanswered is not refused
        raise MeshError(err.code, err.service, f"Training failed: {err.message}; the nlu was not trained: "
                        f"{kept}") from None
    try:
        nlu_skipped = await one("nlu")
    except MeshError as err:
        back = f"; {asr_skipped}" if asr_skipped else await _asr_back(mesh, last, site)
        raise MeshError(err.code, err.service, f"Training failed: {err.message}{back}") from None
    skipped = [note for note in (asr_skipped, nlu_skipped) if note is not None]
    if len(skipped) == 2:
        raise MeshError(MeshErrorCode.OFFLINE, "nlu", "Training failed: neither the nlu nor the asr service "
                        "answered (start them with `hermesh up`): " + "; ".join(skipped))
    return skipped


async def _asr_back(mesh: MeshClient, last: LastTraining, site: str) -> str:
    """Put the ASR back on the NLU's last successful training; what happened, for the error's message."""
    previous = last.nlu
    if previous is None:
        return ("; the asr could not be put back on the previous training (none succeeded since the bridge "
                "started): it hears the new sentences until a training succeeds")
    try:
        await mesh.train("asr", previous.sentences, previous.slots, site, train_id=new_id())
    except MeshError as err:
        return f"; putting the asr back on the previous training failed too: {err.message}"
    return "; the asr was put back on the previous training, as the nlu"


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
