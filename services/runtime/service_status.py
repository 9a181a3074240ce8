"""What the retained ``hermesh/status/<service>/<instance>`` messages say about each service, as a pure registry.

A service is online while any of its instances is: a worker pool stays up when one worker dies, and only the
last instance going away (its last will, sent by the broker as soon as a ``kill -9`` closes the socket) makes
the service offline. ``update`` reports exactly those whole-service transitions, so the bridge can end the
requests and the dialogue manager the sessions that wait on a service that is gone, and a service that comes
back (offline, then online again) is usable at once; and, apart, the loss of one instance of a pool that stays
up (``INSTANCE_LOST``), which may have been handling a request.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hermes.status import ServiceState, ServiceStatus


class Change(StrEnum):
    """A transition of a whole service (all its instances together)."""

    ONLINE = "online"
    OFFLINE = "offline"
    INSTANCE_LOST = "instanceLost"  # one instance of a pool went away; the service is still online


class ServiceRegistry:
    """The last status seen of every (service, instance)."""

    def __init__(self) -> None:
        self.instances: dict[tuple[str, str], ServiceStatus] = {}
        # Instances heard from since our own broker connection last dropped (see ``connection_lost``).
        self._heard: set[tuple[str, str]] = set()

    def update(self, status: ServiceStatus) -> Change | None:
        """Record one status message; returns the service's transition, if this message made one."""
        was_known, was_online = self.known(status.service), self.online(status.service)
        before = self.instances.get((status.service, status.instance))
        self.instances[(status.service, status.instance)] = status
        self._heard.add((status.service, status.instance))
        now_online = self.online(status.service)
        if now_online and not was_online:
            return Change.ONLINE
        # An offline status for a service never seen online is news too: it was known to be missing just now.
        if not now_online and (was_online or not was_known):
            return Change.OFFLINE
        if (now_online and status.status != ServiceState.ONLINE and before is not None
                and before.status == ServiceState.ONLINE):
            return Change.INSTANCE_LOST
        return None

    def remove(self, service: str, instance: str) -> None:
        self.instances.pop((service, instance), None)
        self._heard.discard((service, instance))

    def connection_lost(self) -> None:
        """Our broker connection dropped: what we know is from before the gap. A service reconnecting after a
        broker restart subscribes again and only then says online; until then a request sent to it is lost."""
        self._heard.clear()

    def heard_again(self, service: str) -> bool:
        """A status of the service arrived since the connection was lost. True as well when there is nothing to
        wait for: a service never seen, or one last seen offline (a request fails at once on that)."""
        if not self.online(service):
            return True
        return any(name == service for name, _ in self._heard)

    def of(self, service: str) -> list[ServiceStatus]:
        return [s for (name, _), s in sorted(self.instances.items()) if name == service]

    def online(self, service: str) -> bool:
        return any(s.status == ServiceState.ONLINE for s in self.of(service))

    def known(self, service: str) -> bool:
        return bool(self.of(service))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for (name, _), status in sorted(self.instances.items()):
            entry = result.setdefault(name, {"online": False, "instances": []})
            online = status.status == ServiceState.ONLINE
            entry["online"] = entry["online"] or online
            entry["instances"].append({"instance": status.instance, "status": str(ServiceState(status.status).value),
                                       "siteIds": status.site_ids, "host": status.host, "pid": status.pid,
                                       "version": status.version, "since": status.since})
        return result
