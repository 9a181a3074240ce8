"""The dialogue manager's session state machine as a pure engine: messages and time in, messages out.

``DialogueEngine.handle(message, now)`` and ``tick(now)`` return the Hermes messages to publish; the engine
never reads a clock and never touches the broker, so every transition and timeout is tested by feeding it
messages and times. ``next_deadline()`` tells the service when to call ``tick``.

One active session per site, a FIFO queue per site, any number of sites at once. A site's state is dropped
as soon as it is back to the defaults (no session, nothing queued, no configure, sound on), so the fresh site
ids of Wyoming connections and MQTT clients cost nothing once their sessions end; configured sites are kept,
at most ``max_sites`` of them (the least recently used goes first). Every wait (feedback sound,
speech, transcript, NLU answer, handler answer) has a deadline; feedback and speech waits move on when they
expire, the others end the session with reason ``timeout``, so a session can never hang.

Where Rhasspy 2.5 deviates from Snips (hermes-protocol.md §7), the choice made here:

=========================================  ==========  ===========================================================
behaviour                                  follows     why
=========================================  ==========  ===========================================================
who publishes hermes/intent/<name>         Rhasspy     the NLU does; the DM never duplicates it (§7.1)
startListening.sendAudioCaptured           Rhasspy     true by default (setting); the bridge keeps the utterance
wake sessions' customData                  Rhasspy     = wakeword id; Rhasspy clients read it (§7.3)
wake session ids                           Rhasspy     ``<siteId>-<wakewordId>-<uuid>``; startSession: a uuid
startSession ``lang``                      Snips       kept in the session and passed to ASR, NLU and TTS: Rhasspy
                                                       drops it (§7.4), so an app in another language got English
notification while the site is busy        Snips       queued (sessionQueued), not spoken into the active session:
                                                       Rhasspy speaks it there and ends that session (§7.5),
                                                       cutting off the dialogue the user is in
action, canBeEnqueued=false, site busy     Rhasspy     the active session ends abortedByUser and the new one
                                                       starts; rhasspy-hermes has no ``siteUnavailable`` reason
                                                       to report a Snips-style drop
canBeEnqueued absent                       Snips       true (hermes.dialogue's default): rhasspy-hermes refuses
                                                       the message (KeyError, §7.7), so a Snips app that leaves
                                                       it out could start no session
wake word during a session                 Rhasspy     aborts it (abortedByUser); the new session jumps the queue
configure                                  Snips       per site, enable/disable both count: session filter (or
                                                       the site's enabled intents, or every known intent) minus
                                                       the disabled ones; an intent outside it is not recognised.
                                                       Rhasspy's is global and enable-only (§7.6): an app could
                                                       not switch one intent off in one room. Known intents: the
                                                       NLU's last trainSuccess (start-up: the sentence files)
hotword during the NLU/handler phase       Rhasspy     back on after textCaptured, so a wake word can interrupt
error beep                                 Snips       only for an intentNotRecognized of a session: Rhasspy beeps
                                                       for every one, even of no session, so a text query that no
                                                       session made beeped in the room
hermes/error/asr|nlu for a session         Snips       ends it with reason ``error``: Rhasspy ignores the error and
                                                       the user waits out the session timeout (30 s) for nothing
a service gone (hermesh/status offline)    Hermesh     sessions waiting on it (asr listening, nlu recognising,
                                                       tts speaking, an intent handler or app whose status lists
                                                       the session's intent and that nobody else handles) end
                                                       with ``error`` at once, the text in
                                                       ``termination.error``; a feedback sound's wait goes on
                                                       when audio-output goes; a wait is not even begun on a
                                                       service known offline (nor for an intent that only
                                                       offline clients handle)
one worker of a pool gone                  Hermesh     a live worker may hold the session: it gets
                                                       ``worker_lost_timeout`` more, then ends with ``error``
                                                       naming the worker (never resent: twice is worse)
broker connection lost and back            Hermesh     ``broker_reconnected`` ends every active session with
                                                       ``error``: what was sent meanwhile is lost for good
dialogue manager killed                    Hermesh     its successor ends the sessions it had open
                                                       (``end_lost_sessions``, from a retained topic) with
                                                       ``error`` and switches their sites' hotword on again
unknown session on continue/endSession     Snips       a hermes/error/dialogueManager naming the session: Rhasspy
                                                       only logs, so the app never learns its session had ended
continueSession naming another siteId      Rhasspy     tied to its sessionId whatever siteId it carries (as
                                                       endSession): rhasspy-hermes 0.3 writes siteId "default" in
                                                       it, so a site filter would drop a satellite's continuation
continueSession ``slot``                   Rhasspy     accepted and ignored (no slot filling in the NLU)
hermes/feedback/sound/toggleOn|Off         Snips       per-site feedback sound switch (``set_feedback_sound``):
                                                       Rhasspy lacks it (§3.4) and Snips apps send it; it is the
                                                       per-site no-sound set Rhasspy has, switched at run time
group separator (co-located satellites)    Rhasspy     one wake per group until the text is captured
stopListening at session end               Snips       only when the ASR is still listening for the session: the
                                                       DM stopped it at textCaptured already; Rhasspy sends a
                                                       second stop at every end, for nothing
intentNotRecognized naming a session       Rhasspy     ends it (reason intentNotRecognized, the message's
                                                       customData if it has one) in any phase, as apps end
                                                       sessions; the NLU's answer while recognising still beeps
                                                       first; sendIntentNotRecognized: only the NLU's counts
=========================================  ==========  ===========================================================
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured, AsrToggleOff, AsrToggleOn
from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.base import HermesMessage
from hermes.common import ToggleReason
from hermes.dialogue import (
    DialogueAction,
    DialogueConfigure,
    DialogueContinueSession,
    DialogueEndSession,
    DialogueIntentNotRecognized,
    DialogueNotification,
    DialogueSessionEnded,
    DialogueSessionQueued,
    DialogueSessionStarted,
    DialogueSessionTermination,
    DialogueStartSession,
)
from hermes.dialogue import DialogueSessionTerminationReason as Reason
from hermes.errors import AsrError, DialogueError, NluError
from hermes.hotword import HotwordDetected, HotwordToggleOff, HotwordToggleOn
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery
from hermes.status import OpenSession
from hermes.tts import TtsSay, TtsSayFinished
from services.runtime.site_registry import SiteRegistry

from .service_loss import ServiceBack, ServiceGone
from .session import Lost, Out, Phase, Session, Sound, Wait
from .settings import DialogueSettings

__all__ = ["DialogueEngine", "Out", "Phase", "Session", "Sound", "Wait"]

log = logging.getLogger("hermesh.dialogue.engine")

@dataclass
class _Site:
    active: Session | None = None
    queue: deque[Session] = field(default_factory=deque)
    intents: dict[str, bool] = field(default_factory=dict)  # from configure
    sound_on: bool = True

    def busy(self) -> bool:
        return self.active is not None or bool(self.queue)

    def is_default(self) -> bool:
        """Nothing here that a fresh site would not have: forgetting it changes nothing."""
        return not self.busy() and self.sound_on and all(self.intents.values())


class DialogueEngine:
    """Session state machine for all sites. Not thread-safe; one caller feeds it in order."""

    def __init__(
        self,
        settings: DialogueSettings | None = None,
        sounds: dict[str, Sound] | None = None,
        new_id: Callable[[], str] | None = None,
        known_intents: Iterable[str] = (),
        max_sites: int = 1000,
    ) -> None:
        self.settings = settings or DialogueSettings()
        self.sounds = dict(sounds or {})
        self.new_id = new_id or (lambda: str(uuid.uuid4()))
        self.known_intents: frozenset[str] = frozenset(known_intents)
        self._now = 0.0
        # No idle expiry: what is left after a session is a setting (configure, feedback sound), not a cache.
        self._sites: SiteRegistry[_Site] = SiteRegistry(
            _Site, idle_seconds=None, max_sites=max_sites, busy=lambda _, site: site.busy(), clock=lambda: self._now)
        self._sessions: dict[str, Session] = {}  # active and queued, by id
        # Services known offline (``service_changed``): a wait on them is not even begun. Of those that handled
        # intents, how they went: an intent that only they handled is not waited for either.
        self.offline: set[str] = set()
        self._gone_handlers: dict[str, ServiceGone] = {}

    # ---- queries ----------------------------------------------------------------------------------------------
    def active_session(self, site_id: str) -> Session | None:
        site = self._sites.get(site_id)
        return site.active if site else None

    def queued_sessions(self, site_id: str) -> list[Session]:
        site = self._sites.get(site_id)
        return list(site.queue) if site else []

    @property
    def site_count(self) -> int:
        """Sites whose state is kept (busy or configured)."""
        return len(self._sites)

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def next_deadline(self) -> float | None:
        deadlines = [
            d
            for site in self._sites.values()
            if (s := site.active) is not None
            for d in (s.wait.deadline if s.wait else s.deadline, s.lost.deadline if s.lost else None)
        ]
        present = [d for d in deadlines if d is not None]
        return min(present) if present else None

    # ---- inputs -----------------------------------------------------------------------------------------------
    def handle(self, message: HermesMessage, now: float) -> Out:
        """Feed one received message; returns what to publish, in order."""
        self._now = now
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            return []
        return handler(self, message)

    def tick(self, now: float) -> Out:
        """Expire every wait whose deadline has passed."""
        self._now = now
        out: Out = []
        for site in list(self._sites.values()):
            session = site.active
            if session is None:
                continue
            if session.lost is not None and now >= session.lost.deadline:
                lost, session.lost = session.lost, None
                if lost.key == session.wait_key():  # still waiting for what the dead worker may have had
                    log.warning("session %s ends: %s", session.session_id, lost.error)
                    out += self._end(session, Reason.ERROR, lost.error)
                    continue
            if session.wait is not None and now >= session.wait.deadline:
                what = "playFinished" if session.wait.reason == ToggleReason.PLAY_AUDIO else "tts/sayFinished"
                log.warning("session %s: no %s in time; going on", session.session_id, what)
                out += self._finish_wait(session)
            elif session.wait is None and session.deadline is not None and now >= session.deadline:
                log.warning("session %s timed out while %s", session.session_id, session.phase.value)
                out += self._end(session, Reason.TIMEOUT)
        return out

    def set_feedback_sound(self, site_id: str, enabled: bool) -> None:
        """Snips' hermes/feedback/sound/toggleOn|Off for one site."""
        self._site(site_id).sound_on = enabled
        self._forget_if_default(site_id)

    def forget_site(self, site_id: str) -> None:
        """The site will not be used again: drop its settings now; a session still running ends as usual."""
        site = self._sites.get(site_id)
        if site is not None and not site.busy():
            self._sites.release(site_id)

    def broker_reconnected(self, now: float) -> Out:
        """The connection to the broker dropped and is back. Messages of the gap are gone (a textCaptured, an
        intent, a sayFinished), so no active session can be trusted to go on: each ends with ``error`` (the
        site's queued sessions then start afresh)."""
        self._now = now
        out: Out = []
        for site in list(self._sites.values()):
            if site.active is not None:
                log.warning("session %s ends: the broker connection was lost", site.active.session_id)
                out += self._end(site.active, Reason.ERROR,
                                 "the connection to the MQTT broker was lost while the session ran")
        return out

    def open_sessions(self) -> list[OpenSession]:
        """Every session this engine runs (active and queued), for the retained record that outlives a crash."""
        return [OpenSession(session_id=s.session_id, site_id=s.site_id, custom_data=s.custom_data)
                for s in self._sessions.values()]

    def end_lost_sessions(self, lost: Iterable[OpenSession], now: float) -> Out:
        """Sessions a previous dialogue manager had open when it died: nobody runs them any more, so each ends
        with ``error``. What that manager had switched off for them (the site's hotword, the ASR listening) is
        switched on or stopped, unless a session of ours now runs on the site."""
        self._now = now
        out: Out = []
        for session in lost:
            if session.session_id in self._sessions:
                continue
            out += [
                AsrStopListening(site_id=session.site_id, session_id=session.session_id),
                DialogueSessionEnded(
                    termination=DialogueSessionTermination(
                        reason=Reason.ERROR, error="the dialogue manager stopped while the session ran"),
                    session_id=session.session_id, site_id=session.site_id, custom_data=session.custom_data,
                ),
            ]
            if self.active_session(session.site_id) is None:
                out.append(HotwordToggleOn(site_id=session.site_id, reason=ToggleReason.DIALOGUE_SESSION))
        return out

    # ---- message handlers -------------------------------------------------------------------------------------
    def _on_detected(self, detected: HotwordDetected) -> Out:
        wakeword = detected.wakeword_id
        accepted = self.settings.wakeword_ids
        if accepted and wakeword not in accepted:
            log.debug("ignored wake word %s (accepted: %s)", wakeword, accepted)
            return []
        site_id = detected.site_id
        if self._group_is_listening(site_id):
            log.info("ignored wake word on %s: another site of its group is already listening", site_id)
            return []
        session_id = detected.session_id or f"{site_id}-{wakeword}-{self.new_id()}"
        send_audio = self.settings.send_audio_captured
        if detected.send_audio_captured is not None:
            send_audio = detected.send_audio_captured
        session = Session(
            session_id=session_id,
            site_id=site_id,
            custom_data=wakeword,
            lang=detected.lang,
            wakeword_id=wakeword,
            detected=detected,
            send_audio_captured=send_audio,
        )
        return self._begin_or_preempt(session)

    def _on_start_session(self, start: DialogueStartSession) -> Out:
        init = start.init
        session = Session(
            session_id=self.new_id(), site_id=start.site_id, custom_data=start.custom_data, lang=start.lang,
            send_audio_captured=self.settings.send_audio_captured, text=init.text,
        )
        site = self._site(start.site_id)
        if isinstance(init, DialogueNotification):
            session.notification = True
            if site.active is None:
                return self._activate(session)
            return self._enqueue(session)
        assert isinstance(init, DialogueAction)
        session.intent_filter = init.intent_filter
        session.send_intent_not_recognized = init.send_intent_not_recognized
        if site.active is None:
            return self._activate(session)
        if init.can_be_enqueued:
            return self._enqueue(session)
        return self._begin_or_preempt(session)

    def _on_continue(self, cont: DialogueContinueSession) -> Out:
        session = self._sessions.get(cont.session_id)
        if session is None or session.phase in (Phase.QUEUED, Phase.ENDING):
            return self._unknown_session(cont.session_id, "continueSession")
        out = self._abandon_wait(session)
        session.step += 1
        if cont.custom_data is not None:
            session.custom_data = cont.custom_data
        if cont.lang is not None:
            session.lang = cont.lang
        session.intent_filter = cont.intent_filter
        session.send_intent_not_recognized = cont.send_intent_not_recognized
        session.unrecognized = False
        if session.phase == Phase.LISTENING:
            out.append(AsrStopListening(site_id=session.site_id, session_id=session.session_id))
        session.phase = Phase.STARTING
        session.deadline = None
        out.append(HotwordToggleOff(site_id=session.site_id, reason=ToggleReason.DIALOGUE_SESSION))
        return out + self._say(session, cont.text, lambda: self._listen(session))

    def _on_end(self, end: DialogueEndSession) -> Out:
        session = self._sessions.get(end.session_id)
        if session is None or session.phase in (Phase.QUEUED, Phase.ENDING):
            return self._unknown_session(end.session_id, "endSession")
        out = self._abandon_wait(session)
        if end.custom_data is not None:
            session.custom_data = end.custom_data
        if session.phase == Phase.LISTENING:
            out.append(AsrStopListening(site_id=session.site_id, session_id=session.session_id))
        session.phase = Phase.ENDING
        session.deadline = None
        return out + self._say(session, end.text, lambda: self._end(session, Reason.NOMINAL))

    def _on_text_captured(self, captured: AsrTextCaptured) -> Out:
        session = self._sessions.get(captured.session_id or "")
        if session is None or session.phase != Phase.LISTENING:
            log.debug("textCaptured for session %s that is not listening; ignored", captured.session_id)
            return []
        session.phase = Phase.RECOGNIZING
        session.deadline = None
        out: Out = [AsrStopListening(site_id=session.site_id, session_id=session.session_id)]

        def query() -> Out:
            session.deadline = self._now + self.settings.nlu_timeout
            follow: Out = [HotwordToggleOn(site_id=session.site_id, reason=ToggleReason.DIALOGUE_SESSION)]
            intent_filter = self._effective_filter(session)
            too_unsure = captured.likelihood < self.settings.min_asr_confidence
            if too_unsure or intent_filter == []:
                # Answered here as Rhasspy's DM does for low confidence; the NLU would have nothing to match.
                follow.append(NluIntentNotRecognized(
                    input=captured.text, site_id=session.site_id, session_id=session.session_id,
                    custom_data=session.custom_data,
                ))
                return follow + self._not_recognized(session, captured.text)
            if (offline := self._offline_error("nlu")) is not None:
                return follow + self._end(session, Reason.ERROR, offline)
            follow.append(NluQuery(
                input=captured.text, site_id=session.site_id, intent_filter=intent_filter,
                session_id=session.session_id, wakeword_id=captured.wakeword_id or session.wakeword_id,
                lang=session.lang or captured.lang, custom_data=session.custom_data,
                asr_confidence=captured.likelihood,
                custom_entities=session.detected.custom_entities if session.detected else None,
            ))
            return follow

        return out + self._play(session, "recorded", query)

    def _on_intent(self, intent: NluIntent) -> Out:
        session = self._sessions.get(intent.session_id or "")
        if session is None or session.phase != Phase.RECOGNIZING:
            return []
        allowed = self._effective_filter(session)
        disabled = self._disabled(session.site_id)
        if intent.intent_name in disabled or (allowed is not None and intent.intent_name not in allowed):
            log.info("session %s: intent %s is filtered out here", session.session_id, intent.intent_name)
            return self._not_recognized(session, intent.input)
        session.phase = Phase.HANDLING
        session.intent_name = intent.intent_name
        session.deadline = self._now + self.settings.handler_timeout
        for gone in self._gone_handlers.values():
            if gone.held_intent(intent.intent_name):  # nobody online would end it: do not wait for the timeout
                return self._end(session, Reason.ERROR, f"the {gone.service} service that handles "
                                 f"{intent.intent_name} is offline (hermesh/status/{gone.service}/...)")
        return []

    def _on_not_recognized(self, message: NluIntentNotRecognized) -> Out:
        session = self._sessions.get(message.session_id or "")
        if session is None or session.phase in (Phase.QUEUED, Phase.ENDING, Phase.ENDED):
            return []
        if message.custom_data is not None:
            session.custom_data = message.custom_data
        if session.phase == Phase.RECOGNIZING:
            return self._not_recognized(session, message.input)
        if session.send_intent_not_recognized:
            return []  # the app asked to hear "not recognised" itself: only the NLU's answer counts
        # Rhasspy's dialogue manager and Snips apps end a session this way, whatever it is doing (listening,
        # speaking, waiting for the handler): no error beep, the ASR is told to stop if it still listens.
        return self._end(session, Reason.INTENT_NOT_RECOGNIZED)

    def _on_say_finished(self, finished: TtsSayFinished) -> Out:
        return self._wait_done(finished.site_id, finished.id, ToggleReason.TTS_SAY)

    def _on_play_finished(self, finished: AudioPlayFinished) -> Out:
        return self._wait_done(finished.site_id, finished.id, ToggleReason.PLAY_AUDIO)

    def _on_configure(self, configure: DialogueConfigure) -> Out:
        intents = self._site(configure.site_id).intents
        for item in configure.intents:
            intents[item.intent_id] = item.enable
        self._forget_if_default(configure.site_id)
        return []

    def _on_service_error(self, error: AsrError | NluError) -> Out:
        session = self._sessions.get(error.session_id or "")
        if session is None or session.phase not in (Phase.LISTENING, Phase.RECOGNIZING):
            return []
        log.warning("session %s ends: %s reported %r", session.session_id, error.COMPONENT, error.error)
        return self._end(session, Reason.ERROR, f"{error.COMPONENT}: {error.error}")

    def service_changed(self, event: ServiceGone | ServiceBack, now: float) -> Out:
        """A service the sessions may wait on went away or came back (the service reads it from hermesh/status)."""
        self._now = now
        if isinstance(event, ServiceBack):
            self.offline.discard(event.service)
            self._gone_handlers.pop(event.service, None)
            if event.intents:
                self._gone_handlers = {name: gone.also_handled(event.intents)
                                       for name, gone in self._gone_handlers.items()}
            return []
        if not event.pool_left:
            self.offline.add(event.service)
            if event.intents:
                self._gone_handlers[event.service] = event
        out: Out = []
        if event.unheard_sites:  # a room's microphone went away: its listening session would hear nothing
            for site_id in event.unheard_sites:
                site = self._sites.get(site_id)
                session = site.active if site is not None else None
                if session is not None and session.phase == Phase.LISTENING and session.wait is None:
                    log.warning("session %s ends: the %s of site %s went offline", session.session_id,
                                event.service, site_id)
                    out += self._end(session, Reason.ERROR, f"the {event.service} service of site {site_id} went "
                                                            "offline while the session was listening")
            return out
        for site in list(self._sites.values()):
            session = site.active
            if session is None:
                continue
            if session.phase == Phase.HANDLING and session.wait is None:
                # Whoever handles the intent ends the session; only a client whose status lists the intent
                # says it does. A pool of intent handlers all get every intent, so a survivor holds it too.
                if event.pool_left or not event.held_intent(session.intent_name):
                    continue
            elif session.waits_on() != event.service:
                continue
            if session.wait is not None and session.wait.reason == ToggleReason.PLAY_AUDIO:
                if not event.pool_left:
                    out += self._finish_wait(session)  # a feedback sound is not worth a session: go on without
                continue
            if event.pool_left:
                # The broker handed the request to one worker of the pool (a shared subscription) and nothing
                # says which: the dead one may have had it, or a live one is answering. Ending at once would
                # cut sessions a live worker serves; resending could run the request twice. So the session gets
                # a short grace, as the bridge's requests do, and ends then if it is still waiting.
                if session.lost is None or session.lost.key != session.wait_key():
                    session.lost = Lost(
                        now + self.settings.worker_lost_timeout,
                        f"the {event.service} worker {event.instance!r} went offline while the session was "
                        f"{session.doing()}; it may have been the one serving it (the {event.service} pool is "
                        "still up)",
                        session.wait_key())
                continue
            log.warning("session %s ends: the %s service went offline", session.session_id, event.service)
            out += self._end(session, Reason.ERROR,
                             f"the {event.service} service went offline while the session was {session.doing()}")
        return out

    _HANDLERS: dict[type[HermesMessage], Callable[[DialogueEngine, HermesMessage], Out]] = {
        HotwordDetected: _on_detected,  # type: ignore[dict-item]
        DialogueStartSession: _on_start_session,  # type: ignore[dict-item]
        DialogueContinueSession: _on_continue,  # type: ignore[dict-item]
        DialogueEndSession: _on_end,  # type: ignore[dict-item]
        AsrTextCaptured: _on_text_captured,  # type: ignore[dict-item]
        NluIntent: _on_intent,  # type: ignore[dict-item]
        NluIntentNotRecognized: _on_not_recognized,  # type: ignore[dict-item]
        TtsSayFinished: _on_say_finished,  # type: ignore[dict-item]
        AudioPlayFinished: _on_play_finished,  # type: ignore[dict-item]
        DialogueConfigure: _on_configure,  # type: ignore[dict-item]
        AsrError: _on_service_error,  # type: ignore[dict-item]
        NluError: _on_service_error,  # type: ignore[dict-item]
    }

    # ---- services the sessions wait on ------------------------------------------------------------------------
    def _offline_error(self, service: str) -> str | None:
        """A text for ending a session at once when ``service`` is known offline (never seen: assume it is up)."""
        if service in self.offline:
            return f"the {service} service is offline (hermesh/status/{service}/...)"
        return None

    # ---- session life -----------------------------------------------------------------------------------------
    def _site(self, site_id: str) -> _Site:
        return self._sites.use(site_id)

    def _forget_if_default(self, site_id: str) -> None:
        site = self._sites.get(site_id)
        if site is not None and site.is_default():
            self._sites.release(site_id)

    def _begin_or_preempt(self, session: Session) -> Out:
        """Start now; a session already active on the site is aborted and this one goes first."""
        site = self._site(session.site_id)
        if site.active is None:
            return self._activate(session)
        self._sessions[session.session_id] = session
        site.queue.appendleft(session)
        return self._end(site.active, Reason.ABORTED_BY_USER)

    def _enqueue(self, session: Session) -> Out:
        self._sessions[session.session_id] = session
        self._site(session.site_id).queue.append(session)
        return [DialogueSessionQueued(
            session_id=session.session_id, site_id=session.site_id, custom_data=session.custom_data
        )]

    def _activate(self, session: Session) -> Out:
        site = self._site(session.site_id)
        site.active = session
        self._sessions[session.session_id] = session
        session.phase = Phase.STARTING
        out: Out = [DialogueSessionStarted(
            session_id=session.session_id, site_id=session.site_id, custom_data=session.custom_data,
            lang=session.lang,
        )]
        if session.notification:
            session.phase = Phase.ENDING
            return out + self._say(session, session.text, lambda: self._end(session, Reason.NOMINAL))
        out.append(HotwordToggleOff(site_id=session.site_id, reason=ToggleReason.DIALOGUE_SESSION))
        if session.detected is not None:
            return out + self._play(session, "wake", lambda: self._listen(session))
        return out + self._say(session, session.text, lambda: self._listen(session))

    def _listen(self, session: Session) -> Out:
        if (offline := self._offline_error("asr")) is not None:
            return self._end(session, Reason.ERROR, offline)
        session.phase = Phase.LISTENING
        session.deadline = self._now + self.settings.session_timeout
        return [AsrStartListening(
            site_id=session.site_id, session_id=session.session_id, lang=session.lang, stop_on_silence=True,
            send_audio_captured=session.send_audio_captured, wakeword_id=session.wakeword_id,
            intent_filter=self._effective_filter(session),
        )]

    def _not_recognized(self, session: Session, text: str) -> Out:
        if session.unrecognized:
            return []
        session.unrecognized = True

        def after_beep() -> Out:
            if session.send_intent_not_recognized:
                session.phase = Phase.HANDLING
                session.intent_name = None  # the app gets "not recognised", not an intent
                session.deadline = self._now + self.settings.handler_timeout
                return [DialogueIntentNotRecognized(
                    session_id=session.session_id, site_id=session.site_id, input=text,
                    custom_data=session.custom_data,
                )]
            return self._end(session, Reason.INTENT_NOT_RECOGNIZED)

        session.deadline = None
        return self._play(session, "error", after_beep)

    def _end(self, session: Session, reason: Reason, error: str | None = None) -> Out:
        out = self._abandon_wait(session)
        if session.phase == Phase.LISTENING:
            out.append(AsrStopListening(site_id=session.site_id, session_id=session.session_id))
        site = self._site(session.site_id)
        if site.active is session:
            site.active = None
        self._sessions.pop(session.session_id, None)
        session.phase = Phase.ENDED
        session.deadline = None
        out.append(DialogueSessionEnded(
            termination=DialogueSessionTermination(reason=reason, error=error), session_id=session.session_id,
            site_id=session.site_id, custom_data=session.custom_data,
        ))
        if site.queue:
            return out + self._activate(site.queue.popleft())
        out.append(HotwordToggleOn(site_id=session.site_id, reason=ToggleReason.DIALOGUE_SESSION))
        self._forget_if_default(session.site_id)
        return out

    def _unknown_session(self, session_id: str, what: str) -> Out:
        log.warning("%s for session %s, which is not active", what, session_id)
        return [DialogueError(
            error=f"{what}: session {session_id!r} is not active (it ended, e.g. by timeout, or never existed)",
            session_id=session_id, context=what,
        )]

    def _group_is_listening(self, site_id: str) -> bool:
        separator = self.settings.group_separator
        if not separator or separator not in site_id:
            return False
        group = site_id.split(separator, 1)[0]
        return any(
            other != site_id and other.split(separator, 1)[0] == group and site.active is not None
            and site.active.phase in (Phase.STARTING, Phase.LISTENING) and not site.active.notification
            for other, site in self._sites.items()
        )

    # ---- intent filters ---------------------------------------------------------------------------------------
    def _disabled(self, site_id: str) -> set[str]:
        return {name for name, on in self._site(site_id).intents.items() if not on}

    def _effective_filter(self, session: Session) -> list[str] | None:
        """The intents the NLU may match (None = all): the session's or site's list minus disabled intents."""
        intents = self._site(session.site_id).intents
        disabled = {name for name, on in intents.items() if not on}
        base: list[str] | None = session.intent_filter
        if base is None and disabled and self.known_intents:
            base = sorted(self.known_intents)
        if base is None:
            return None
        return [name for name in base if name not in disabled]

    # ---- feedback sounds and speech ---------------------------------------------------------------------------
    def _play(self, session: Session, event: str, then: Callable[[], Out]) -> Out:
        sound = self.sounds.get(event)
        site = self._site(session.site_id)
        if (
            sound is None
            or not self.settings.sounds_enabled
            or not site.sound_on
            or session.site_id in self.settings.no_sound_site_ids
        ):
            return then()
        request_id = self.new_id()
        deadline = self._now + sound.seconds + self.settings.sound_timeout_margin
        session.wait = Wait(ToggleReason.PLAY_AUDIO, request_id, deadline, then)
        return [
            *self._toggles_off(session.site_id, ToggleReason.PLAY_AUDIO),
            AudioPlayBytes(site_id=session.site_id, request_id=request_id, wav_bytes=sound.wav),
        ]

    def _say(self, session: Session, text: str | None, then: Callable[[], Out]) -> Out:
        if not text:
            return then()
        if (offline := self._offline_error("tts")) is not None:
            return self._end(session, Reason.ERROR, offline)
        request_id = self.new_id()
        seconds = max(self.settings.say_min_timeout, len(text) / self.settings.say_chars_per_second)
        session.wait = Wait(ToggleReason.TTS_SAY, request_id, self._now + seconds, then)
        return [
            *self._toggles_off(session.site_id, ToggleReason.TTS_SAY),
            TtsSay(text=text, site_id=session.site_id, lang=session.lang, id=request_id,
                   session_id=session.session_id),
        ]

    def _wait_done(self, site_id: str, request_id: str | None, reason: ToggleReason) -> Out:
        session = self.active_session(site_id)
        if session is None or session.wait is None or request_id is None:
            return []
        if session.wait.reason != reason or session.wait.request_id != request_id:
            return []
        return self._finish_wait(session)

    def _finish_wait(self, session: Session) -> Out:
        wait = session.wait
        assert wait is not None
        session.wait = None
        return self._toggles_on(session.site_id, wait.reason) + wait.then()

    def _abandon_wait(self, session: Session) -> Out:
        """Drop a sound/speech wait without its continuation, re-enabling what it switched off."""
        wait, session.wait = session.wait, None
        return self._toggles_on(session.site_id, wait.reason) if wait else []

    @staticmethod
    def _toggles_off(site_id: str, reason: ToggleReason) -> Out:
        return [HotwordToggleOff(site_id=site_id, reason=reason), AsrToggleOff(site_id=site_id, reason=reason)]

    @staticmethod
    def _toggles_on(site_id: str, reason: ToggleReason) -> Out:
        return [HotwordToggleOn(site_id=site_id, reason=reason), AsrToggleOn(site_id=site_id, reason=reason)]
