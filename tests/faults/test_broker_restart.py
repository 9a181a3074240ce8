"""A Mosquitto restart (``kill -9``, then started again): every service, and every satellite service serving only
its room, reconnects, subscribes again and answers an ordinary request as before (issue 19 §4).

Each service runs as ``hermesh up`` builds it; the request after the restart goes out on a new client, so only a
service that subscribed again can answer it (a status saying online proves the connection, not the subscriptions).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services import catalog
from tests.conftest import HermesTestClient, free_port, make_common, running
from tests.fuzzing.hermes_targets import answers_a_normal_request, expecter, make_service

SATELLITE = ("audio-input", "audio-output", "wake")  # what `hermesh up --satellite` runs in a room


async def asked(name: str, service: Any, client: HermesTestClient, site: str | None) -> str:
    return await answers_a_normal_request(name, service, client.publish_raw, expecter(client), client.subscribe,
                                          site=site)


@pytest.mark.parametrize(("name", "satellite"), [(name, False) for name in sorted(catalog.SERVICES)]
                         + [(name, True) for name in SATELLITE])
async def test_every_service_answers_again_after_the_broker_restarts(name, satellite, mqtt_broker, profile_dir,
                                                                    site_id):
    common = make_common(mqtt_broker, profile_dir, [site_id] if satellite else None)
    if name == "bridge":
        common.http.port = free_port()
        common.http.wyoming_port = free_port()
    service = make_service(name, common)
    site = site_id if satellite else None
    async with running(service, timeout=60):
        async with HermesTestClient(mqtt_broker) as client:
            await asked(name, service, client, site)
        mqtt_broker.stop()  # SIGKILL: no goodbye to anyone
        mqtt_broker.start()
        async with asyncio.timeout(30):
            while not (service.connections == 2 and service._online.is_set()):
                await asyncio.sleep(0.05)
        async with HermesTestClient(mqtt_broker) as client:
            assert await asked(name, service, client, site)
