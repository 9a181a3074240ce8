"""Hermesh's runtime API: status, configuration, stop/restart/shutdown, languages, TTS test, Home Assistant."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from hermes.audioserver import AudioToggleOff, AudioToggleOn
from hermes.dialogue import DialogueEndSession
from hermes.status import ServiceRestart
from services.config import PROFILE_FILE, ConfigError, load_section, read_profile_json
from services.profile import write_atomic
from services.runtime.service import VERSION

from ..context import BridgeContext
from ..http_util import (
    MAX_TEXT_CHARS,
    BridgeHTTPError,
    api_doc,
    bad_request,
    body_json,
    body_text,
    check_site_id,
    check_text,
    is_json_content,
    json_response,
    request_json,
    text,
    wav_response,
)
from ..mesh_error import MeshError
from ..protected_settings import flatten
from ..settings import BridgeSettings
from ..voice_choice import languages_spoken
from .common import get_bridge, get_mesh, get_principal, require_admin, target_site, target_sites
from .profile_api import check_profile_write, defaults_layer, merge, validate_profile

router = APIRouter(tags=["runtime"])
LOG = logging.getLogger("hermesh.bridge")

SECRET_KEY = re.compile(r"password|token|secret|api_key|apikey", re.IGNORECASE)
# Bridge settings that take effect at once; the others need the bridge restarted.
LIVE_BRIDGE_KEYS = frozenset({
    "auth_token", "jwt_secret", "max_body_bytes", "reply_timeout", "train_timeout", "mqtt_poll_timeout",
    "say_chars_per_second", "home_assistant_url", "home_assistant_token", "audio_site_prefix",
})


def redact(data: Any) -> Any:
    """Secrets become "********" when set and null otherwise; never their value."""
    if isinstance(data, dict):
        return {k: (("********" if v not in (None, "") else None) if SECRET_KEY.search(k) and not isinstance(v, dict)
                    else redact(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def unflatten(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        parts = [p for p in key.split(".") if p]
        if not parts:
            raise bad_request("empty configuration key")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise bad_request(f"configuration key {key!r} conflicts with another key")
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = merge(node[parts[-1]], value)
        else:
            node[parts[-1]] = value
    return out


@router.get("/api/status", **api_doc(
    "What the assistant is doing", responses={"application/json": "version, uptime, sites, services, "
                                              "broker, homeAssistant"},
    description="An admin sees every site; a user token only the sites it may act for."))
async def status(request: Request) -> Response:
    bridge = get_bridge(request)
    ha = await cached_probe(bridge)
    principal = get_principal(request)
    sites = {site: state for site, state in bridge.site_states.snapshot().items() if principal.may_use_site(site)}
    return json_response({
        "version": VERSION,
        "uptimeSeconds": round(time.time() - bridge.started_at, 3),
        "sites": sites,
        "services": bridge.registry.snapshot(),
        "broker": {"host": bridge.common.mqtt.host, "port": bridge.common.mqtt.port,
                   "connected": bridge.connected},
        "homeAssistant": {"configured": ha.get("configured", False), "reachable": ha.get("reachable", False)},
        "wyoming": bridge.wyoming is not None,
    })


@router.get("/api/config", **api_doc(
    "Settings without secrets", responses={"application/json": "defaults merged with profile.json; secrets "
                                           "are '********' when set"}))
async def get_config(request: Request) -> Response:
    require_admin(request, "reading the configuration")
    bridge = get_bridge(request)
    merged = merge(await asyncio.to_thread(defaults_layer), read_profile_json(bridge.profile))
    live = bridge.settings.model_dump(mode="json")
    for key in ("auth_token", "jwt_secret", "home_assistant_token"):
        live[key] = "********" if getattr(bridge.settings, key) else None
    merged["bridge"] = merge(merged.get("bridge", {}), live)
    merged["profile"] = str(bridge.profile)
    return json_response(redact(merged))


@router.patch("/api/config", **api_doc(
    "Change settings", body="application/json",
    body_description='{"section": {"key": value}} or {"section.key": value}',
    responses={"application/json": "{changed, applied, restartRequired}"},
    description="Validated, persisted to profile.json atomically, and applied at once where possible "
                "(bridge timeouts, limits, tokens, log_level); other keys need the service restarted. Unknown "
                "keys are a 422 naming them; settings that run programs need an admin token (403) and paths "
                "must stay inside the profile (400).", errors={422: "unknown setting(s), named"}))
async def patch_config(request: Request) -> Response:
    require_admin(request, "changing the configuration")
    bridge = get_bridge(request)
    patch = await request_json(request, "the configuration change")
    if not isinstance(patch, dict) or not patch:
        raise bad_request("expected a non-empty JSON object of settings")
    patch = unflatten(patch)
    if "profile" in patch:
        raise bad_request("the profile directory cannot be changed at run time")
    current = read_profile_json(bridge.profile)
    updated = merge(current, patch)
    validate_profile(updated, bridge.profile)
    await check_profile_write(request, current, updated, await asyncio.to_thread(defaults_layer))
    before, after = flatten(current), flatten(updated)
    changed = sorted(k for k in after if before.get(k, object()) != after[k])
    path = bridge.profile / PROFILE_FILE
    await asyncio.to_thread(write_atomic, path, json.dumps(updated, indent=2, ensure_ascii=False) + "\n")
    applied, restart = [], []
    bridge_patch = patch.get("bridge") if isinstance(patch.get("bridge"), dict) else {}
    if bridge_patch:
        values = {**bridge.settings.model_dump(), **bridge_patch}
        try:
            new = BridgeSettings.model_validate(values)
        except Exception as err:  # noqa: BLE001 - validated above; env layers may still conflict
            raise ConfigError(f"bridge settings: {err}") from err
        live = {k: getattr(new, k) for k in bridge_patch if k in LIVE_BRIDGE_KEYS}
        bridge.settings = bridge.settings.model_copy(update=live)
    for key in changed:
        section, _, name = key.partition(".")
        if section == "bridge" and name.split(".")[0] in LIVE_BRIDGE_KEYS:
            applied.append(key)
        elif key == "log_level":
            logging.getLogger().setLevel(str(after[key]).upper())
            applied.append(key)
        else:
            restart.append(key)
    return json_response({"changed": [k if not SECRET_KEY.search(k) else k for k in changed],
                          "applied": applied, "restartRequired": restart})


@router.post("/api/stop", **api_doc(
    "Stop what a site is saying", responses={"application/json": "{siteId, endedSession}"},
    params=[("siteId", "site (default: own)")],
    description="Ends the site's dialogue session, if any, and switches its audio output off and on again."))
async def stop(request: Request) -> Response:
    bridge = get_bridge(request)
    site = target_site(request)
    state = bridge.site_states.sites.get(site)
    session = state.session_id if state else None
    mesh = get_mesh(request)
    if session:
        await mesh.publish(DialogueEndSession(session_id=session))
    await mesh.publish(AudioToggleOff(site_id=site))
    await mesh.publish(AudioToggleOn(site_id=site))
    return json_response({"siteId": site, "endedSession": session})


@router.post("/api/restart", **api_doc(
    "Restart the services with the profile as it is now", responses={"text/plain": "Restarted Rhasspy"},
    description="Publishes hermesh/control/restart: every other service leaves the broker and exits, and "
                "`hermesh up` (or systemd/compose) starts it again at once with the current profile. The bridge "
                "itself re-reads the 'bridge' section of profile.json (and HERMESH_BRIDGE__*); settings that need "
                "a new listener (host, port, TLS) take effect when its process restarts."))
async def restart(request: Request) -> Response:
    require_admin(request, "restarting")
    bridge = get_bridge(request)
    new = await asyncio.to_thread(load_section, BridgeSettings, bridge.common, "bridge")
    bridge.settings = bridge.settings.model_copy(update={k: getattr(new, k) for k in LIVE_BRIDGE_KEYS})
    LOG.info("settings reloaded from %s", bridge.profile / PROFILE_FILE)
    others = sorted(name for name in bridge.registry.snapshot() if name != bridge.name)
    if others:
        await get_mesh(request).publish(ServiceRestart(services=others, reason="POST /api/restart"))
        LOG.info("asked %s to restart", ", ".join(others))
    return text("Restarted Rhasspy")


@router.post("/api/shutdown", **api_doc(
    "Stop the bridge process (under `hermesh up`: the whole mesh)", responses={"text/plain": "Shutting down"}))
async def shutdown(request: Request) -> Response:
    require_admin(request, "shutting down")
    bridge = get_bridge(request)
    LOG.warning("shutdown requested over HTTP")
    asyncio.get_running_loop().call_later(0.2, bridge.stop_mesh)
    return text("Shutting down")


@router.get("/api/languages", **api_doc(
    "The profile's language and the languages the TTS's voices speak",
    responses={"application/json": "{language, tts, ttsError?}"},
    description="`tts` is asked of the TTS service (the voices of GET /api/tts-voices): null, with `ttsError` "
                "saying why, while no TTS answers."))
async def languages(request: Request) -> Response:
    answer: dict[str, Any] = {"language": get_bridge(request).common.language}
    try:
        answer["tts"] = languages_spoken(await get_mesh(request).voices(target_site(request)))
    except MeshError as err:  # unknown, not guessed from what this machine happens to have installed
        answer.update(tts=None, ttsError=str(err))
    return json_response(answer)


@router.post("/api/tts/test", **api_doc(
    "Speak a test sentence and return its audio", body="application/json",
    body_description=f'optional {{"text" (at most {MAX_TEXT_CHARS} characters), "siteId", "lang"}}',
    responses={"audio/wav": "the synthesised test"}))
async def tts_test(request: Request) -> Response:
    options = await request_json(request, "the TTS test options", optional=True)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise bad_request('expected a JSON object such as {"text": "hello"}')
    sentence = check_text(options.get("text") or "This is a test of the text to speech system.", "text")
    site = check_site_id(options["siteId"]) if options.get("siteId") is not None else target_site(request)
    lang = options.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise bad_request(f"lang must be a language name such as 'en-us', not {lang!r}")
    get_principal(request).check_site(site)
    wav = await get_mesh(request).speak(sentence, site, lang=lang)
    if not wav:
        raise BridgeHTTPError(503, f"the tts service finished without sending audio to site {site!r}")
    return wav_response(wav)


# ---- Home Assistant -----------------------------------------------------------------------------------------
def ha_config(bridge: BridgeContext) -> tuple[str | None, str | None]:
    """URL and token: the bridge's own settings, else the intent handler's (profile.json intent_handler.
    home_assistant and HERMESH_INTENT_HANDLER__HOME_ASSISTANT__*), used only when it has a token."""
    url = bridge.settings.home_assistant_url
    token = bridge.settings.home_assistant_token.get_secret_value() if bridge.settings.home_assistant_token else None
    if not (url and token):
        try:
            from services.intent_handler.settings import IntentHandlerSettings

            handler = load_section(IntentHandlerSettings, bridge.common, "intent_handler").home_assistant
        except (ImportError, ConfigError):
            handler = None
        if handler is not None and handler.access_token is not None:
            url = url or handler.url
            token = token or handler.access_token.get_secret_value()
    return (url.rstrip("/") if url else None), token


async def homeassistant_probe(bridge: BridgeContext, timeout: float = 5.0) -> dict[str, Any]:
    url, token = ha_config(bridge)
    if not url:
        return {"configured": False, "reachable": False,
                "message": "set bridge.home_assistant_url and bridge.home_assistant_token"}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            reply = await client.get(f"{url}/api/", headers=headers)
    except httpx.HTTPError as err:
        return {"configured": True, "url": url, "reachable": False, "message": f"cannot reach {url}: {err!r}"}
    if reply.status_code == 401:
        return {"configured": True, "url": url, "reachable": True, "authorized": False,
                "message": "Home Assistant rejected the access token (401)"}
    return {"configured": True, "url": url, "reachable": reply.status_code < 500, "authorized": reply.is_success,
            "status": reply.status_code, "message": reply.text[:200]}


PROBE_CACHE_SECONDS = 10.0


async def cached_probe(bridge: Any) -> dict[str, Any]:
    """/api/status is polled by UIs: ask Home Assistant at most every 10 s (2 s timeout)."""
    if not ha_config(bridge)[0]:
        return {"configured": False}
    now = time.monotonic()
    cached = bridge.ha_probe
    if cached is None or now - cached[0] > PROBE_CACHE_SECONDS:
        cached = bridge.ha_probe = (now, await homeassistant_probe(bridge, timeout=2.0))
    return cached[1]


@router.get("/api/homeassistant/status", **api_doc(
    "Is Home Assistant reachable with the configured token",
    responses={"application/json": "{configured, url, reachable, authorized, message}"}))
async def homeassistant_status(request: Request) -> Response:
    require_admin(request, "Home Assistant status")
    return json_response(await homeassistant_probe(get_bridge(request)))


@router.post("/api/homeassistant/command", **api_doc(
    "Send a text command to Home Assistant's conversation API", body="application/json",
    body_description='{"text": "turn on the light", "language": "en"} (or the text as plain text)',
    also_accepts=("text/plain",),
    responses={"application/json": "{speech, response}"}))
async def homeassistant_command(request: Request) -> Response:
    require_admin(request, "Home Assistant commands")
    bridge = get_bridge(request)
    raw = await request.body()
    if is_json_content(request):
        data = body_json(raw, "the command")
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise bad_request('expected {"text": "..."}')
    else:
        data = {"text": body_text(raw)}
    check_text(data["text"], "the command text")
    if not data["text"].strip():
        raise bad_request("empty command text")
    url, token = ha_config(bridge)
    if not url:
        raise BridgeHTTPError(503, "Home Assistant is not configured: set bridge.home_assistant_url and "
                                 "bridge.home_assistant_token")
    payload = {"text": data["text"], "language": data.get("language") or bridge.common.language}
    if data.get("conversation_id") or data.get("conversationId"):
        payload["conversation_id"] = data.get("conversation_id") or data.get("conversationId")
    try:
        async with httpx.AsyncClient(timeout=bridge.settings.reply_timeout) as client:
            reply = await client.post(f"{url}/api/conversation/process", json=payload,
                                      headers={"Authorization": f"Bearer {token}"} if token else {})
    except httpx.HTTPError as err:
        raise BridgeHTTPError(502, f"cannot reach Home Assistant at {url}: {err!r}") from err
    if reply.status_code == 401:
        raise BridgeHTTPError(502, "Home Assistant rejected the access token (401)")
    if not reply.is_success:
        raise BridgeHTTPError(502, f"Home Assistant answered {reply.status_code}: {reply.text[:300]}")
    try:
        result = reply.json()
    except ValueError as err:
        raise BridgeHTTPError(502, "Home Assistant's reply is not JSON") from err
    speech = (((result.get("response") or {}).get("speech") or {}).get("plain") or {}).get("speech")
    return json_response({"speech": speech, "response": result})


__all__ = ["router", "target_sites"]
