"""The interface every intent handler implements, the errors they raise and helpers they share."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any, Protocol

from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.rhasspy_json import intent_to_rhasspy


class HandlerError(Exception):
    """A failure a user can act on; the message names the handler, the target and what to check."""


class IntentHandler(Protocol):
    """One way of acting on an intent. Returns the text to speak (or None)."""

    name: str

    async def handle(self, intent: NluIntent) -> str | None: ...

    async def handle_not_recognized(self, message: NluIntentNotRecognized) -> str | None: ...

    async def close(self) -> None: ...


def intent_json(intent: NluIntent) -> dict[str, Any]:
    """The Rhasspy intent dict (rhasspy-http-api.md §3a) plus where it came from, as Rhasspy's remote handler sends."""
    data = intent_to_rhasspy(intent)
    data["site_id"] = intent.site_id
    data["session_id"] = intent.session_id
    data["custom_data"] = intent.custom_data
    return data


def speech_from_reply(body: bytes | str, where: str) -> str | None:
    """``speech.text`` of a JSON reply (Rhasspy's remote/command contract); an empty or non-JSON reply says nothing."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise HandlerError(f"{where} replied with something that is not JSON: {text[:120]!r} ({err.msg})") from err
    if not isinstance(data, dict):
        return None
    speech = data.get("speech")
    if isinstance(speech, str):
        return speech or None
    if isinstance(speech, dict) and isinstance(speech.get("text"), str):
        return speech["text"] or None
    return None


def tls_context(verify: bool, ca_file: Path | None, cert_file: Path | None, key_file: Path | None,
                what: str) -> ssl.SSLContext | bool:
    """httpx's ``verify`` argument from our TLS options; file problems are reported naming the setting."""
    if verify and not (ca_file or cert_file):
        return True
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        if ca_file:
            context.load_verify_locations(cafile=str(ca_file))
        if cert_file:
            context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    except (OSError, ssl.SSLError) as err:
        raise HandlerError(f"{what}: cannot load the TLS files ({ca_file or ''} {cert_file or ''}): {err}") from err
    return context
