"""The mesh as seen from the broker: a pure observer fed (topic, payload, timestamp) of every message.

Nothing here talks to a broker or reads a clock: the caller subscribes to ``#`` and ``$SYS/#`` and feeds what
arrives, with the time it arrived. From that alone the observer keeps

* the services and whether they are online (retained ``hermesh/status/<service>/<instance>``, ``offline`` set
  by the last will when a process dies);
* the dialogue sessions, each with the time it reached every stage of a voice command
  (wake -> started -> listening -> captured -> intent -> handled -> spoken), built from the messages the services
  exchange anyway (hermes-protocol.md §3.3): every session message carries its sessionId; the wake word
  detection usually does not, so it is tied to the ``sessionStarted`` that follows on the same site with
  customData = wake word id (what the dialogue manager sets for voice sessions) or the detection's own sessionId;
* message and byte counts per topic family, session counts by termination reason, stage latency histograms;
* the broker's own $SYS figures (connected clients, messages/s, bytes/s).
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.base import HermesMessage, HermesProtocolError
from hermes.dialogue import (
    DialogueContinueSession,
    DialogueEndSession,
    DialogueIntentNotRecognized,
    DialogueSessionEnded,
    DialogueSessionStarted,
)
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.registry import message_class_for
from hermes.status import ServiceState, ServiceStatus
from hermes.tts import TtsSay, TtsSayFinished

# The stages of one turn of a voice command, in order. A session has one turn per startListening
# (continueSession starts another); a programmatic session has no "wake".
STAGES: tuple[str, ...] = ("wake", "started", "listening", "captured", "intent", "handled", "spoken")
STAGE_TITLES = {
    "wake": "wake word", "started": "session started", "listening": "listening", "captured": "text captured",
    "intent": "intent", "handled": "handled", "spoken": "spoken",
}
LATENCY_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DURATION_BUCKETS: tuple[float, ...] = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
SESSION_STALE_AFTER = 600.0  # a session without any message for this long lost its end (dialogue manager died)

SYS_PREFIX = "$SYS/"
SYS_FAMILY = "$SYS/#"


@lru_cache(maxsize=4096)
def topic_family(topic: str) -> str:
    """The topic's Hermes message class as a subscribe filter (``hermes/audioServer/+/audioFrame``), so counts
    per family have a bounded set of labels; unknown topics are grouped by their first two levels."""
    if topic.startswith(SYS_PREFIX):
        return SYS_FAMILY
    try:
        return message_class_for(topic).subscribe_filter()
    except HermesProtocolError:
        parts = topic.split("/")
        return "/".join(parts[:2]) + "/#" if len(parts) > 2 else topic


class Histogram:
    """Cumulative-bucket histogram in the Prometheus sense (le buckets plus +Inf, sum and count)."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.bucket_counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.sum += value
        self.count += 1
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.bucket_counts[index] += 1
                return
        self.bucket_counts[-1] += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= bound) pairs, ending with (inf, count)."""
        result, running = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.bucket_counts, strict=True):
            running += count
            result.append((bound, running))
        return result


@dataclass
class Turn:
    times: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str, timestamp: float) -> None:
        self.times.setdefault(stage, timestamp)  # the first time a stage is reached counts

    def latencies(self) -> dict[str, float]:
        """Seconds from the previous stage reached to each stage (the first stage has none)."""
        result: dict[str, float] = {}
        previous: float | None = None
        for stage in STAGES:
            if stage in self.times:
                if previous is not None:
                    result[stage] = round(max(0.0, self.times[stage] - previous), 6)
                previous = self.times[stage]
        return result


@dataclass
class SessionTrack:
    session_id: str
    site_id: str
    custom_data: str | None
    stage: str
    last_at: float
    turns: list[Turn] = field(default_factory=lambda: [Turn()])
    wakeword_id: str | None = None
    text: str | None = None
    intent: str | None = None
    ended_at: float | None = None
    reason: str | None = None

    @property
    def turn(self) -> Turn:
        return self.turns[-1]

    @property
    def began_at(self) -> float:
        return min(self.turns[0].times.values())

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "session_id": self.session_id,
            "site_id": self.site_id,
            "stage": self.stage,
            "wakeword_id": self.wakeword_id,
            "text": self.text,
            "intent": self.intent,
            "began_at": self.began_at,
            "turns": [{"times": dict(t.times), "latencies": t.latencies()} for t in self.turns],
            "latencies": self.turns[0].latencies(),
        }
        if self.ended_at is not None:
            data["reason"] = self.reason
            data["ended_at"] = self.ended_at
            data["duration"] = round(self.ended_at - self.began_at, 6)
        elif now is not None:
            data["age"] = round(max(0.0, now - self.began_at), 3)
        return data


@dataclass
class ServiceView:
    service: str
    instance: str
    online: bool
    site_ids: list[str]
    host: str | None
    pid: int | None
    since: float | None
    changed_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "instance": self.instance, "status": "online" if self.online else "offline",
            "site_ids": self.site_ids, "host": self.host, "pid": self.pid, "since": self.since,
            "changed_at": self.changed_at,
        }


@dataclass
class _PendingWake:
    at: float
    wakeword_id: str
    session_id: str | None


# $SYS topics (Mosquitto 2) -> our names. "messages" are PUBLISH packets (not pings and acks); totals count
# since the broker started; load/*/1min are per-minute averages over the last minute.
SYS_FIGURES = {
    "$SYS/broker/clients/connected": "clients_connected",
    "$SYS/broker/publish/messages/received": "messages_received",
    "$SYS/broker/publish/messages/sent": "messages_sent",
    "$SYS/broker/publish/messages/dropped": "messages_dropped",
    "$SYS/broker/bytes/received": "bytes_received",
    "$SYS/broker/bytes/sent": "bytes_sent",
    "$SYS/broker/load/publish/received/1min": "messages_received_1min",
    "$SYS/broker/load/publish/sent/1min": "messages_sent_1min",
    "$SYS/broker/load/bytes/received/1min": "bytes_received_1min",
    "$SYS/broker/load/bytes/sent/1min": "bytes_sent_1min",
    "$SYS/broker/subscriptions/count": "subscriptions",
    "$SYS/broker/uptime": "uptime_seconds",
}


class MeshObserver:
    """Feed it every message (``feed``); read ``snapshot()`` or hand it to ``metrics.render_prometheus``."""

    def __init__(self, *, finished_limit: int = 100, stale_after: float = SESSION_STALE_AFTER) -> None:
        self.services: dict[tuple[str, str], ServiceView] = {}
        self.active: dict[str, SessionTrack] = {}
        self.finished: deque[SessionTrack] = deque(maxlen=finished_limit)
        self.sessions_started = 0
        self.sessions_ended: Counter[str] = Counter()
        self.sessions_lost = 0
        self.stage_latency = {stage: Histogram(LATENCY_BUCKETS) for stage in STAGES[1:]}
        self.session_duration = Histogram(DURATION_BUCKETS)
        self.messages: Counter[str] = Counter()
        self.message_bytes: Counter[str] = Counter()
        self.malformed: Counter[str] = Counter()
        self.broker: dict[str, float] = {}
        self.broker_version: str | None = None
        self.first_at: float | None = None
        self.last_at: float | None = None
        self._previous_totals: dict[str, tuple[float, float]] = {}
        self._rates_from_totals: dict[str, float] = {}
        self._pending_wakes: dict[str, _PendingWake] = {}
        self._stale_after = stale_after
        self._next_expiry = 0.0
        self._handlers: dict[str, tuple[type[HermesMessage], Callable[[Any, float], None]]] = {
            cls.subscribe_filter(): (cls, handler)
            for cls, handler in (
                (ServiceStatus, self._on_status),
                (HotwordDetected, self._on_detected),
                (DialogueSessionStarted, self._on_started),
                (AsrStartListening, self._on_listening),
                (AsrTextCaptured, self._on_captured),
                (NluIntent, self._on_intent),
                (NluIntentNotRecognized, self._on_not_recognized),
                (DialogueIntentNotRecognized, self._on_dm_not_recognized),
                (DialogueContinueSession, self._on_handled),
                (DialogueEndSession, self._on_handled),
                (TtsSay, self._on_say),
                (TtsSayFinished, self._on_said),
                (DialogueSessionEnded, self._on_ended),
            )
        }

    # ---- input ------------------------------------------------------------------------------------------------
    def feed(self, topic: str, payload: bytes, timestamp: float) -> None:
        """One received message. Cheap for audio frames: only counted, never parsed."""
        if self.first_at is None:
            self.first_at = timestamp
        self.last_at = timestamp
        family = topic_family(topic)
        if family == SYS_FAMILY:
            self._on_sys(topic, payload, timestamp)
            return
        self.messages[family] += 1
        self.message_bytes[family] += len(payload)
        entry = self._handlers.get(family)
        if entry is not None:
            cls, handler = entry
            if cls is ServiceStatus and not payload:
                self._on_status_cleared(topic)
            else:
                try:
                    message = cls.from_mqtt(topic, payload)
                except HermesProtocolError:
                    self.malformed[family] += 1
                else:
                    handler(message, timestamp)
        if timestamp >= self._next_expiry:
            self.expire(timestamp)

    def expire(self, now: float) -> None:
        """Forget sessions that have been silent too long (their end was lost); counted as lost."""
        self._next_expiry = now + 5.0
        for session_id, session in list(self.active.items()):
            if now - session.last_at > self._stale_after:
                del self.active[session_id]
                self.sessions_lost += 1

    # ---- services --------------------------------------------------------------------------------------------
    def _on_status(self, status: ServiceStatus, at: float) -> None:
        self.services[(status.service, status.instance)] = ServiceView(
            status.service, status.instance, status.status == ServiceState.ONLINE, list(status.site_ids),
            status.host, status.pid, status.since, at,
        )

    def _on_status_cleared(self, topic: str) -> None:
        params = ServiceStatus.parse_topic(topic) or {}
        self.services.pop((params.get("service", ""), params.get("instance", "")), None)

    # ---- sessions ----------------------------------------------------------------------------------------------
    def _session(self, session_id: str | None, at: float, stage: str | None = None) -> SessionTrack | None:
        session = self.active.get(session_id or "")
        if session is not None:
            session.last_at = at
            if stage is not None:
                session.stage = stage
        return session

    def _on_detected(self, detected: HotwordDetected, at: float) -> None:
        self._pending_wakes[detected.site_id] = _PendingWake(at, detected.wakeword_id, detected.session_id)

    def _on_started(self, started: DialogueSessionStarted, at: float) -> None:
        if started.session_id in self.active:
            return
        session = SessionTrack(started.session_id, started.site_id, started.custom_data, "started", at)
        wake = self._pending_wakes.get(started.site_id)
        if wake is not None and (
            wake.session_id == started.session_id
            or (wake.session_id is None and wake.wakeword_id == started.custom_data)
        ):
            del self._pending_wakes[started.site_id]
            session.turn.mark("wake", wake.at)
            session.wakeword_id = wake.wakeword_id
        session.turn.mark("started", at)
        self.active[started.session_id] = session
        self.sessions_started += 1

    def _on_listening(self, listening: AsrStartListening, at: float) -> None:
        session = self._session(listening.session_id, at, "listening")
        if session is None:
            return
        if "captured" in session.turn.times:  # continueSession: the next turn of the same session
            session.turns.append(Turn())
        session.turn.mark("listening", at)

    def _on_captured(self, captured: AsrTextCaptured, at: float) -> None:
        session = self._session(captured.session_id, at, "captured")
        if session is not None:
            session.turn.mark("captured", at)
            session.text = captured.text

    def _on_intent(self, intent: NluIntent, at: float) -> None:
        session = self._session(intent.session_id, at, "intent")
        if session is not None:
            session.turn.mark("intent", at)
            session.intent = intent.intent_name

    def _on_not_recognized(self, message: NluIntentNotRecognized, at: float) -> None:
        session = self._session(message.session_id, at, "not recognized")
        if session is not None:
            session.turn.mark("intent", at)
            session.intent = None

    def _on_dm_not_recognized(self, message: DialogueIntentNotRecognized, at: float) -> None:
        self._session(message.session_id, at, "not recognized, app asked")

    def _on_handled(self, message: DialogueContinueSession | DialogueEndSession, at: float) -> None:
        stage = "continuing" if isinstance(message, DialogueContinueSession) else "ending"
        session = self._session(message.session_id, at, stage)
        if session is not None:
            session.turn.mark("handled", at)

    def _on_say(self, say: TtsSay, at: float) -> None:
        session = self._session(say.session_id, at, "speaking")
        # A handler that answers with tts/say (Rhasspy's Home Assistant handler) has handled the intent.
        if session is not None and "intent" in session.turn.times:
            session.turn.mark("handled", at)

    def _on_said(self, finished: TtsSayFinished, at: float) -> None:
        session = self._session(finished.session_id, at)
        if session is not None and "handled" in session.turn.times:
            session.turn.mark("spoken", at)
            session.stage = "spoken"

    def _on_ended(self, ended: DialogueSessionEnded, at: float) -> None:
        reason = str(ended.termination.reason)
        self.sessions_ended[reason] += 1
        session = self.active.pop(ended.session_id, None)
        if session is None:
            return
        session.ended_at, session.reason, session.stage, session.last_at = at, reason, "ended", at
        for turn in session.turns:
            for stage, seconds in turn.latencies().items():
                self.stage_latency[stage].observe(seconds)
        self.session_duration.observe(max(0.0, at - session.began_at))
        self.finished.append(session)

    # ---- the broker's $SYS figures -----------------------------------------------------------------------------
    def _on_sys(self, topic: str, payload: bytes, at: float) -> None:
        if topic == "$SYS/broker/version":
            self.broker_version = payload.decode("utf-8", "replace").strip()
            return
        name = SYS_FIGURES.get(topic)
        if name is None:
            return
        with contextlib.suppress(ValueError, IndexError):
            value = float(payload.decode("ascii", "replace").split()[0])  # uptime is "123 seconds"
            self.broker[name] = value
            if name in ("messages_received", "messages_sent", "bytes_received", "bytes_sent"):
                previous = self._previous_totals.get(name)
                if previous is not None and at > previous[1] and value >= previous[0]:
                    self._rates_from_totals[name] = (value - previous[0]) / (at - previous[1])
                self._previous_totals[name] = (value, at)

    def broker_rate(self, name: str) -> float | None:
        """Per-second rate of ``messages_received`` etc.: the broker's 1-minute load, else the counter's delta."""
        load = self.broker.get(f"{name}_1min")
        if load is not None:
            return load / 60.0
        return self._rates_from_totals.get(name)

    # ---- output ------------------------------------------------------------------------------------------------
    def sessions_by_site(self) -> dict[str, list[SessionTrack]]:
        sites: dict[str, list[SessionTrack]] = {}
        for session in sorted(self.active.values(), key=lambda s: (s.site_id, s.began_at)):
            sites.setdefault(session.site_id, []).append(session)
        return sites

    def snapshot(self, now: float) -> dict[str, Any]:
        """Everything as plain JSON-able data (``hermesh monitor --json``)."""
        rates = {
            f"{name}_per_second": self.broker_rate(name)
            for name in ("messages_received", "messages_sent", "bytes_received", "bytes_sent")
        }
        return {
            "time": now,
            "observed_since": self.first_at,
            "services": [view.to_dict() for _, view in sorted(self.services.items())],
            "sessions": {
                "active": [s.to_dict(now) for s in sorted(self.active.values(), key=lambda s: (s.site_id, s.began_at))],
                "finished": [s.to_dict() for s in self.finished],
                "started": self.sessions_started,
                "ended": dict(self.sessions_ended),
                "lost": self.sessions_lost,
            },
            "messages": {family: {"count": count, "bytes": self.message_bytes[family]}
                         for family, count in sorted(self.messages.items())},
            "broker": {"version": self.broker_version, **self.broker, **rates},
        }
