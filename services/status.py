"""``hermesh status``: the services seen on the broker, read from their retained status topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import aiomqtt

from hermes.base import HermesProtocolError
from hermes.status import ServiceStatus
from services.config import CommonSettings
from services.runtime.mqtt import client_kwargs


async def collect_status(common: CommonSettings, wait: float = 1.0, instance: str | None = None) -> list[ServiceStatus]:
    """Retained status messages arrive right after subscribing; stop once none came for a short while.

    With ``instance``, only that instance's topics are subscribed: a satellite's broker ACL allows no more.
    """
    found: dict[str, ServiceStatus] = {}
    kwargs = client_kwargs(common.mqtt, identifier=f"hermesh-status-{os.getpid()}")
    async with aiomqtt.Client(**kwargs) as client:
        await client.subscribe(ServiceStatus.subscribe_filter(instance=instance))
        deadline = time.monotonic() + wait
        quiet = min(0.3, wait)
        messages = client.messages
        while time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(anext(messages), quiet if found else deadline - time.monotonic())
            except (TimeoutError, StopAsyncIteration):
                break
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            with contextlib.suppress(HermesProtocolError):
                status = ServiceStatus.from_mqtt(str(message.topic), bytes(payload))
                found[str(message.topic)] = status
    return sorted(found.values(), key=lambda s: (s.service, s.instance))


def format_table(statuses: list[ServiceStatus]) -> str:
    if not statuses:
        return "no Hermesh services have reported on this broker"
    rows = [("SERVICE", "INSTANCE", "STATUS", "SITES", "PID", "UP SINCE")]
    for s in statuses:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.since)) if s.since else "-"
        rows.append((s.service, s.instance, str(s.status), ",".join(s.site_ids) or "all", str(s.pid or "-"), since))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)
    problems = [f"problem: {s.service}/{s.instance}: {p}" for s in statuses for p in s.problems]
    return "\n".join([table, *problems])


def missing_services(statuses: list[ServiceStatus], required: list[str], instance: str | None = None) -> list[str]:
    """The required services without an online instance (``instance`` narrows the check to one instance)."""
    online = {s.service for s in statuses if s.status == "online" and (instance is None or s.instance == instance)}
    return [name for name in required if name not in online]


def print_status(
    common: CommonSettings, *, as_json: bool, wait: float, require: list[str] | None = None, instance: str | None = None
) -> int:
    try:
        statuses = asyncio.run(collect_status(common, wait, instance))
    except aiomqtt.MqttError as err:
        print(f"hermesh: cannot reach the broker at {common.mqtt.host}:{common.mqtt.port} ({err})")
        return 1
    if as_json:
        print(json.dumps([s.to_wire() for s in statuses], indent=2))
    else:
        print(format_table(statuses))
    missing = missing_services(statuses, require or [], instance)
    if missing:
        print(f"not online: {', '.join(missing)}")
        return 3
    return 0
