"""Feed a MeshObserver from inside a running HermesService (the bridge uses it for /metrics).

The observer gets its own broker connection instead of ``service.add_raw_listener('#', ...)``: Mosquitto 2
delivers one copy of a message per matching subscription of a client (MQTT 5 allows it), so a ``#`` on the
service's own client would hand every message the service subscribes to twice to its handlers and to the
observer. A separate client also keeps the audio frames of every site away from the service's dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import aiomqtt

from services.runtime import HermesService
from services.runtime.mqtt import client_kwargs

from .observer import MeshObserver

LOG = logging.getLogger("hermesh.monitor")
RECONNECT_FIRST_DELAY = 0.2
RECONNECT_MAX_DELAY = 5.0


async def attach(
    service: HermesService[Any],
    observer: MeshObserver | None = None,
    *,
    clock: Callable[[], float] = time.time,
    wait: float = 10.0,
) -> MeshObserver:
    """Start feeding ``observer`` (a new one by default) with every message on the service's broker.

    Call it once, e.g. in the service's ``setup()``. The connection lives as long as the service (it is one of
    the service's spawned tasks), uses the service's broker settings (user, password, TLS), reconnects with
    backoff, and subscribes to ``#`` and ``$SYS/#`` (the broker user needs read access to both; user
    ``hermesh`` in mosquitto/acl.example has it). Returns once subscribed, or after ``wait`` seconds if the
    broker is not reachable yet (feeding starts when it is).
    """
    observer = observer if observer is not None else MeshObserver()
    subscribed = asyncio.Event()
    service.spawn(_feed(service, observer, clock, subscribed))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(subscribed.wait(), wait)
    if not subscribed.is_set() and wait > 0:
        LOG.warning("the monitor is not subscribed yet (broker %s:%s); it keeps trying",
                    service.common.mqtt.host, service.common.mqtt.port)
    return observer


async def _feed(service: HermesService[Any], observer: MeshObserver, clock: Callable[[], float],
                subscribed: asyncio.Event) -> None:
    identifier = f"hermesh-{service.name}-monitor-{service.instance}-{os.getpid()}"
    delay = RECONNECT_FIRST_DELAY
    while True:
        try:
            async with aiomqtt.Client(**client_kwargs(service.common.mqtt, identifier=identifier)) as client:
                await client.subscribe("#")
                await client.subscribe("$SYS/#")
                subscribed.set()
                delay = RECONNECT_FIRST_DELAY
                async for message in client.messages:
                    payload = message.payload
                    data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                    observer.feed(str(message.topic), data, clock())
        except aiomqtt.MqttError as err:
            LOG.debug("monitor connection lost (%s); reconnecting in %.1f s", err, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_DELAY)
