"""Recorded message sequences of voice commands, built from the hermes message classes (hermes-protocol.md §3.3).

Each builder returns [(topic, payload, timestamp)] plus the times at which the stages were reached, so tests
know the exact latencies the observer must report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hermes.asr import (
    AsrAudioCaptured,
    AsrRecordingFinished,
    AsrStartListening,
    AsrStopListening,
    AsrTextCaptured,
    AsrToggleOff,
    AsrToggleOn,
)
from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioPlayFinished
from hermes.base import HermesMessage
from hermes.common import ToggleReason
from hermes.dialogue import (
    DialogueAction,
    DialogueContinueSession,
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
    DialogueSessionTermination,
    DialogueSessionTerminationReason,
    DialogueStartSession,
)
from hermes.hotword import HotwordDetected, HotwordToggleOff, HotwordToggleOn
from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, NluIntentParsed, NluQuery
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import pcm_to_wav

FRAME = pcm_to_wav(b"\x00\x00" * 1024)
BEEP = pcm_to_wav(b"\x10\x00" * 1600)

Recorded = list[tuple[str, bytes, float]]


@dataclass
class Script:
    """Messages with their times; ``at(t)`` moves the clock, ``add(msg)`` records a message at the current time."""

    now: float
    messages: Recorded = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)

    def at(self, moment: float) -> Script:
        self.now = moment
        return self

    def add(self, *messages: HermesMessage, stage: str | None = None) -> Script:
        for message in messages:
            self.messages.append((message.topic(), message.payload(), self.now))
        if stage is not None:
            self.stages.setdefault(stage, self.now)
        return self

    def frames(self, site: str, count: int) -> Script:
        return self.add(*(AudioFrame(site_id=site, wav_bytes=FRAME) for _ in range(count)))

    def beep(self, site: str, request_id: str) -> Script:
        """The wake/recorded beep: toggles off (playAudio), playBytes, playFinished, toggles on."""
        return self.add(
            HotwordToggleOff(site_id=site, reason=ToggleReason.PLAY_AUDIO),
            AsrToggleOff(site_id=site, reason=ToggleReason.PLAY_AUDIO),
            AudioPlayBytes(site_id=site, request_id=request_id, wav_bytes=BEEP),
            AudioPlayFinished(site_id=site, id=request_id, session_id=request_id),
            HotwordToggleOn(site_id=site, reason=ToggleReason.PLAY_AUDIO),
            AsrToggleOn(site_id=site, reason=ToggleReason.PLAY_AUDIO),
        )


def voice_command(site: str, *, start: float = 1000.0, wakeword: str = "porcupine", session_id: str | None = None,
                  intent: str | None = "ChangeLightState", answer: str | None = "Done",
                  text: str = "turn on the lamp") -> Script:
    """§3.3: wake word, beep, session, listening, text, beep, NLU, intent, handler endSession, TTS, end."""
    sid = session_id or f"{site}-{wakeword}-0001"
    s = Script(start)
    s.frames(site, 3)
    s.add(HotwordDetected(wakeword_id=wakeword, model_id=wakeword, current_sensitivity=0.5, site_id=site),
          stage="wake")
    s.at(start + 0.05).beep(site, f"{site}-beep-wake")
    s.at(start + 0.40).add(DialogueSessionStarted(session_id=sid, site_id=site, custom_data=wakeword),
                           stage="started")
    s.add(HotwordToggleOff(site_id=site, reason=ToggleReason.DIALOGUE_SESSION))
    s.at(start + 0.45).add(AsrStartListening(site_id=site, session_id=sid, send_audio_captured=True,
                                             wakeword_id=wakeword), stage="listening")
    s.frames(site, 20)
    s.at(start + 2.45).add(AsrRecordingFinished(site_id=site, session_id=sid))
    s.add(AsrTextCaptured(text=text, likelihood=0.9, seconds=1.9, site_id=site, session_id=sid), stage="captured")
    s.add(AsrAudioCaptured(site_id=site, session_id=sid, wav_bytes=FRAME))
    s.at(start + 2.50).beep(site, f"{site}-beep-recorded")
    s.add(AsrStopListening(site_id=site, session_id=sid),
          HotwordToggleOn(site_id=site, reason=ToggleReason.DIALOGUE_SESSION))
    s.at(start + 2.55).add(NluQuery(input=text, site_id=site, session_id=sid, custom_data=wakeword,
                                    wakeword_id=wakeword, asr_confidence=0.9))
    s.at(start + 2.60)
    if intent is None:
        s.add(NluIntentNotRecognized(input=text, site_id=site, session_id=sid, custom_data=wakeword), stage="intent")
        s.at(start + 2.70).beep(site, f"{site}-beep-error")
        s.add(AsrStopListening(site_id=site, session_id=sid))
        s.at(start + 2.80).add(_ended(sid, site, wakeword, DialogueSessionTerminationReason.INTENT_NOT_RECOGNIZED))
        return s
    recognised = Intent(intent_name=intent, confidence_score=1.0)
    s.add(NluIntentParsed(input=text, intent=recognised, site_id=site, session_id=sid),
          NluIntent(input=text, intent=recognised, site_id=site, session_id=sid, custom_data=wakeword), stage="intent")
    s.at(start + 2.75).add(DialogueEndSession(session_id=sid, text=answer), stage="handled")
    if answer:
        say_id = f"{site}-say-1"
        s.add(HotwordToggleOff(site_id=site, reason=ToggleReason.TTS_SAY),
              AsrToggleOff(site_id=site, reason=ToggleReason.TTS_SAY),
              TtsSay(text=answer, site_id=site, id=say_id, session_id=sid))
        s.at(start + 3.0).add(AudioPlayBytes(site_id=site, request_id=say_id, wav_bytes=BEEP))
        s.at(start + 4.0).add(AudioPlayFinished(site_id=site, id=say_id, session_id=say_id),
                              TtsSayFinished(site_id=site, id=say_id, session_id=sid), stage="spoken")
        s.add(HotwordToggleOn(site_id=site, reason=ToggleReason.TTS_SAY),
              AsrToggleOn(site_id=site, reason=ToggleReason.TTS_SAY))
    s.at(start + 4.05).add(AsrStopListening(site_id=site, session_id=sid),
                           _ended(sid, site, wakeword, DialogueSessionTerminationReason.NOMINAL),
                           HotwordToggleOn(site_id=site, reason=ToggleReason.DIALOGUE_SESSION))
    return s


def _ended(sid: str, site: str, custom: str | None, reason: DialogueSessionTerminationReason) -> DialogueSessionEnded:
    return DialogueSessionEnded(termination=DialogueSessionTermination(reason=reason), session_id=sid, site_id=site,
                                custom_data=custom)


def two_turn_session(site: str, start: float = 2000.0) -> Script:
    """A programmatic session (startSession action, no wake word) with one continueSession."""
    sid = "5b8a3c1e-prog"
    s = Script(start)
    s.add(DialogueStartSession(init=DialogueAction(can_be_enqueued=True), site_id=site))
    s.at(start + 0.01).add(DialogueSessionStarted(session_id=sid, site_id=site), stage="started")
    s.at(start + 0.02).add(AsrStartListening(site_id=site, session_id=sid), stage="listening")
    s.at(start + 1.02).add(AsrTextCaptured(text="what time is it", likelihood=1, seconds=1, site_id=site,
                                           session_id=sid), stage="captured")
    s.at(start + 1.10).add(NluIntent(input="what time is it", intent=Intent(intent_name="GetTime", confidence_score=1),
                                     site_id=site, session_id=sid), stage="intent")
    s.at(start + 1.30).add(DialogueContinueSession(session_id=sid, text="Which city?"), stage="handled")
    s.add(TtsSay(text="Which city?", site_id=site, id="say-a", session_id=sid))
    s.at(start + 2.30).add(TtsSayFinished(site_id=site, id="say-a", session_id=sid), stage="spoken")
    s.at(start + 2.35).add(AsrStartListening(site_id=site, session_id=sid))  # turn 2
    s.at(start + 3.35).add(AsrTextCaptured(text="berlin", likelihood=1, seconds=1, site_id=site, session_id=sid))
    s.at(start + 3.40).add(NluIntent(input="berlin", intent=Intent(intent_name="City", confidence_score=1),
                                     site_id=site, session_id=sid))
    s.at(start + 3.50).add(DialogueEndSession(session_id=sid))
    s.at(start + 3.55).add(_ended(sid, site, None, DialogueSessionTerminationReason.NOMINAL))
    return s
