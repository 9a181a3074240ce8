"""Which services are there, from their retained status topics: requests fail at once on an offline one,
wait for a service to be heard again after a broker reconnection, and name what was seen when none answers."""

from __future__ import annotations

import asyncio
import contextlib

from hermes.status import ServiceStatus
from services.runtime.service_status import Change, ServiceRegistry

from .mesh_error import MeshError, MeshErrorCode

RECONNECT_SETTLE_SECONDS = 10.0  # services reconnect within ~2 s of a broker restart (RECONNECT_MAX_DELAY)


class ServiceAvailability:
    def __init__(self) -> None:
        self.registry = ServiceRegistry()
        self._status_heard = asyncio.Event()  # set on every status message (await_service)

    def update(self, status: ServiceStatus) -> Change | None:
        """Record one status message; the whole service's transition, or the loss of one of its instances."""
        change = self.registry.update(status)
        self._status_heard.set()
        return change

    def check_service(self, service: str) -> None:
        """Fail at once when the service's status topic says it is offline (never seen: let the wait decide)."""
        if self.registry.known(service) and not self.registry.online(service):
            topic = ServiceStatus.subscribe_filter(service=service)
            raise MeshError(MeshErrorCode.OFFLINE, service, f"the {service} service is offline ({topic}); "
                            f"start it with `hermesh {service}` or `hermesh up`")

    async def await_service(self, service: str, timeout: float = RECONNECT_SETTLE_SECONDS) -> None:
        """After our broker connection came back, wait until the service has been heard again (its retained
        status on our resubscription, or its online message when it reconnects after us): a request published
        before it subscribed again would go to no one and wait out the whole reply timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.registry.heard_again(service):
            remaining = deadline - loop.time()
            if remaining <= 0:
                topic = ServiceStatus.subscribe_filter(service=service)
                raise MeshError(MeshErrorCode.OFFLINE, service, f"the {service} service has not come back within "
                                f"{timeout:g} s of the broker connection (nothing on {topic} since)")
            self._status_heard.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._status_heard.wait(), remaining)

    def describe_service(self, service: str) -> str:
        topic = ServiceStatus.subscribe_filter(service=service)
        if not self.registry.known(service):
            return f"nothing seen on {topic}"
        return f"{topic}: {'online' if self.registry.online(service) else 'offline'}"

    def timeout_error(self, service: str, timeout: float) -> MeshError:
        return MeshError(MeshErrorCode.TIMEOUT, service, f"no reply from the {service} service within {timeout:g} s "
                         f"(is `hermesh {service}` running? {self.describe_service(service)})")
