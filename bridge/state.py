"""What the HTTP API remembers between requests: the routes get this and the mesh client, not the service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .last_training import LastTraining


@dataclass
class BridgeState:
    last_recording: bytes | None = None  # the last posted or captured utterance (GET /api/play-recording)
    last_spoken: str | None = None  # the last sentence of /api/text-to-speech (repeat=true)
    recordings: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (site, session)
    # One POST /api/train at a time: a second one must not train the NLU between the first's ASR and NLU steps.
    training: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_training: LastTraining = field(default_factory=LastTraining)  # what the ASR goes back on if the NLU refuses
