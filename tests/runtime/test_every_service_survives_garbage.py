"""Every service of the catalog, started as `hermes up` would, survives random and malformed payloads.

For each service: publish garbage on every topic it subscribes to, then check it logged the drops, is still
online (its retained status) and still answers the broker (a fresh status request round trip).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re

import pytest

from hermes.status import ServiceState, ServiceStatus
from services import catalog
from services.config import load_section, service_section
from services.runner import load_class
from tests.conftest import make_common, running

GARBAGE = [b"", b"not json", b"[1,2,3]", b"null", b'{"siteId": 5}', b"\xff\xfe\xfa", b'{"text": {"a": 1}}',
           b'{"siteId": "x", "reason": "because"}', b"RIFF\x00\x00\x00\x00WAVEjunk"]


def concrete(topic_filter: str, site: str) -> str:
    """A concrete topic matching a subscribe filter."""
    topic = re.sub(r"^\$share/[^/]+/", "", topic_filter)
    topic = topic.replace("+", site)
    return topic.replace("#", "garbage")


@pytest.mark.parametrize("name", sorted(catalog.SERVICES))
async def test_service_survives_garbage(name, mqtt_broker, mqtt_client, profile_dir, site_id, caplog):
    caplog.set_level(logging.WARNING)
    cls = load_class(catalog.SERVICES[name])
    common = make_common(mqtt_broker, profile_dir)
    settings = load_section(cls.settings_model, common, service_section(name))
    service = cls(common, settings)
    if name == "bridge":
        from tests.conftest import free_port

        common.http.port = free_port()
        common.http.wyoming_port = free_port()
    rng = random.Random(name)
    await mqtt_client.subscribe(ServiceStatus.subscribe_filter())
    async with running(service, timeout=60):
        filters = sorted(service._filters())
        assert filters, f"{name} subscribes to nothing"
        payloads = GARBAGE + [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(5)]
        for topic_filter in filters:
            topic = concrete(topic_filter, site_id)
            for payload in payloads:
                await mqtt_client.publish_raw(topic, payload)
        # Let the service chew through the garbage, then prove it is alive and connected.
        for _ in range(100):
            await asyncio.sleep(0.05)
            if any("malformed" in r.getMessage() for r in caplog.records):
                break
        assert service._online.is_set()
        await mqtt_client.expect(ServiceStatus, where=lambda s: s.service == service.name and s.status == "online")
        mqtt_client.clear()
        await service.publish(service._status(ServiceState.ONLINE))
        await mqtt_client.expect(ServiceStatus, where=lambda s: s.service == service.name and s.status == "online")
    assert any("malformed" in r.getMessage() for r in caplog.records), f"{name} logged no malformed-payload warning"
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR and "unexpected error" in r.getMessage()]
    assert not crashes, [r.getMessage() for r in crashes]
