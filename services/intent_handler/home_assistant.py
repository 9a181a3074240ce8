"""Home Assistant over its REST API: fire events, handle intents, or hand the text to its conversation agent."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urljoin

import httpx

from hermes.nlu import NluIntent, NluIntentNotRecognized

from .handlers import HandlerError, tls_context
from .settings import HomeAssistantSettings


def event_data(intent: NluIntent) -> dict[str, Any]:
    """Rhasspy 2.5's flat event/intent data: slot values, ``<slot>_raw_value`` and the meta slots."""
    data: dict[str, Any] = {}
    for slot in intent.slots or []:
        name = slot.slot_name or slot.entity
        data[name] = slot.value.get("value")
        if slot.raw_value:
            data[f"{name}_raw_value"] = slot.raw_value
    data["_text"] = intent.input
    data["_raw_text"] = intent.raw_input or intent.input
    data["_intent"] = intent.to_wire()
    data["_site_id"] = intent.site_id
    return data


class HomeAssistantHandler:
    name = "home_assistant"

    def __init__(self, settings: HomeAssistantSettings, language: str = "en") -> None:
        self.settings = settings
        self.language = settings.language or language
        self.base = settings.url if settings.url.endswith("/") else settings.url + "/"
        verify = tls_context(settings.verify_tls, settings.ca_file, settings.cert_file, settings.key_file,
                             "home_assistant")
        self.client = httpx.AsyncClient(verify=verify, timeout=settings.timeout, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        token = self.settings.access_token.get_secret_value() if self.settings.access_token else None
        # inside a Home Assistant add-on the supervisor hands out a token
        token = token or os.environ.get("SUPERVISOR_TOKEN") or os.environ.get("HASSIO_TOKEN")
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def close(self) -> None:
        await self.client.aclose()

    async def handle(self, intent: NluIntent) -> str | None:
        mode = self.settings.handle_type
        if mode == "event":
            event_type = self.settings.event_type_format.format(intent.intent_name)
            await self._post(f"api/events/{event_type}", event_data(intent), f"event {event_type}")
            return None
        if mode == "intent":
            reply = await self._post("api/intent/handle", {"name": intent.intent_name, "data": event_data(intent)},
                                     f"intent {intent.intent_name}")
            return _plain_speech(reply)
        return await self._converse(intent.raw_input or intent.input)

    async def handle_not_recognized(self, message: NluIntentNotRecognized) -> str | None:
        s = self.settings
        if (s.conversation_on_not_recognized if s.handle_type == "conversation" else s.conversation_fallback):
            return await self._converse(message.input) if message.input.strip() else None
        return None

    async def _converse(self, text: str) -> str | None:
        reply = await self._post("api/conversation/process", {"text": text, "language": self.language},
                                 f"conversation {text!r}")
        response = reply.get("response") if isinstance(reply, dict) else None
        return _plain_speech(response)

    async def _post(self, path: str, body: dict[str, Any], what: str) -> Any:
        url = urljoin(self.base, path)
        try:
            response = await self.client.post(url, json=body)
        except httpx.TimeoutException as err:
            raise HandlerError(f"Home Assistant at {self.base} did not answer {what} within "
                               f"{self.settings.timeout:g} s") from err
        except httpx.HTTPError as err:
            if "CERTIFICATE_VERIFY_FAILED" in str(err):
                raise HandlerError(f"the TLS certificate of Home Assistant at {self.base} is not trusted ({err}); "
                                   "set home_assistant.ca_file to its CA, or verify_tls to false for a "
                                   "self-signed certificate") from err
            raise HandlerError(f"Home Assistant at {self.base} is unreachable for {what} ({err or type(err).__name__});"
                               " check home_assistant.url and that Home Assistant is running") from err
        if response.status_code == 401:
            raise HandlerError(f"Home Assistant at {self.base} rejected the access token (HTTP 401) for {what};"
                               " set home_assistant.access_token to a valid long-lived token")
        if response.status_code >= 400:
            hint = ""
            if path == "api/intent/handle":
                hint = " (is the intent defined in intent_script: and `intent:` enabled in configuration.yaml?)"
            raise HandlerError(f"Home Assistant at {self.base} refused {what}: HTTP {response.status_code}"
                               f" {response.text[:200]!r}{hint}")
        try:
            return response.json()
        except ValueError:
            return None


def _plain_speech(reply: Any) -> str | None:
    """``speech.plain.speech`` of an HA intent response (empty for most built-in intents)."""
    if not isinstance(reply, dict):
        return None
    speech = reply.get("speech")
    if isinstance(speech, dict):
        plain = speech.get("plain")
        if isinstance(plain, dict) and isinstance(plain.get("speech"), str):
            return plain["speech"] or None
    return None
