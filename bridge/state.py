"""What the HTTP API remembers between requests: the routes get this and the mesh client, not the service."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BridgeState:
    last_recording: bytes | None = None  # the last posted or captured utterance (GET /api/play-recording)
    last_spoken: str | None = None  # the last sentence of /api/text-to-speech (repeat=true)
    recordings: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (site, session)
