"""``hermesh intent-handler``: acts on ``hermes/intent/#`` with Home Assistant, webhooks and commands.

Each configured handler gets every intent of the sites served (unless ``rhasspy/handle/toggleOff`` switched the
site off). What they answer is spoken on the intent's site with ``hermes/tts/say`` (or, with ``end_session``,
as the text of ``endSession``). A failure (Home Assistant unreachable, a webhook down, a command crashing)
becomes a ``hermes/error/handle`` naming the cause, is optionally spoken, and the service carries on.
"""

from __future__ import annotations

import asyncio
import uuid

from hermes.dialogue import DialogueEndSession
from hermes.errors import HandleError
from hermes.handle import HandleToggleOff, HandleToggleOn
from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.tts import TtsSay
from services.runtime import HermesService, ServiceError, handles

from .command import CommandHandler
from .handlers import HandlerError, IntentHandler
from .home_assistant import HomeAssistantHandler
from .settings import IntentHandlerSettings
from .webhook import WebhookHandler


def build_handlers(settings: IntentHandlerSettings, language: str) -> list[IntentHandler]:
    handlers: list[IntentHandler] = []
    if settings.home_assistant.enabled:
        handlers.append(HomeAssistantHandler(settings.home_assistant, language))
    if settings.webhooks.urls:
        handlers.append(WebhookHandler(settings.webhooks))
    if settings.command.program:
        handlers.append(CommandHandler(settings.command))
    return handlers


class IntentHandlerService(HermesService[IntentHandlerSettings]):
    name = "intent-handler"
    settings_model = IntentHandlerSettings
    error_class = HandleError

    async def setup(self) -> None:
        try:
            self.handlers = build_handlers(self.settings, self.common.language)
        except HandlerError as err:
            raise ServiceError(f"intent_handler: {err}") from err
        if not self.handlers:
            self.log.warning("no intent handler is configured (intent_handler.home_assistant.enabled, "
                             ".webhooks.urls or .command.program); intents are ignored")
        self.disabled_sites: set[str] = set()

    def handled_intents(self) -> list[str]:
        # Only with end_session does this service end the sessions of the intents it handles; Rhasspy-style it
        # speaks and leaves the session to time out, so its death leaves nobody waiting on it.
        return ["*"] if self.handlers and self.settings.end_session else []

    async def teardown(self) -> None:
        for handler in self.handlers:
            await handler.close()

    @handles(HandleToggleOff)
    async def on_toggle_off(self, message: HandleToggleOff) -> None:
        self.disabled_sites.add(message.site_id)

    @handles(HandleToggleOn)
    async def on_toggle_on(self, message: HandleToggleOn) -> None:
        self.disabled_sites.discard(message.site_id)

    @handles(NluIntent)
    async def on_intent(self, intent: NluIntent) -> None:
        if intent.site_id in self.disabled_sites:
            self.log.debug("handling is off for site %s; ignored %s", intent.site_id, intent.intent_name)
            return
        # HTTP calls and programs take time: run them outside the site's message queue.
        self.spawn(self._run(intent, [h.handle(intent) for h in self.handlers]), origin=intent)

    @handles(NluIntentNotRecognized)
    async def on_not_recognized(self, message: NluIntentNotRecognized) -> None:
        if message.site_id in self.disabled_sites or not self.handlers:
            return
        self.spawn(self._run(message, [h.handle_not_recognized(message) for h in self.handlers]), origin=message)

    async def _run(self, origin: NluIntent | NluIntentNotRecognized, calls: list) -> None:  # type: ignore[type-arg]
        results = await asyncio.gather(*calls, return_exceptions=True)
        speeches: list[str] = []
        failed = False
        for handler, result in zip(self.handlers, results, strict=True):
            if isinstance(result, HandlerError):
                failed = True
                await self.report_error(ServiceError(str(result), context=handler.name), origin, origin.topic())
            elif isinstance(result, BaseException):
                failed = True
                await self.report_error(result, origin, origin.topic())
            elif result:
                speeches.append(result)
        if failed and self.settings.speak_errors:
            speeches.append(self.settings.error_text)
        if speeches:
            await self._speak(origin, " ".join(speeches))

    async def _speak(self, origin: NluIntent | NluIntentNotRecognized, text: str) -> None:
        # A text that was not recognised has no session left to end: the dialogue manager ended it on the NLU's
        # intentNotRecognized (or, with sendIntentNotRecognized, left it to the app), so an endSession carrying
        # Home Assistant's conversation reply would be refused and the reply never spoken.
        if self.settings.end_session and origin.session_id and isinstance(origin, NluIntent):
            await self.publish(DialogueEndSession(session_id=origin.session_id, text=text))
            return
        lang = origin.lang if isinstance(origin, NluIntent) else None
        await self.publish(TtsSay(text=text, site_id=origin.site_id, lang=lang, id=str(uuid.uuid4()),
                                  session_id=origin.session_id))
