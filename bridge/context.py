"""The bridge as the HTTP app, its routes and the Home Assistant probe see it: a declared interface, not the service.

``BridgeService`` (bridge/service.py) is the one implementation; it assembles the app, so the app and the routes
must not import it, not even for annotations (issue 15: a lower module never imports the module that assembles
it). Anything a route needs of the running bridge is listed here; mypy refuses a route that reaches further.
Requests to other services go through ``mesh`` (the MeshClient), never through raw topics, except for the MQTT
routes that exist to publish raw topics.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

from hermes.base import HermesMessage
from services.config import CommonSettings
from services.runtime.service_status import ServiceRegistry

from .events import EnergyMeter, EventHub, SiteStates
from .mesh_client import MeshClient
from .mqtt_tap import MqttTap
from .settings import BridgeSettings
from .state import BridgeState


class BridgeContext(Protocol):
    # what the service is and reads
    name: ClassVar[str]
    common: CommonSettings
    settings: BridgeSettings  # replaced on POST /api/restart (the live keys), so read it at each use
    profile: Path
    started_at: float
    # what it keeps for the API
    mesh: MeshClient
    registry: ServiceRegistry
    state: BridgeState
    hub: EventHub
    site_states: SiteStates
    energy: EnergyMeter
    tap: MqttTap
    observer: Any  # services.monitor's MeshObserver behind /metrics, None until attached
    wyoming: Any  # the Wyoming server when it runs, else None
    ha_probe: tuple[float, dict[str, Any]] | None  # (monotonic time, result) cached for /api/status

    @property
    def connected(self) -> bool:
        """Whether the bridge holds a broker connection now."""
        ...

    async def publish(self, message: HermesMessage, *, retain: bool = False) -> None: ...

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 0) -> None: ...

    async def add_raw_listener(self, topic_filter: str,
                               callback: Callable[[str, bytes], None]) -> Callable[[], None]: ...

    def stop_mesh(self) -> None: ...
