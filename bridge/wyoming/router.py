"""Delivers the broker's replies to the Wyoming connection or satellite they belong to.

Every server connection and every satellite owns a ``Mailbox`` keyed by its site id and the session and
request ids it is waiting on. One set of raw listeners on the bridge's service parses each message once
and drops it into the mailboxes whose keys it carries (site id, session id or request id). playBytes for a
site of ours that no flow is waiting to stream are answered with playFinished at once, so a TTS never
waits on a speaker that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from hermes.asr import AsrPartialTextCaptured, AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioPlayBytes, AudioPlayFinished, AudioToggleOff, AudioToggleOn
from hermes.base import HermesMessage, HermesProtocolError
from hermes.dialogue import (
    DialogueContinueSession,
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
)
from hermes.errors import (
    AsrError,
    AudioPlayError,
    AudioRecordError,
    DialogueError,
    HandleError,
    HotwordError,
    NluError,
    TrainError,
    TtsError,
)
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.registry import parse
from hermes.tts import TtsSay, TtsSayFinished

LOG = logging.getLogger("hermesh.bridge.wyoming")

M = TypeVar("M", bound=HermesMessage)

# What a connection or satellite may wait for. Every error class on hermes/error/... (g2p's is rhasspy/error/g2p:
# no flow waits on the g2p service).
REPLY_CLASSES: tuple[type[HermesMessage], ...] = (
    AudioPlayBytes, AudioPlayFinished, AudioToggleOn, AudioToggleOff,
    AsrTextCaptured, AsrPartialTextCaptured, AsrStartListening,
    HotwordDetected,
    NluIntent, NluIntentNotRecognized,
    TtsSay, TtsSayFinished,
    DialogueEndSession, DialogueContinueSession, DialogueSessionStarted, DialogueSessionEnded,
    AsrError, NluError, HotwordError, TtsError, DialogueError, AudioPlayError, AudioRecordError, HandleError,
    TrainError,
)


class Mailbox:
    """Messages for one connection or satellite, taken out by type and predicate with a timeout."""

    def __init__(self, site_id: str) -> None:
        self.site_id = site_id
        self.keys: set[str] = {site_id}
        self.streams_audio: set[str] = set()  # playBytes request ids a flow will answer itself
        self.streams_all_audio = False  # a satellite plays everything sent to its site
        self._items: list[HermesMessage] = []
        self._changed = asyncio.Event()
        self.listener: Callable[[HermesMessage], None] | None = None  # called for every delivered message

    def deliver(self, message: HermesMessage) -> None:
        if self.listener is not None:
            self.listener(message)
            return
        self._items.append(message)
        if len(self._items) > 2000:  # nobody is reading: keep the newest
            del self._items[:1000]
        self._changed.set()

    def clear(self) -> None:
        self._items.clear()

    def take_nowait(self, cls: type[M] | tuple[type[HermesMessage], ...], match: Callable[[Any], bool] | None = None
                    ) -> HermesMessage | None:
        for index, item in enumerate(self._items):
            if isinstance(item, cls) and (match is None or match(item)):
                del self._items[index]
                return item
        return None

    async def take(self, cls: type[M] | tuple[type[HermesMessage], ...], match: Callable[[Any], bool] | None = None,
                   timeout: float = 10.0) -> Any:
        """The first message of ``cls`` accepted by ``match``; raises asyncio.TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.take_nowait(cls, match)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            try:  # not wait_for: on 3.11 it can swallow a cancellation that races with the event
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                waiter.cancel()


class Router:
    """Raw listeners on the bridge's service feeding the mailboxes."""

    def __init__(self, service: Any, own_site: Callable[[str], bool]) -> None:
        self.service = service
        self.own_site = own_site  # sites whose playBytes we answer when nobody streams them
        self.mailboxes: list[Mailbox] = []
        self._removers: list[Callable[[], None]] = []

    async def start(self) -> None:
        for topic_filter in dict.fromkeys(cls.subscribe_filter() for cls in REPLY_CLASSES):
            self._removers.append(await self.service.add_raw_listener(topic_filter, self._on_message))

    def stop(self) -> None:
        for remove in self._removers:
            remove()
        self._removers.clear()

    def add(self, mailbox: Mailbox) -> Mailbox:
        self.mailboxes.append(mailbox)
        return mailbox

    def remove(self, mailbox: Mailbox) -> None:
        with contextlib.suppress(ValueError):
            self.mailboxes.remove(mailbox)

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            message = parse(topic, payload)
        except HermesProtocolError:
            return
        keys = {key for key in (message.get_site_id(), message.get_session_id(), getattr(message, "id", None)) if key}
        owners = [box for box in self.mailboxes if box.keys & keys]
        for box in owners:
            box.deliver(message)
        if isinstance(message, DialogueSessionStarted) and self.own_site(message.site_id):
            # A dialogue manager woke up on a connection's detect audio: that site has no user to talk to.
            self.service.spawn(self.service.publish(DialogueEndSession(session_id=message.session_id)))
        if isinstance(message, AudioPlayBytes) and self.own_site(message.site_id):
            streamed = any(message.request_id in box.streams_audio or box.streams_all_audio for box in owners
                           if box.site_id == message.site_id)
            if not streamed:
                finished = AudioPlayFinished(id=message.request_id, site_id=message.site_id)
                self.service.spawn(self.service.publish(finished))
