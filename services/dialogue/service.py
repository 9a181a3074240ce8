"""``hermesh dialogue``: the dialogue manager service, a thin shell around the pure DialogueEngine.

Every received message is fed to the engine with the event loop's clock; what it returns is published. A timer
task calls ``engine.tick`` at the engine's next deadline, so timeouts fire without any polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from hermes.asr import AsrTextCaptured
from hermes.audioserver import AudioPlayFinished
from hermes.base import HermesMessage
from hermes.dialogue import (
    DialogueConfigure,
    DialogueContinueSession,
    DialogueEndSession,
    DialogueStartSession,
)
from hermes.errors import AsrError, DialogueError, NluError
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.tts import TtsSayFinished
from services.profile import Profile
from services.runtime import HermesService, ServiceError, handles

from .engine import DialogueEngine
from .feedback_sounds import SoundError, load_sounds
from .settings import DialogueSettings

FEEDBACK_SOUND_ON = "hermes/feedback/sound/toggleOn"
FEEDBACK_SOUND_OFF = "hermes/feedback/sound/toggleOff"


class DialogueService(HermesService[DialogueSettings]):
    name = "dialogue"
    settings_model = DialogueSettings
    error_class = DialogueError

    async def setup(self) -> None:
        try:
            sounds = load_sounds(self.settings, self.profile)
        except SoundError as err:
            raise ServiceError(str(err)) from err
        self.engine = DialogueEngine(self.settings, sounds, known_intents=Profile(self.profile).intent_names(),
                                     max_sites=self.common.site_state.max_sites)
        self._deadline_changed = asyncio.Event()
        self.spawn(self._timer())

    async def on_connected(self) -> None:
        await self.add_raw_listener(FEEDBACK_SOUND_ON, self._feedback_sound)
        await self.add_raw_listener(FEEDBACK_SOUND_OFF, self._feedback_sound)

    @handles(HotwordDetected)
    @handles(DialogueStartSession)
    @handles(DialogueContinueSession)
    @handles(DialogueEndSession)
    @handles(DialogueConfigure)
    @handles(AsrTextCaptured)
    @handles(NluIntent)
    @handles(NluIntentNotRecognized)
    @handles(TtsSayFinished)
    @handles(AudioPlayFinished)
    @handles(AsrError)
    @handles(NluError)
    async def on_message(self, message: HermesMessage) -> list[HermesMessage]:
        if isinstance(message, DialogueConfigure):
            # intents may have been added by training since start-up
            self.engine.known_intents = frozenset(Profile(self.profile).intent_names())
        out = self.engine.handle(message, asyncio.get_running_loop().time())
        self._deadline_changed.set()
        return out

    async def on_site_released(self, site_id: str) -> None:
        self.engine.forget_site(site_id)

    def _feedback_sound(self, topic: str, payload: bytes) -> None:
        try:
            data: Any = json.loads(payload or b"{}")
            site_id = str(data.get("siteId") or "default") if isinstance(data, dict) else "default"
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.log.warning("dropped a malformed message on %s", topic)
            return
        if self.serves_site(site_id):
            self.engine.set_feedback_sound(site_id, topic == FEEDBACK_SOUND_ON)

    async def _timer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            deadline = self.engine.next_deadline()
            now = loop.time()
            if deadline is not None and deadline <= now:
                for message in self.engine.tick(now):
                    try:
                        await self.publish(message)
                    except ServiceError as err:  # broker gone: the timer must survive to end later sessions
                        self.log.error("could not publish %s: %s", type(message).__name__, err)
                continue
            self._deadline_changed.clear()
            timeout = None if deadline is None else deadline - now
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._deadline_changed.wait(), timeout)
