"""Which services and extra commands exist: one line each, so adding a voice function touches one place.

``SERVICES`` maps the CLI name (``hermesh <name>``) to the service class as "module:Class". ``hermesh up``
starts every entry (a satellite only those in ``ROOM_SERVICES``). ``COMMANDS`` lists extra typer commands as
"module:function"; their modules must import quickly (heavy imports inside the function).
"""

from __future__ import annotations

SERVICES: dict[str, str] = {
    "wake": "services.wake.service:WakeService",
}

# The services that belong to a room (a satellite runs only these, against the base's broker).
ROOM_SERVICES: frozenset[str] = frozenset({"audio-input", "audio-output", "wake"})

COMMANDS: list[str] = [
]
