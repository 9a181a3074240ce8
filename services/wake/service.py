"""``hermesh wake``: audio frames of every site in, hermes/hotword/<wakewordId>/detected out.

Each site gets its own detector (created on its first frame) and its own set of toggle-off reasons. Site ids
come and go (each Wyoming connection has one), so a site's state is freed when the site is released, sends no
frame for ``wake.site_idle_seconds`` or is pushed out by ``wake.max_sites``; its detector is reset and kept for
the next new site (up to SPARE_DETECTORS), since building a pocketsphinx decoder costs ~7 MB and tens of ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hermes.audio_stream import PcmStream
from hermes.audioserver import AudioFrame
from hermes.errors import HotwordError
from hermes.hotword import (
    GetHotwords,
    HotwordDetected,
    HotwordModel,
    Hotwords,
    HotwordToggleOff,
    HotwordToggleOn,
)
from hermes.wav import WavFormatError
from services.engine_loader import load_engine
from services.engines import EngineError
from services.runtime import HermesService, ServiceError, handles

from .engine import WakeDetector, WakeEngine
from .settings import WakeSettings
from .toggles import ToggleReasons

# After an engine failure on a site, frames are dropped for this long before the detector is rebuilt,
# so a dead engine produces one error now and then instead of one per frame.
ENGINE_RETRY_SECONDS = 5.0
# Freed detectors kept for reuse: enough for the few Wyoming detect connections open at once.
SPARE_DETECTORS = 4


def _reason(value: Any) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value or "")


@dataclass
class _Site:
    toggles: ToggleReasons = field(default_factory=ToggleReasons)
    detector: WakeDetector | None = None
    # the site's audio, converted as one stream: resampling each 64 ms frame on its own adds an edge at every
    # border (a 44.1 kHz or 8 kHz microphone)
    converter: PcmStream = field(default_factory=PcmStream)
    retry_at: float = 0.0
    bad_audio_reported: bool = False


class WakeService(HermesService[WakeSettings]):
    name = "wake"
    settings_model = WakeSettings
    error_class = HotwordError

    async def setup(self) -> None:
        self._spare_detectors: list[WakeDetector] = []
        # A site paused by a toggle (a dialogue session in progress) keeps its reasons however long it is quiet.
        self._sites = self.site_registry(
            _Site, close=self._free_site, busy=lambda _, site: not site.toggles.enabled,
            idle_seconds=self.settings.site_idle_seconds, max_sites=self.settings.max_sites)
        s = self.settings
        self.engine: WakeEngine = await self.run_blocking(
            lambda: load_engine("wake", s.engine, s.options_for_engine(), profile_dir=self.profile))
        words = ", ".join(f"{m.wakeword_id} ({m.words!r})" for m in self.engine.models)
        self.log.info("listening for %s with %s", words, self.settings.engine)

    async def teardown(self) -> None:
        self._sites.clear()
        for detector in self._spare_detectors:
            await self.run_blocking(detector.close)
        self._spare_detectors.clear()
        await self.run_blocking(self.engine.close)

    def _site(self, site_id: str) -> _Site:
        return self._sites.use(site_id)

    def _free_site(self, site_id: str, site: _Site) -> None:
        """Called by the registry when a site goes; never while the site's frames are being processed."""
        detector, site.detector = site.detector, None
        if detector is None:
            return
        try:
            if len(self._spare_detectors) < SPARE_DETECTORS:
                detector.reset()  # the next site must not complete a phrase half heard here
                self._spare_detectors.append(detector)
                return
            detector.close()
        except Exception as err:  # noqa: BLE001 - a detector that cannot be reset is dropped, never reused
            self.log.warning("could not reset the detector of site %s: %s", site_id, err)

    async def _new_detector(self) -> WakeDetector:
        if self._spare_detectors:
            return self._spare_detectors.pop()
        detector: WakeDetector = await self.run_blocking(self.engine.new_detector)
        return detector

    @handles(AudioFrame)
    async def on_audio_frame(self, frame: AudioFrame) -> AsyncIterator[HotwordDetected]:
        site = self._site(frame.site_id)
        loop = asyncio.get_running_loop()
        if not site.toggles.enabled or loop.time() < site.retry_at:
            return
        try:
            pcm = site.converter.wav(frame.wav_bytes)
        except WavFormatError as err:
            if not site.bad_audio_reported:  # once per site: a broken microphone sends 16 frames a second
                site.bad_audio_reported = True
                raise ServiceError(f"audio frames of site {frame.site_id!r} are not usable WAV: {err}") from err
            return
        try:
            if site.detector is None:
                site.detector = await self._new_detector()
            detections = await self.run_blocking(site.detector.process, pcm)
        except EngineError as err:  # WakeEngineError, or the base class from a user's engine
            site.retry_at = loop.time() + ENGINE_RETRY_SECONDS
            detector, site.detector = site.detector, None
            if detector is not None:
                await self.run_blocking(detector.close)
            raise ServiceError(f"wake engine failed on site {frame.site_id!r}: {err}; restarting it") from err
        for detection in detections:
            model = detection.model
            self.log.info("detected %s on site %s", model.wakeword_id, frame.site_id)
            yield HotwordDetected(
                wakeword_id=model.wakeword_id,
                model_id=model.model_id,
                model_version=model.version,
                model_type=model.type,
                current_sensitivity=model.sensitivity,
                site_id=frame.site_id,
                lang=self.settings.lang,
            )

    @handles(HotwordToggleOff)
    async def on_toggle_off(self, message: HotwordToggleOff) -> None:
        site = self._site(message.site_id)
        site.toggles.off(_reason(message.reason))
        if site.detector is not None:  # a half-heard phrase must not complete after the pause
            await self.run_blocking(site.detector.reset)
        self.log.debug("site %s off (reasons: %s)", message.site_id, sorted(site.toggles.reasons))

    @handles(HotwordToggleOn)
    async def on_toggle_on(self, message: HotwordToggleOn) -> None:
        site = self._site(message.site_id)
        site.toggles.on(_reason(message.reason))
        self.log.debug("site %s on: %s (reasons left: %s)", message.site_id, site.toggles.enabled,
                       sorted(site.toggles.reasons))

    @handles(GetHotwords)
    async def on_get_hotwords(self, message: GetHotwords) -> Hotwords:
        models = [
            HotwordModel(model_id=m.model_id, model_words=m.words, model_version=m.version, model_type=m.type)
            for m in self.engine.models
        ]
        return Hotwords(models=models, site_id=message.site_id, id=message.id)
