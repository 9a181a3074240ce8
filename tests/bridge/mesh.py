"""The real services of the mesh, run in-process on the test broker next to the bridge."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bridge.service import BridgeService
from services.asr.service import AsrService, AsrSettings
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from services.nlu.service import NluService
from services.tts.service import TtsService
from tests.conftest import MosquittoBroker, make_common, running

from .harness import http, run_bridge
from .peers import AudioOutputPeer


@contextlib.asynccontextmanager
async def mesh(broker: MosquittoBroker, profile: Path, *, asr: bool | AsrSettings = False, tts: bool = False,
               train: bool = False, output: bool = False, dialogue: bool = False,
               **bridge_settings: Any) -> AsyncIterator[BridgeService]:
    """NLU (+ ASR, TTS, an audio output peer, the dialogue manager without feedback sounds) and the bridge;
    ``train`` runs POST /api/train first; ``asr`` may be the ASR's settings (another engine)."""
    async with contextlib.AsyncExitStack() as stack:
        common = make_common(broker, profile)
        await stack.enter_async_context(running(NluService(common)))
        if asr:
            settings = asr if isinstance(asr, AsrSettings) else AsrSettings()
            await stack.enter_async_context(running(AsrService(common, settings)))
        if tts:
            await stack.enter_async_context(running(TtsService(common)))
        if output:
            await stack.enter_async_context(running(AudioOutputPeer(common)))
        if dialogue:
            await stack.enter_async_context(running(DialogueService(common, DialogueSettings(sounds_enabled=False))))
        bridge = await stack.enter_async_context(run_bridge(broker, profile, **bridge_settings))
        if train:
            async with http(bridge) as client:
                reply = await client.post("/api/train")
                assert reply.status_code == 200, reply.text
        yield bridge
