"""Hermesh's own service status topic: retained, ``offline`` set by the MQTT last will."""

from __future__ import annotations

from enum import StrEnum

from .base import HermesMessage


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
