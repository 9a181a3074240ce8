"""Webhooks: POST the intent JSON to the URLs configured for its name (and to those for every intent)."""

from __future__ import annotations

import httpx

from hermes.nlu import NluIntent, NluIntentNotRecognized

from .handlers import HandlerError, intent_json, speech_from_reply
from .settings import WebhookSettings


class WebhookHandler:
    name = "webhooks"

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(verify=settings.verify_tls, timeout=settings.timeout)

    def urls_for(self, intent_name: str) -> list[str]:
        return [*self.settings.urls.get("*", []), *self.settings.urls.get(intent_name, [])]

    async def handle(self, intent: NluIntent) -> str | None:
        body = intent_json(intent)
        speeches: list[str] = []
        errors: list[str] = []
        for url in self.urls_for(intent.intent_name):
            try:
                response = await self.client.post(url, json=body)
            except httpx.HTTPError as err:
                errors.append(f"webhook {url} failed for intent {intent.intent_name}: {err or type(err).__name__}")
                continue
            if response.status_code >= 400:
                errors.append(f"webhook {url} answered HTTP {response.status_code} for intent {intent.intent_name}")
                continue
            if self.settings.speak_reply:
                try:
                    speech = speech_from_reply(response.content, f"webhook {url}")
                except HandlerError as err:
                    errors.append(str(err))
                    continue
                if speech:
                    speeches.append(speech)
        if errors:
            # the other URLs were still called; the reply text (if any) is lost with the error
            raise HandlerError("; ".join(errors))
        return " ".join(speeches) or None

    async def handle_not_recognized(self, message: NluIntentNotRecognized) -> str | None:
        return None

    async def close(self) -> None:
        await self.client.aclose()
