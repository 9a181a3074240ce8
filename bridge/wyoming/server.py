"""The bridge's Wyoming server (Home Assistant's side of the mesh) and the satellites it dials.

``WyomingServer(service, host, port)`` serves asr, tts, wake, intent and handle on one TCP port, each
request mapped onto the broker through ``service`` (the running bridge, a HermesService). ``start()``
also connects to the Wyoming satellites listed in the profile (``"wyoming": {"satellites": [...]}``);
satellites are never served on this port (Home Assistant would ignore every service next to a satellite).
"""

from __future__ import annotations

import logging
from typing import Any

from wyoming.server import AsyncTcpServer

from ..mesh_client import MeshClient, MeshTimeouts
from .catalog import MeshCatalog
from .connection import WyomingConnection
from .context import WyomingContext
from .router import Router
from .satellite import SatelliteManager
from .settings import WyomingSettings, load_wyoming_settings

LOG = logging.getLogger("hermesh.bridge.wyoming")


class WyomingServer:
    def __init__(self, service: Any, host: str, port: int, settings: WyomingSettings | None = None,
                 mesh: MeshClient | None = None) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.settings = settings or load_wyoming_settings(service.common)
        # The bridge passes its own client (it knows which services are online); a plain host gets one here.
        self.mesh = mesh or MeshClient(service, MeshTimeouts(reply=self.settings.reply_timeout))
        self.router = Router(self.mesh, self.is_own_site, self.is_satellite_site)
        self.catalog = MeshCatalog(self.mesh, self.settings)
        # what the connections and satellite clients may use of this server (they must not import it)
        self.context = WyomingContext(self.settings, self.mesh, self.catalog, service)
        self.satellites = SatelliteManager(self.context)
        self.connections: set[WyomingConnection] = set()
        self._server: AsyncTcpServer | None = None

    def is_own_site(self, site_id: str) -> bool:
        return site_id.startswith(self.settings.site_prefix + "-")

    def is_satellite_site(self, site_id: str) -> bool:
        return any(c.site_id == site_id and c.connected.is_set() for c in self.satellites.clients)

    def _new_connection(self, reader: Any, writer: Any) -> WyomingConnection:
        connection = WyomingConnection(self.context, reader, writer, on_closed=self.connections.discard)
        self.connections.add(connection)
        return connection

    async def start(self) -> None:
        await self.router.start()
        await self.catalog.start()
        self._server = AsyncTcpServer(self.host, self.port)
        try:
            await self._server.start(self._new_connection)
        except OSError as err:
            raise OSError(f"the Wyoming server cannot listen on {self.host}:{self.port}: {err.strerror} "
                          "(change http.wyoming_port in profile.json)") from err
        listener: Any = self._server._server  # noqa: SLF001 - the library keeps the asyncio server private
        sockets = listener.sockets if listener is not None else []
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        LOG.info("Wyoming server on tcp://%s:%s", self.host, self.port)
        await self.satellites.start()

    async def stop(self) -> None:
        await self.satellites.stop()
        if self._server is not None:
            await self._server.stop()
            if self._server._server is not None:  # noqa: SLF001
                await self._server._server.wait_closed()  # noqa: SLF001
            self._server = None
        self.catalog.stop()
        self.router.stop()
