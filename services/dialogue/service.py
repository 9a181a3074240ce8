"""``hermesh dialogue``: the dialogue manager service, a thin shell around the pure DialogueEngine.

Every received message is fed to the engine with the event loop's clock; what it returns is published. A timer
task calls ``engine.tick`` at the engine's next deadline, so timeouts fire without any polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluTrain
from hermes.snips import FeedbackSoundToggleOff, FeedbackSoundToggleOn
from hermes.status import DialogueOpenSessions, ServiceStatus
from hermes.tts import TtsSayFinished
from services.nlu.trainings import TrainingsAwaitingAnswer
from services.profile import Profile, intent_names_in
from services.runtime import HermesService, ServiceError, ServiceTimeout, handles
from services.runtime.service_status import ServiceRegistry

from .engine import DialogueEngine
from .feedback_sounds import SoundError, load_sounds
from .service_loss import service_event
from .settings import DialogueSettings

RETAINED_WAIT = 2.0  # a retained message arrives right after the subscription; its absence is seen this late
MAX_RECORDED_SESSIONS = 2000  # bounds the retained record (~150 bytes a session) far below the JSON payload cap


def _intent_names(train: NluTrain) -> frozenset[str]:
    return frozenset(name for text in (train.sentences or {}).values() for name in intent_names_in(text))


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
        # What hermesh/status says of every service; its transitions become the engine's ServiceGone/Back.
        self.services = ServiceRegistry()
        self._recorded: list[str] | None = None  # session ids in the retained record; None: not read back yet
        # The known intents are the NLU's, not the files': a training the NLU refused (or never got, because the
        # ASR refused first) must not change them. trainSuccess carries only the training's id, so the intent
        # names are read from the train message itself and kept until its answer.
        await TrainingsAwaitingAnswer(_intent_names).listen(self, self._on_nlu_trained)
        self.spawn(self._timer())

    async def on_connected(self) -> None:
        if self.connections == 1:
            self.spawn(self._end_sessions_of_predecessor())
        else:  # back after a lost broker: sessions that ran across the gap end now
            await self._publish_all(self.engine.broker_reconnected(asyncio.get_running_loop().time()))
            self._deadline_changed.set()
            if self._recorded is not None:  # a restarted broker may have lost the record
                with contextlib.suppress(ServiceError):
                    await self._record_open_sessions(force=True)

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
    @handles(ServiceStatus, all_sites=True)  # sessions waiting on a service that went away end (soon)
    async def on_message(self, message: HermesMessage) -> AsyncIterator[HermesMessage]:
        now = asyncio.get_running_loop().time()
        if isinstance(message, ServiceStatus):
            event = service_event(self.services, message)
            out = self.engine.service_changed(event, now) if event is not None else []
        else:
            out = self.engine.handle(message, now)
        self._deadline_changed.set()
        for reply in out:
            yield reply
        # After the replies: a crash between the two leaves a session recorded, so it is ended, never lost.
        await self._record_open_sessions()

    # ---- the intents of the NLU's last successful training -------------------------------------------------------
    # Listeners, not handlers: they run as each message is received, for every site (the trainer's site is rarely
    # one this service serves), and a trainSuccess is seen before any later configure or session message. A
    # training sent before this service started is not seen: its intents are what the start-up read found.
    def _on_nlu_trained(self, names: frozenset[str]) -> None:
        if names != self.engine.known_intents:
            self.log.info("the NLU trained: %d known intents (%s)", len(names), ", ".join(sorted(names)))
        self.engine.known_intents = names

    # ---- surviving a kill -9 of this service ------------------------------------------------------------------
    async def _end_sessions_of_predecessor(self) -> None:
        """Read the retained record of the dialogue manager that ran as this instance before; end its sessions."""
        record = self.expect(DialogueOpenSessions, match=lambda m: m.instance == self.instance)
        await self.subscribe_extra(DialogueOpenSessions.format_topic(instance=self.instance))
        try:
            previous = await record.wait(RETAINED_WAIT)
        except ServiceTimeout:
            previous = None
        if previous is not None and previous.sessions:
            self.log.warning("ending %d session(s) left open by the previous dialogue manager",
                             len(previous.sessions))
            await self._publish_all(self.engine.end_lost_sessions(previous.sessions, asyncio.get_running_loop().time()))
        self._recorded = []
        await self._record_open_sessions(force=bool(previous and previous.sessions))

    async def _record_open_sessions(self, force: bool = False) -> None:
        if self._recorded is None:
            return  # the predecessor's record is not read yet: do not overwrite it
        sessions = self.engine.open_sessions()[:MAX_RECORDED_SESSIONS]
        ids = [s.session_id for s in sessions]
        if ids == self._recorded and not force:
            return
        self._recorded = ids
        await self.publish(DialogueOpenSessions(instance=self.instance, sessions=sessions), retain=True)

    async def on_site_released(self, site_id: str) -> None:
        self.engine.forget_site(site_id)

    # Snips' feedback sound switch (hermes/feedback/sound/toggleOn|Off): the site's beeps on or off.
    @handles(FeedbackSoundToggleOn)
    async def on_feedback_sound_on(self, message: FeedbackSoundToggleOn) -> None:
        self.engine.set_feedback_sound(message.site_id, True)

    @handles(FeedbackSoundToggleOff)
    async def on_feedback_sound_off(self, message: FeedbackSoundToggleOff) -> None:
        self.engine.set_feedback_sound(message.site_id, False)

    async def _timer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            deadline = self.engine.next_deadline()
            now = loop.time()
            if deadline is not None and deadline <= now:
                await self._publish_all(self.engine.tick(now))
                with contextlib.suppress(ServiceError):
                    await self._record_open_sessions()
                continue
            self._deadline_changed.clear()
            timeout = None if deadline is None else deadline - now
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._deadline_changed.wait(), timeout)

    async def _publish_all(self, messages: list[HermesMessage]) -> None:
        """Publish what the engine decided outside a handler (timer, reconnection), each message on its own."""
        for message in messages:
            try:
                await self.publish(message)
            except ServiceError as err:  # broker gone: the timer must survive to end later sessions
                self.log.error("could not publish %s: %s", type(message).__name__, err)
