"""Profile and training data: version, profile layers, sentences, slots, custom words, intents, backup."""

from __future__ import annotations

import asyncio
import json
import re
import typing
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from services.config import (
    COMMON_KEYS,
    PROFILE_FILE,
    CommonSettings,
    ConfigError,
    read_profile_json,
    service_section,
)
from services.nlu.errors import TemplateError
from services.profile import custom_words_name, write_atomic

from ..http_util import (
    BridgeHTTPError,
    api_doc,
    bad_request,
    body_json,
    body_text,
    is_json_content,
    json_response,
    prefers_json,
    qbool,
    request_json,
    text,
)
from ..intent_templates import rhasspy_intents
from ..profile_files import (
    SENTENCES_INI,
    all_slots,
    backup_zip,
    parse_custom_words,
    read_slot,
    read_text_file,
    sentence_files,
    write_custom_words,
    write_sentence_files,
    write_slots,
)
from ..protected_settings import check_changes, inside_profile, path_keys
from .common import get_bridge, get_principal, require_admin

router = APIRouter(tags=["profile"])
RHASSPY_COMPAT_VERSION = "2.5.11"


@router.get("/api/version", **api_doc("Version (readiness probe)", responses={"text/plain": "e.g. 2.5.11"},
                                      description="Rhasspy clients compare this; Hermesh answers the Rhasspy "
                                                  "version it is compatible with."))
async def version() -> Response:
    return text(RHASSPY_COMPAT_VERSION)


# ---- profile layers -----------------------------------------------------------------------------------------
def service_settings_models() -> dict[str, type[Any]]:
    """Settings model of every registered service, by profile.json section (services that fail to import are
    left out rather than breaking the API)."""
    from services import catalog
    from services.runner import load_class

    models: dict[str, type[Any]] = {}
    for name, path in catalog.SERVICES.items():
        try:
            models[service_section(name)] = load_class(path).settings_model
        except Exception:  # noqa: BLE001 - a broken service must not break the profile API
            continue
    return models


def all_settings_models() -> dict[str, type[Any]]:
    """Every profile.json section's model, the common keys under "" (for key walks such as path_keys)."""
    from services.supervisor import UP_SECTION, UpSettings

    from ..wyoming.settings import SECTION as WYOMING_SECTION
    from ..wyoming.settings import WyomingSettings

    return {"": CommonSettings, **service_settings_models(), WYOMING_SECTION: WyomingSettings, UP_SECTION: UpSettings}


def unknown_keys(data: dict[str, Any], models: dict[str, type[Any]]) -> list[str]:
    """Keys no service knows, as dotted paths (a typo must not be stored and silently do nothing)."""
    unknown: list[str] = []

    def walk(value: dict[str, Any], model: type[Any], prefix: str) -> None:
        fields = model.model_fields
        for key, item in value.items():
            if key not in fields:
                unknown.append(prefix + key)
                continue
            annotation = fields[key].annotation
            kinds = [k for k in (typing.get_args(annotation) or (annotation,))
                     if isinstance(k, type) and issubclass(k, BaseModel)]
            if kinds and isinstance(item, dict):
                walk(item, kinds[0], f"{prefix}{key}.")

    sections = {name: model for name, model in models.items() if name}
    for key, item in data.items():
        if key in sections:
            if isinstance(item, dict):
                walk(item, sections[key], key + ".")
        elif key in COMMON_KEYS:
            annotation = CommonSettings.model_fields[key].annotation
            if isinstance(item, dict) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(item, annotation, key + ".")
        else:
            unknown.append(key)
    return unknown


def defaults_layer() -> dict[str, Any]:
    data: dict[str, Any] = CommonSettings(profile=Path(".")).model_dump(mode="json", exclude={"profile"})
    for section, model in service_settings_models().items():
        try:
            data[section] = model().model_dump(mode="json")
        except Exception:  # noqa: BLE001 - a model without full defaults
            continue
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def strip_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Remove every value equal to its default, recursively (Rhasspy's POST /api/profile behaviour)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in defaults and defaults[key] == value:
            continue
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            inner = strip_defaults(value, defaults[key])
            if inner:
                out[key] = inner
        else:
            out[key] = value
    return out


def validate_profile(data: dict[str, Any], profile: Path) -> None:
    """Check the common keys and every known service section before anything is written; unknown keys are
    a 422 naming them."""
    from services.config import validate_layer

    unknown = unknown_keys(data, all_settings_models())
    if unknown:
        raise BridgeHTTPError(422, f"unknown setting(s) {', '.join(repr(k) for k in unknown)}: no service reads "
                                   "them (check the spelling; GET /api/profile?layers=defaults lists every key)")
    common = {k: v for k, v in data.items() if k in COMMON_KEYS}
    common["profile"] = profile
    validate_layer(CommonSettings, common, "profile.json")
    for section, model in service_settings_models().items():
        value = data.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"profile.json: key '{section}' must be an object")
        validate_layer(model, value, f"profile.json section '{section}'")


async def check_profile_write(request: Request, current: dict[str, Any], updated: dict[str, Any],
                              defaults: dict[str, Any]) -> None:
    """The write may not change program-running settings without an admin token, nor point paths outside."""
    bridge = get_bridge(request)
    paths = await asyncio.to_thread(lambda: path_keys(all_settings_models()))
    check_changes(merge(defaults, current), merge(defaults, updated), profile=bridge.profile,
                  principal=get_principal(request), paths=paths)


@router.get("/api/profile", **api_doc(
    "The profile's settings", responses={"application/json": "settings"},
    params=[("layers", "all (defaults merged with profile.json; default), profile (the raw profile.json) or "
                       "defaults")]))
async def get_profile(request: Request) -> Response:
    require_admin(request, "reading the profile")
    bridge = get_bridge(request)
    layers = request.query_params.get("layers", "all")
    raw = read_profile_json(bridge.profile)
    if layers == "profile":
        return json_response(raw)
    defaults = await asyncio.to_thread(defaults_layer)
    if layers == "defaults":
        return json_response(defaults)
    return json_response(merge(defaults, raw))


@router.post("/api/profile", **api_doc(
    "Replace profile.json", body="application/json", body_description="the whole profile",
    responses={"text/plain": "Wrote profile to <path>"},
    description="Values equal to the defaults are dropped; the rest is validated and written atomically. "
                "Unknown keys are a 422 naming them. Settings that run programs (any *.command, argv lists, "
                "engines given as class paths) change only with an admin token, else only in profile.json on "
                "disk (403); paths must stay inside the profile (400). Services pick the change up after "
                "POST /api/restart.", errors={422: "unknown setting(s), named"}))
async def post_profile(request: Request) -> Response:
    require_admin(request, "writing the profile")
    bridge = get_bridge(request)
    data = await request_json(request, "the profile")
    if not isinstance(data, dict):
        raise bad_request("the profile must be a JSON object")
    defaults = await asyncio.to_thread(defaults_layer)
    stripped = strip_defaults(data, defaults)
    validate_profile(stripped, bridge.profile)
    await check_profile_write(request, read_profile_json(bridge.profile), stripped, defaults)
    path = bridge.profile / PROFILE_FILE
    await asyncio.to_thread(write_atomic, path, json.dumps(stripped, indent=2, ensure_ascii=False) + "\n")
    return text(f"Wrote profile to {path}")


# ---- sentences ----------------------------------------------------------------------------------------------
@router.get("/api/sentences", **api_doc(
    "Sentence templates", responses={"text/plain": "sentences.ini", "application/json": "with Accept: "
                                     "application/json: {relative path: text} of sentences.ini and intents/*.ini"}))
async def get_sentences(request: Request) -> Response:
    require_admin(request, "reading sentences")
    files = await asyncio.to_thread(sentence_files, get_bridge(request).profile)
    if prefers_json(request):
        return json_response(files)
    return text(files.get(SENTENCES_INI, ""))


@router.post("/api/sentences", **api_doc(
    "Write sentence templates", body="text/plain", also_accepts=("application/json",),
    body_description="sentences.ini text; with Content-Type application/json: {relative path: text} "
                     "(blank text deletes the file)",
    responses={"text/plain": "Wrote N char(s) to [...] / Wrote N byte(s) to <path>"}))
async def post_sentences(request: Request) -> Response:
    require_admin(request, "writing sentences")
    profile = get_bridge(request).profile
    body = await request.body()
    if is_json_content(request):
        files = body_json(body, "the sentence files")
        if not isinstance(files, dict):
            raise bad_request("expected a JSON object {\"intents/name.ini\": \"text\", ...}")
        written = await asyncio.to_thread(write_sentence_files, profile, files)
        chars = sum(len(v) for v in files.values() if isinstance(v, str))
        return text(f"Wrote {chars} char(s) to {json.dumps(written)}")
    content = body_text(body)
    path = profile / SENTENCES_INI
    await asyncio.to_thread(write_atomic, path, content)
    return text(f"Wrote {len(body)} byte(s) to {path}")


# ---- slots --------------------------------------------------------------------------------------------------
@router.get("/api/slots", **api_doc("All slot lists", responses={"application/json": "{slotName: [values]}"}))
async def get_slots(request: Request) -> Response:
    require_admin(request, "reading slots")
    return json_response(await asyncio.to_thread(all_slots, get_bridge(request).profile))


def overwrite_flag(request: Request) -> bool:
    return qbool(request, "overwriteAll", "overwrite_all")


@router.post("/api/slots", **api_doc(
    "Write slot lists", body="application/json", body_description="{slotName: [values] or \"value\"}",
    responses={"text/plain": "OK"},
    params=[("overwriteAll", "true: replace the listed slots (default: merge)"), ("overwrite_all", "same")]))
async def post_slots(request: Request) -> Response:
    require_admin(request, "writing slots")
    data = await request_json(request, "the slots")
    if not isinstance(data, dict):
        raise bad_request("expected a JSON object {slotName: [values]}")
    await asyncio.to_thread(write_slots, get_bridge(request).profile, data, overwrite_flag(request))
    return text("OK")


@router.get("/api/slots/{name:path}", **api_doc("One slot list", responses={"application/json": "[values]"}))
async def get_slot(request: Request, name: str) -> Response:
    require_admin(request, "reading slots")
    return json_response(await asyncio.to_thread(read_slot, get_bridge(request).profile, name))


@router.post("/api/slots/{name:path}", **api_doc(
    "Write one slot list", body="application/json", body_description="[values]",
    responses={"text/plain": "Wrote to <path>"}, params=[("overwriteAll", "true: replace (default: merge)")]))
async def post_slot(request: Request, name: str) -> Response:
    require_admin(request, "writing slots")
    data = await request_json(request, "the slot values")
    if not isinstance(data, list | str):
        raise bad_request("expected a JSON list of values")
    paths = await asyncio.to_thread(write_slots, get_bridge(request).profile, {name: data}, overwrite_flag(request))
    return text(f"Wrote to {paths[0]}")


def slot_program_outputs(profile: Path) -> dict[str, Any]:
    """What each program in slot_programs/ prints when run without arguments (or why it failed)."""
    from services.nlu.errors import SlotError
    from services.nlu.slots import SlotSource

    folder = profile / "slot_programs"
    source = SlotSource(profile_dir=profile, program_timeout=10.0)
    outputs: dict[str, Any] = {}
    for program in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        name = program.relative_to(folder).as_posix()
        try:
            outputs[name] = [value for value, _origin, _line in source.lines(name)]
        except SlotError as err:
            outputs[name] = {"error": str(err)}
    return outputs


@router.get("/api/slot-programs", **api_doc(
    "Output of the slot programs", responses={"application/json": "{program: [values] | {error}} (run without arguments)"}))
async def get_slot_programs(request: Request) -> Response:
    require_admin(request, "running slot programs")
    return json_response(await asyncio.to_thread(slot_program_outputs, get_bridge(request).profile))


# ---- words --------------------------------------------------------------------------------------------------
def custom_words_file(profile: Path) -> str:
    """asr.custom_words of profile.json, refused when it leaves the profile (it would expose any file)."""
    try:
        name = custom_words_name(profile)
    except ValueError as err:
        raise bad_request(f"{err}; the API reads and writes only files inside the profile") from None
    if not inside_profile(profile, name):  # safe_path's rules too: no hidden parts
        raise bad_request(f"asr.custom_words {name!r} is not a plain file of the profile; the API reads and "
                          "writes only such files")
    return name


@router.get("/api/custom-words", **api_doc(
    "Custom pronunciations", responses={"text/plain": "word PH ON EMES lines",
                                        "application/json": "with Accept: application/json: {word: [pron]}"}))
async def get_custom_words(request: Request) -> Response:
    require_admin(request, "reading custom words")
    profile = get_bridge(request).profile
    content = read_text_file(profile, custom_words_file(profile))
    if prefers_json(request):
        return json_response(parse_custom_words(content))
    return text(content)


@router.post("/api/custom-words", **api_doc(
    "Replace custom pronunciations", body="text/plain", body_description="lines 'word PH ON EMES'",
    responses={"text/plain": "Wrote N line(s) to <path>"}))
async def post_custom_words(request: Request) -> Response:
    require_admin(request, "writing custom words")
    profile = get_bridge(request).profile
    path, lines = await asyncio.to_thread(write_custom_words, profile, custom_words_file(profile),
                                          body_text(await request.body()))
    return text(f"Wrote {lines} line(s) to {path}")


@router.get("/api/unknown-words", **api_doc(
    "Words of the sentences the ASR had to guess at the last training",
    responses={"application/json": "{word: guessed pronunciation}"}))
async def unknown_words(request: Request) -> Response:
    require_admin(request, "reading unknown words")
    profile = get_bridge(request).profile
    found: dict[str, str] = {}
    for candidate in ("trained/asr/unknown_words.txt", "unknown_words.txt"):
        content = read_text_file(profile, candidate)
        for line in content.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                found.setdefault(re.sub(r"\(\d+\)$", "", parts[0]), " ".join(parts[1:]))
    return json_response(found)


# ---- intents and backup -------------------------------------------------------------------------------------
_RULE = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*=")


def intent_sentences(files: dict[str, str]) -> dict[str, list[str]]:
    """{intent: [template lines]} from the ini texts (sections across files merge, rules are left out)."""
    intents: dict[str, list[str]] = {}
    for text_ in files.values():
        current: str | None = None
        for line in text_.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped[1:-1].strip()
                intents.setdefault(current, [])
            elif current and not _RULE.match(stripped):
                if stripped not in intents[current]:
                    intents[current].append(stripped)
    return intents


@router.get("/api/intents", **api_doc(
    "Intents and their parsed sentence templates", responses={
        "application/json": "{IntentName: [sentence objects]}: Rhasspy's parse tree per sentence (item_type "
                            "Sentence, Sequence with type group or alternative, Word, SlotReference, RuleReference; "
                            "text, substitution, converters, tag {tag_text, substitution, converters}); with "
                            "templates=true: {IntentName: [template lines]}"},
    params=[("templates", "true: the template lines as written instead of parse trees")],
    errors={400: "a sentence file does not parse (file and line named)"}))
async def intents(request: Request) -> Response:
    require_admin(request, "reading intents")
    files = await asyncio.to_thread(sentence_files, get_bridge(request).profile)
    if qbool(request, "templates"):
        return json_response(intent_sentences(files))
    try:
        return json_response(await asyncio.to_thread(rhasspy_intents, files))
    except TemplateError as err:
        raise bad_request(f"cannot list the intents: {err}") from err


@router.get("/api/backup-profile", **api_doc(
    "A zip of the profile's files", responses={"application/zip": "profile.json, sentences, intents/, slots/, "
                                               "slot_programs/, converters/, custom words"}))
async def backup_profile(request: Request) -> Response:
    require_admin(request, "backing up the profile")
    data = await asyncio.to_thread(backup_zip, get_bridge(request).profile)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="profile.zip"'})


@router.get("/api/phonemes", **api_doc(
    "Example words for each phoneme", responses={"application/json": "{phoneme: {word, phonemes}}"},
    description="From the profile's phoneme_examples.txt ('PHONEME word PH ON EMES' lines); English profiles "
                "without one get the CMU phoneme set."))
async def phonemes(request: Request) -> Response:
    require_admin(request, "reading phonemes")
    bridge = get_bridge(request)
    profile = bridge.profile
    examples: dict[str, dict[str, str]] = {}
    if not (profile / "phoneme_examples.txt").is_file() and bridge.common.language.startswith("en"):
        from ..phonemes import ENGLISH_EXAMPLES

        return json_response({p: {"word": w, "phonemes": ph} for p, (w, ph) in ENGLISH_EXAMPLES.items()})
    for line in read_text_file(profile, "phoneme_examples.txt").splitlines():
        parts = line.split()
        if len(parts) >= 3:
            examples[parts[0]] = {"word": parts[1], "phonemes": " ".join(parts[2:])}
    return json_response(examples)




@router.get("/api/profiles", **api_doc(
    "The profile in use (Rhasspy's profile download status)", responses={
        "application/json": "{default_profile, profiles, downloaded, missing_files, missing_size}"},
    description="Hermesh profiles need no downloads: downloaded is always true."))
async def profiles(request: Request) -> Response:
    require_admin(request, "reading profiles")
    name = get_bridge(request).profile.name
    return json_response({"default_profile": name, "profiles": [name], "downloaded": True, "missing_files": {},
                          "missing_size": "0 B"})


@router.get("/api/problems", **api_doc("Known problems (always empty, as in Rhasspy 2.5)",
                                       responses={"application/json": "{}"}))
async def problems(request: Request) -> Response:
    return json_response({})
