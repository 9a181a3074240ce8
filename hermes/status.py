"""Hermesh's own service status topic: retained, ``offline`` set by the MQTT last will."""

from __future__ import annotations

from enum import StrEnum

from .base import HermesMessage, HermesModel
from .common import DEFAULT_SITE


class ServiceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class ServiceStatus(HermesMessage):
    """``hermesh/status/<service>/<instance>``; read by ``hermesh status``, the monitor and the bridge."""

    TOPIC = "hermesh/status/{service}/{instance}"
    service: str
    instance: str
    status: ServiceState
    site_ids: list[str] = []
    host: str | None = None
    pid: int | None = None
    version: str | None = None
    since: float | None = None
    # What is wrong while the service serves on (a TTS voice file that cannot be loaded, ...), for people
    problems: list[str] = []
    # The intents this client handles to the end of their dialogue session (it sends endSession or
    # continueSession), "*" for all. In the last will too: the dialogue manager ends the sessions it held.
    intents: list[str] = []


class ServiceRestart(HermesMessage):
    """``hermesh/control/restart``: services named here (all when empty) exit to be started again with the
    profile as it is now (``hermesh up``, systemd or compose restart them). Sent by the bridge's /api/restart."""

    TOPIC = "hermesh/control/restart"
    # Required, so an empty or garbled payload can never restart anything; [] means every service.
    services: list[str]
    reason: str | None = None


class SiteReleased(HermesMessage):
    """``hermesh/control/siteReleased``: this site id will not be used again, so every service frees what it keeps
    for it (a wake detector, a message queue, a status line). The bridge sends it when a Wyoming connection, which
    has a site id of its own, closes. Releasing a site that speaks again is harmless: its state is rebuilt."""

    TOPIC = "hermesh/control/siteReleased"
    site_id: str
    reason: str | None = None


class OpenSession(HermesModel):
    session_id: str
    site_id: str = DEFAULT_SITE
    custom_data: str | None = None


class DialogueOpenSessions(HermesMessage):
    """``hermesh/dialogue/openSessions/<instance>``, retained: the sessions a dialogue manager has open (active and
    queued). A ``kill -9`` loses them with the process; the next dialogue manager of the instance reads this
    and ends each with reason ``error``, so no client waits for ever on a session nobody runs any more."""

    TOPIC = "hermesh/dialogue/openSessions/{instance}"
    instance: str
    sessions: list[OpenSession] = []
