"""What the mesh offers, as a Wyoming ``info`` event built in advance (Home Assistant waits only 1 s).

Voices and wake words are asked from the mesh (``MeshClient.voices``, the same list GET /api/tts-voices gives,
and rhasspy/hotword/getHotwords) in the background: at start, when a TTS or wake service comes online, and
when a describe finds the answer older than ``info_refresh``. A describe is answered from memory; only while
a service has never answered does it wait for the question in flight, and at most ``FIRST_ANSWER_WAIT`` (Home
Assistant gives up after 1 s). A service that does not answer has no voices or wake words in the info: they are
unknown, not guessed from what the bridge's own machine has installed or from a profile another engine may not
follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    IntentModel,
    IntentProgram,
    TtsProgram,
    TtsVoice,
    TtsVoiceSpeaker,
    WakeModel,
    WakeProgram,
)

from hermes.base import HermesProtocolError
from hermes.hotword import GetHotwords, Hotwords
from hermes.status import ServiceState, ServiceStatus
from hermes.tts import Voice

from ..mesh_client import MeshClient
from ..mesh_error import MeshError
from .settings import WyomingSettings

LOG = logging.getLogger("hermesh.bridge.wyoming")
ATTRIBUTION = Attribution(name="Hermesh", url="https://github.com/rhasspy")
VERSION = "0.1.0"
ASK_TIMEOUT = 2.0
FIRST_ANSWER_WAIT = 0.6  # of Home Assistant's 1 s for a describe


@dataclass(frozen=True)
class VoiceEntry:
    name: str
    description: str | None = None
    languages: tuple[str, ...] = ()  # as the TTS says; empty: taken from the name (espeak-ng's are codes)
    speakers: tuple[str, ...] = ()

    @classmethod
    def of(cls, voice: Voice) -> VoiceEntry:
        return cls(voice.voice_id, voice.description, tuple(voice.languages or ()), tuple(voice.speakers or ()))

    def wyoming_languages(self) -> list[str]:
        """Each language as given and its base code ("en_US" -> "en_US", "en"): HA pipelines use the base."""
        out: list[str] = []
        for code in self.languages or (self.name,):
            for item in languages_of(code):
                if item not in out:
                    out.append(item)
        return out


@dataclass(frozen=True)
class WakeEntry:
    name: str
    phrase: str


def languages_of(code: str) -> list[str]:
    """``en-us`` -> ["en-us", "en"]: HA pipelines use the base code."""
    base = code.split("-")[0].split("_")[0].lower()
    return [code] if base == code else [code, base]


class MeshCatalog:
    def __init__(self, mesh: MeshClient, settings: WyomingSettings) -> None:
        self.mesh = mesh
        self.service = mesh.service
        self.settings = settings
        self.language: str = self.service.common.language
        self.voices: list[VoiceEntry] = []
        self.wake_words: list[WakeEntry] = []
        self.voices_from_mesh = False
        self.wake_from_mesh = False
        self.updated = 0.0
        self._refreshing: asyncio.Task[None] | None = None
        self._info: Info = self._build()
        self._remove_status: Any = None

    async def start(self) -> None:
        self._remove_status = await self.service.add_raw_listener(ServiceStatus.subscribe_filter(), self._on_status)
        self.refresh_soon()

    def stop(self) -> None:
        if self._remove_status:
            self._remove_status()
        if self._refreshing:
            self._refreshing.cancel()

    def _on_status(self, topic: str, payload: bytes) -> None:
        try:
            status = ServiceStatus.from_mqtt(topic, payload)
        except HermesProtocolError:
            return
        if status.status == ServiceState.ONLINE and status.service in ("tts", "wake", "hotword"):
            self.refresh_soon(force=True)

    # ---- info --------------------------------------------------------------------------------------------
    async def info(self) -> Info:
        known = self.voices_from_mesh and self.wake_from_mesh
        if not known or time.monotonic() - self.updated > self.settings.info_refresh:
            self.refresh_soon()
        pending = self._refreshing
        if not known and pending is not None and not pending.done():
            # Home Assistant keeps the info of its first describe: an answer a moment away is worth the wait
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pending), FIRST_ANSWER_WAIT)
        return self._info

    @property
    def wake_names(self) -> list[str]:
        return [w.name for w in self.wake_words]

    def _build(self) -> Info:
        name = self.settings.program_name
        langs = languages_of(self.language)
        common: dict[str, Any] = {"attribution": ATTRIBUTION, "installed": True, "version": VERSION}
        return Info(
            asr=[AsrProgram(name=f"{name}-asr", description="Hermesh speech to text (the trained profile)",
                            models=[AsrModel(name=f"{name}-{self.language}", description=f"profile ({self.language})",
                                             languages=langs, **common)],
                            supports_transcript_streaming=self.settings.transcript_streaming, **common)],
            tts=[TtsProgram(name=f"{name}-tts", description="Hermesh text to speech",
                            voices=[TtsVoice(name=v.name, description=v.description, languages=v.wyoming_languages(),
                                             speakers=[TtsVoiceSpeaker(name=n) for n in v.speakers] or None,
                                             **common) for v in self.voices],
                            supports_synthesize_streaming=True, **common)],
            wake=[WakeProgram(name=f"{name}-wake", description="Hermesh wake word service",
                              models=[WakeModel(name=w.name, phrase=w.phrase, description=w.phrase, languages=langs,
                                                **common) for w in self.wake_words], **common)],
            intent=[IntentProgram(name=f"{name}-intent", description="Hermesh intent recognition",
                                  models=[IntentModel(name=f"{name}-intents-{self.language}", description="profile intents",
                                                      languages=langs, **common)], **common)],
            handle=[HandleProgram(name=f"{name}-handle", description="Hermesh intent handling",
                                  models=[HandleModel(name=f"{name}-handler-{self.language}", description="intent handlers",
                                                      languages=langs, **common)],
                                  supports_handled_streaming=self.settings.handled_streaming,
                                  supports_home_control=True, **common)],
        )

    # ---- asking the mesh ---------------------------------------------------------------------------------
    def refresh_soon(self, force: bool = False) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            if not force:
                return
        self.updated = time.monotonic()
        self._refreshing = asyncio.get_running_loop().create_task(self.refresh())

    async def refresh(self) -> None:
        voices, hotwords = await asyncio.gather(self._ask_voices(), self._ask_hotwords())
        if voices is not None:
            self.voices = [VoiceEntry.of(v) for v in voices]
            self.voices_from_mesh = True
        if hotwords is not None:
            self.wake_words = [WakeEntry(m.model_id, m.model_words or m.model_id) for m in hotwords.models]
            self.wake_from_mesh = True
        self._info = self._build()
        self.updated = time.monotonic()

    async def _ask_voices(self) -> list[Voice] | None:
        try:
            return await self.mesh.voices(self._site(), timeout=ASK_TIMEOUT)
        except MeshError:  # no TTS online yet: keep what we have
            return None

    async def _ask_hotwords(self) -> Hotwords | None:
        request_id = uuid.uuid4().hex
        try:
            reply = await self.mesh.ask([GetHotwords(id=request_id, site_id=self._site())],
                                        [(Hotwords, lambda m: m.id == request_id)], service="wake",
                                        timeout=ASK_TIMEOUT)
        except MeshError:
            return None
        assert isinstance(reply, Hotwords)
        return reply

    def _site(self) -> str:
        return self.service.common.own_site_id
