"""Helpers for driving the pure dialogue engine: readable message names, fixed ids, a fake clock."""

from __future__ import annotations

import itertools
from typing import Any, TypeVar

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured, AsrToggleOff, AsrToggleOn
from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.base import HermesMessage
from hermes.dialogue import (
    DialogueAction,
    DialogueIntentNotRecognized,
    DialogueNotification,
    DialogueSessionEnded,
    DialogueSessionQueued,
    DialogueSessionStarted,
    DialogueStartSession,
)
from hermes.errors import DialogueError
from hermes.hotword import HotwordDetected, HotwordToggleOff, HotwordToggleOn
from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, NluQuery
from hermes.status import ServiceStatus
from hermes.tts import TtsSay, TtsSayFinished
from services.dialogue.engine import DialogueEngine, Sound
from services.dialogue.service_loss import service_event
from services.dialogue.settings import DialogueSettings
from services.runtime.service_status import ServiceRegistry

M = TypeVar("M", bound=HermesMessage)

SOUNDS = {
    "wake": Sound(b"RIFF-wake", 0.2),
    "recorded": Sound(b"RIFF-recorded", 0.1),
    "error": Sound(b"RIFF-error", 0.3),
}


def name(message: HermesMessage) -> str:
    """A short readable name: 'hotwordOff:dialogueSession', 'sessionEnded:timeout', 'playBytes:wake'."""
    match message:
        case HotwordToggleOff() | HotwordToggleOn() | AsrToggleOff() | AsrToggleOn():
            kind = type(message).__name__.replace("Toggle", "")
            return f"{kind[0].lower()}{kind[1:]}:{message.reason}"
        case DialogueSessionEnded():
            return f"sessionEnded:{message.termination.reason}"
        case AudioPlayBytes():
            if message.wav_bytes.startswith(b"RIFF-"):
                return "playBytes:" + message.wav_bytes.decode().removeprefix("RIFF-")
            return "playBytes"
    names = {
        DialogueSessionStarted: "sessionStarted", DialogueSessionQueued: "sessionQueued",
        AsrStartListening: "startListening", AsrStopListening: "stopListening", NluQuery: "nluQuery",
        TtsSay: "say", DialogueIntentNotRecognized: "dmNotRecognized", NluIntentNotRecognized: "nluNotRecognized",
        DialogueError: "dmError",
    }
    return names.get(type(message), type(message).__name__)


def names(messages: list[HermesMessage]) -> list[str]:
    return [name(m) for m in messages]


def only(messages: list[HermesMessage], cls: type[M]) -> M:
    found = [m for m in messages if isinstance(m, cls)]
    assert len(found) == 1, f"expected one {cls.__name__} in {names(messages)}"
    return found[0]


class Driver:
    """An engine, a fake clock and shortcuts for the messages peers would send."""

    def __init__(self, sounds: dict[str, Sound] | None = None, known_intents: tuple[str, ...] = (),
                 **settings: Any) -> None:
        counter = itertools.count(1)
        self.engine = DialogueEngine(
            DialogueSettings(**settings), SOUNDS if sounds is None else sounds,
            new_id=lambda: f"id{next(counter)}", known_intents=known_intents,
        )
        self.now = 1000.0
        self.log: list[HermesMessage] = []
        self.services = ServiceRegistry()  # as the service keeps it

    def feed(self, message: HermesMessage) -> list[HermesMessage]:
        if isinstance(message, ServiceStatus):  # translated as the service does (services/dialogue/service.py)
            event = service_event(self.services, message)
            out = self.engine.service_changed(event, self.now) if event is not None else []
        else:
            out = self.engine.handle(message, self.now)
        self.log += out
        return out


    def advance(self, seconds: float) -> list[HermesMessage]:
        self.now += seconds
        out = self.engine.tick(self.now)
        self.log += out
        return out

    # peers
    def wake(self, site: str = "default", wakeword: str = "porcupine", **kw: Any) -> list[HermesMessage]:
        return self.feed(HotwordDetected(model_id=wakeword, site_id=site, wakeword_id=wakeword, **kw))

    def start_action(self, site: str = "default", text: str | None = None, enqueue: bool = True,
                     **kw: Any) -> list[HermesMessage]:
        init_kw = {k: kw.pop(k) for k in ("intent_filter", "send_intent_not_recognized") if k in kw}
        init = DialogueAction(can_be_enqueued=enqueue, text=text, **init_kw)
        return self.feed(DialogueStartSession(init=init, site_id=site, **kw))

    def notify(self, text: str, site: str = "default", **kw: Any) -> list[HermesMessage]:
        return self.feed(DialogueStartSession(init=DialogueNotification(text=text), site_id=site, **kw))

    def played(self, out: list[HermesMessage]) -> list[HermesMessage]:
        """Answer the playBytes in ``out`` with playFinished."""
        play = only(out, AudioPlayBytes)
        return self.feed(AudioPlayFinished(site_id=play.site_id, id=play.request_id, session_id=play.request_id))

    def said(self, out: list[HermesMessage]) -> list[HermesMessage]:
        say = only(out, TtsSay)
        return self.feed(TtsSayFinished(site_id=say.site_id, id=say.id, session_id=say.session_id))

    def captured(self, session_id: str, text: str = "turn on the light", site: str = "default",
                 likelihood: float = 0.9) -> list[HermesMessage]:
        return self.feed(AsrTextCaptured(text=text, likelihood=likelihood, seconds=1.0, site_id=site,
                                         session_id=session_id))

    def intent(self, session_id: str, intent_name: str = "LightOn", site: str = "default",
               text: str = "turn on the light") -> list[HermesMessage]:
        return self.feed(NluIntent(input=text, intent=Intent(intent_name=intent_name, confidence_score=1.0),
                                   site_id=site, session_id=session_id))

    def not_recognized(self, session_id: str, text: str = "blah", site: str = "default") -> list[HermesMessage]:
        return self.feed(NluIntentNotRecognized(input=text, site_id=site, session_id=session_id))

    def session_id(self, site: str = "default") -> str:
        session = self.engine.active_session(site)
        assert session is not None, f"no active session on {site}"
        return session.session_id

    def listening_session(self, site: str = "default", wakeword: str = "porcupine") -> str:
        """Wake on ``site`` and answer the wake sound: the session is listening afterwards."""
        out = self.wake(site, wakeword)
        if any(isinstance(m, AudioPlayBytes) for m in out):
            self.played(out)
        return self.session_id(site)

    def recognizing_session(self, site: str = "default") -> str:
        session_id = self.listening_session(site)
        out = self.captured(session_id, site=site)
        if any(isinstance(m, AudioPlayBytes) for m in out):
            self.played(out)
        return session_id

    def handling_session(self, site: str = "default") -> str:
        session_id = self.recognizing_session(site)
        self.intent(session_id, site=site)
        return session_id
