"""What the dialogue engine hears of the services its sessions wait on: plain events, made from hermesh/status.

The service keeps the status registry (``services.runtime.service_status``) and turns each transition it
reports into one of these events; the engine (engine.py) decides which sessions they end, so it stays a pure
state machine fed messages, events and time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hermes.common import DEFAULT_SITE
from hermes.status import ServiceState, ServiceStatus
from services.runtime.service_status import Change, ServiceRegistry

ALL_INTENTS = "*"


@dataclass(frozen=True)
class ServiceGone:
    """A service went away (its last will): its last instance, or, with ``pool_left``, one worker of a pool
    whose other workers are still online (one of them may hold the session, or the dead one did)."""

    service: str
    instance: str
    pool_left: bool = False
    # The intents it handled (its status' ``intents``, "*" for all), and those that online clients still
    # handle: a session handling an intent is held by this service only if no one else handles that intent.
    intents: tuple[str, ...] = ()
    handled_elsewhere: tuple[str, ...] = ()
    # For an audio input: the sites it captured that no audio input online captures now. Its instances are
    # rooms, not a pool: the loss of one ends that room's listening at once, even while other rooms' stay up.
    unheard_sites: tuple[str, ...] = ()

    def held_intent(self, intent: str | None) -> bool:
        """The session handling ``intent`` (None: an app's own "not recognised") waited on this service only."""
        def covers(intents: tuple[str, ...]) -> bool:
            return ALL_INTENTS in intents or (intent is not None and intent in intents)

        return covers(self.intents) and not covers(self.handled_elsewhere)

    def also_handled(self, intents: tuple[str, ...]) -> ServiceGone:
        """The same loss, now that a client handling ``intents`` is online."""
        return replace(self, handled_elsewhere=(*self.handled_elsewhere, *intents))


@dataclass(frozen=True)
class ServiceBack:
    """A service known offline has an online instance again."""

    service: str
    intents: tuple[str, ...] = ()  # the intents it handles (its status' ``intents``)


AUDIO_INPUT = "audio-input"


def service_event(registry: ServiceRegistry, status: ServiceStatus) -> ServiceGone | ServiceBack | None:
    """Record ``status`` in ``registry``; the event its transition means for sessions, if any."""
    change = registry.update(status)
    if change == Change.ONLINE:
        return ServiceBack(status.service, tuple(status.intents))
    if change not in (Change.OFFLINE, Change.INSTANCE_LOST):
        return None
    elsewhere = sorted({intent for s in registry.instances.values() if s.status == ServiceState.ONLINE
                        for intent in s.intents})
    unheard: tuple[str, ...] = ()
    if status.service == AUDIO_INPUT:
        still_heard = {site for s in registry.of(AUDIO_INPUT) if s.status == ServiceState.ONLINE
                       for site in captured_sites(s)}
        unheard = tuple(site for site in captured_sites(status) if site not in still_heard)
    return ServiceGone(status.service, status.instance, pool_left=change == Change.INSTANCE_LOST,
                       intents=tuple(status.intents), handled_elsewhere=tuple(elsewhere), unheard_sites=unheard)


def captured_sites(status: ServiceStatus) -> list[str]:
    """The sites an audio input's status says it serves (none listed: the default site, as its own site is)."""
    return list(status.site_ids) or [DEFAULT_SITE]
