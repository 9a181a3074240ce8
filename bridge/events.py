"""What the bridge watches on the broker: websocket event frames and per-site state (service status: the
shared services/runtime/service_status.py).

Frame builders produce exactly the shapes of rhasspy-http-api.md §2; the intent frame comes from
hermes.rhasspy_json (the one converter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hermes.asr import AsrTextCaptured
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.rhasspy_json import not_recognized_to_rhasspy, websocket_intent
from services.runtime.site_registry import SiteRegistry

QUEUE_SIZE = 256


# ---- frames -------------------------------------------------------------------------------------------------
def intent_frame(message: NluIntent | NluIntentNotRecognized) -> dict[str, Any]:
    if isinstance(message, NluIntent):
        return websocket_intent(message)
    frame = not_recognized_to_rhasspy(message)
    frame.update({"siteId": message.site_id, "sessionId": message.session_id, "customData": message.custom_data,
                  "wakewordId": None, "lang": None})
    return frame


def text_frame(message: AsrTextCaptured) -> dict[str, Any]:
    return {"text": message.text, "siteId": message.site_id, "sessionId": message.session_id,
            "wakewordId": message.wakeword_id, "lang": message.lang}


def wake_frame(message: HotwordDetected) -> dict[str, Any]:
    return {"wakewordId": message.wakeword_id, "siteId": message.site_id, "modelId": message.model_id,
            "lang": message.lang}


# ---- fan-out to websockets ----------------------------------------------------------------------------------
@dataclass(eq=False)
class Subscriber:
    """One websocket's queue; ``sites`` limits a ``user`` token to its own sites' events (None: every site)."""

    channel: str
    sites: frozenset[str] | None = None
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, item: Any) -> None:
        if self.queue.full():  # a slow client loses its oldest events rather than stalling the bridge
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(item)


class EventHub:
    """Channels (intent, text, wake, log) with a queue per connected websocket."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}

    @contextlib.contextmanager
    def subscribe(self, channel: str, sites: frozenset[str] | None = None) -> Iterator[Subscriber]:
        subscriber = Subscriber(channel, sites)
        self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers[channel].discard(subscriber)

    def publish(self, channel: str, item: Any, site: str | None = None) -> None:
        for subscriber in list(self._subscribers.get(channel, ())):
            if subscriber.sites is None or site is None or site in subscriber.sites:
                subscriber.offer(item)

    def count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))


class HubLogHandler(logging.Handler):
    """Feeds /api/events/log with formatted log lines (thread-safe: records may come from worker threads)."""

    def __init__(self, hub: EventHub, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.hub = hub
        self.loop = loop
        self.setFormatter(logging.Formatter("[%(levelname)s:%(asctime)s] %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - a log handler must never raise
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.hub.publish, "log", line)


class EnergyMeter:
    """Rhasspy's audio summary frame from the debiased energies of a site's audioSummary messages."""

    def __init__(self) -> None:
        self.extremes: dict[str, tuple[float, float]] = {}

    def reset(self) -> None:
        self.extremes.clear()

    def forget(self, site: str) -> None:
        self.extremes.pop(site, None)

    def frame(self, site: str, energy: float) -> dict[str, float]:
        low, high = self.extremes.get(site, (energy, energy))
        low, high = min(low, energy), max(high, energy)
        self.extremes[site] = (low, high)
        return {"current_energy": energy, "max_energy": high, "min_energy": low,
                "max_current_ratio": high / energy if energy > 0 else 0.0}


# ---- per-site state -----------------------------------------------------------------------------------------
@dataclass
class SiteState:
    state: str = "idle"
    session_id: str | None = None
    since: float = 0.0
    last_text: str | None = None
    last_intent: str | None = None


class SiteStates:
    """A pure tracker of what each site is doing, fed (event, site, session, time) from broker messages."""

    TRANSITIONS = {
        "wake": "awake",
        "session_started": "session",
        "listening": "listening",
        "text_captured": "recognizing",
        "intent": "handling",
        "not_recognized": "handling",
        "say": "speaking",
        "say_finished": "session",
        "session_ended": "idle",
    }

    def __init__(self, max_sites: int = 1000) -> None:
        # No idle expiry (a quiet room still has a state to show), but released sites go and the cap bounds the
        # rest: every Wyoming connection and any MQTT client can bring a new site id.
        self.sites: SiteRegistry[SiteState] = SiteRegistry(SiteState, idle_seconds=None, max_sites=max_sites)

    def forget(self, site: str) -> None:
        self.sites.release(site)

    def feed(self, event: str, site: str, session: str | None, now: float, **details: Any) -> SiteState:
        known = site in self.sites
        state = self.sites.use(site)
        if not known:
            state.since = now
        new = self.TRANSITIONS.get(event)
        if new is None:
            return state
        if event == "say_finished" and state.session_id is None:
            new = "idle"
        if event == "session_ended":
            state.session_id = None
        elif event in ("session_started", "wake") and session:
            state.session_id = session
        if new != state.state:
            state.state = new
            state.since = now
        if "text" in details:
            state.last_text = details["text"]
        if "intent" in details:
            state.last_intent = details["intent"]
        return state

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {site: {"state": s.state, "sessionId": s.session_id, "since": s.since, "lastText": s.last_text,
                       "lastIntent": s.last_intent} for site, s in sorted(self.sites.items())}

