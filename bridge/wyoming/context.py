"""What the Wyoming connections, satellite clients and flows use of the server above them, declared here.

The server assembles connections and satellite clients, and a connection assembles its flows, so none of them may
import its assembler, not even for annotations (issue 15: a lower module never imports the module that assembles
it). A connection and a satellite client get a ``WyomingContext``; a flow gets its connection as a
``FlowConnection``, the few things a flow does with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from wyoming.event import Event

from hermes.base import HermesMessage
from services.runtime import HermesService

from ..mesh_client import MeshClient
from .catalog import MeshCatalog
from .settings import WyomingSettings


@dataclass(frozen=True)
class WyomingContext:
    settings: WyomingSettings
    mesh: MeshClient  # every request to the mesh
    catalog: MeshCatalog  # what the mesh offers (describe/info) and the language it speaks
    service: HermesService[Any]  # the host: background tasks (spawn) and the raw topics of satellites


class FlowConnection(Protocol):
    site_id: str  # the site this connection's requests run on
    settings: WyomingSettings
    mesh: MeshClient

    @property
    def language(self) -> str:
        """The mesh's language, for a request that names none."""
        ...

    async def write(self, event: Event) -> None: ...

    async def publish(self, message: HermesMessage) -> None: ...

    def run_task(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...
