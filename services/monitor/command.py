"""``hermesh monitor``: a live view of the mesh read from the broker alone (``--once --json`` for scripts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from services.cli_options import BROKER_OPTIONS, common_flags, with_options

if TYPE_CHECKING:
    from services.config import CommonSettings

    from .observer import MeshObserver

def _settings(options: dict[str, Any]) -> CommonSettings:
    """Broker settings from profile.json < HERMESH_* < the flags given; a clear message when they are invalid."""
    from services.config import ConfigError, load_common

    flags = common_flags(options)
    try:
        return load_common(flags.get("profile"), flags)
    except ConfigError as err:
        typer.echo(f"hermesh: {err}", err=True)
        raise typer.Exit(2) from err


async def _observe(common: CommonSettings, observer: MeshObserver, *, seconds: float | None, sessions: int | None,
                   on_ready: Any, on_tick: Any = None, interval: float = 1.0) -> bool:
    """Feed ``observer`` from the broker. Returns True unless it stopped at ``seconds`` before ``sessions`` ended."""
    import asyncio
    import os
    import time

    import aiomqtt

    from services.runtime.mqtt import client_kwargs

    kwargs = client_kwargs(common.mqtt, identifier=f"hermesh-monitor-{os.getpid()}")
    async with aiomqtt.Client(**kwargs) as client:
        await client.subscribe("#")
        await client.subscribe("$SYS/#")
        on_ready()
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        next_tick = loop.time() + interval
        messages = client.messages
        while True:
            now = loop.time()
            if deadline is not None and now >= deadline:
                return sessions is None
            if on_tick is not None and now >= next_tick:
                on_tick()
                next_tick = now + interval
            wait = min(t for t in (deadline, next_tick if on_tick else None, now + 3600) if t is not None) - now
            try:
                message = await asyncio.wait_for(anext(messages), max(0.01, wait))
            except TimeoutError:
                continue
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            observer.feed(str(message.topic), bytes(payload), time.time())
            if sessions is not None and sum(observer.sessions_ended.values()) >= sessions:
                return True


@with_options(BROKER_OPTIONS)
def monitor(
    options: dict[str, Any],
    once: Annotated[bool, typer.Option("--once", help="Collect for --wait seconds, print once and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (with --once) instead of the text view.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="With --once: seconds to collect (the limit with --sessions).")]
    = 2.0,
    sessions: Annotated[int | None, typer.Option(
        "--sessions", help="With --once: stop as soon as this many sessions have ended (--wait is then the limit).")]
    = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between screen refreshes.")] = 1.0,
    finished: Annotated[int, typer.Option("--finished", help="Finished sessions shown.")] = 10,
) -> None:
    """Live view of the mesh from the broker: services, sessions and their stage latencies, broker load."""
    import asyncio
    import json
    import sys
    import time

    import aiomqtt

    from .observer import MeshObserver
    from .view import CLEAR_SCREEN, render_text

    common = _settings(options)
    address = f"{common.mqtt.host}:{common.mqtt.port}"
    observer = MeshObserver()

    def ready() -> None:
        limit = f"until {sessions} session(s) ended, at most {wait:g} s" if sessions else f"for {wait:g} s"
        if once:
            typer.echo(f"hermesh monitor: subscribed at {address}, collecting {limit}", err=True)

    def draw() -> None:
        text = render_text(observer.snapshot(time.time()), broker_address=address, finished=finished)
        sys.stdout.write((CLEAR_SCREEN if sys.stdout.isatty() else "\n") + text)
        sys.stdout.flush()

    try:
        if once:
            complete = asyncio.run(_observe(common, observer, seconds=wait, sessions=sessions, on_ready=ready))
        else:
            complete = True
            asyncio.run(_observe(common, observer, seconds=None, sessions=None, on_ready=draw, on_tick=draw,
                                 interval=interval))
    except KeyboardInterrupt:
        return
    except aiomqtt.MqttError as err:
        typer.echo(f"hermesh: cannot read the broker at {address} ({err})", err=True)
        raise typer.Exit(1) from err
    snapshot = observer.snapshot(time.time())
    if as_json:
        typer.echo(json.dumps(snapshot, indent=2))
    else:
        typer.echo(render_text(snapshot, broker_address=address, finished=finished), nl=False)
    if not complete:
        typer.echo(f"hermesh monitor: only {sum(observer.sessions_ended.values())} of {sessions} session(s) "
                   f"ended within {wait:g} s", err=True)
        raise typer.Exit(1)
