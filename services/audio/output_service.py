"""``hermesh audio-output``: playBytes (any WAV) -> speaker -> playFinished; volume and toggles.

Every playBytes is answered with playFinished (id and sessionId = the request id, as Rhasspy's speakers
do), also when it could not be played; then hermes/error/audioServer/play says why.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from pydantic import Field

from hermes.audioserver import (
    AudioDevice,
    AudioDeviceMode,
    AudioDevices,
    AudioGetDevices,
    AudioPlayBytes,
    AudioPlayFinished,
    AudioSetVolume,
    AudioToggleOff,
    AudioToggleOn,
)
from hermes.errors import AudioPlayError
from hermes.wav import WavFormatError, read_samples
from services.config import SettingsModel
from services.runtime import HermesService, ServiceError, handles

from .devices import AudioDeviceError, DeviceInfo, list_devices, play, resolve_device


class AudioOutputSettings(SettingsModel):
    device: str | int | None = None  # name, unique part of a name, or index; None = system default
    volume: float = Field(default=1.0, ge=0.0, le=1.0)  # master volume, changed by rhasspy/audioServer/setVolume
    # A sound that has not finished playing this long after its duration is given up (a hung device).
    play_timeout_margin: float = Field(default=5.0, gt=0.0)


class AudioOutputService(HermesService[AudioOutputSettings]):
    name = "audio-output"
    settings_model = AudioOutputSettings
    error_class = AudioPlayError

    async def setup(self) -> None:
        self.volume = self.settings.volume
        self._disabled_sites: set[str] = set()
        self._play_lock = asyncio.Lock()  # one speaker: sounds play one after another, in arrival order
        self._playing: tuple[str, threading.Event] | None = None  # (site, cancel) of the sound now playing
        try:
            device = await self.run_blocking(resolve_device, self.settings.device, "output")
            self.log.info("playing on %r (%s)", device.name, device.describe("output"))
        except AudioDeviceError as err:
            self.log.warning("%s; audio-output keeps running and answers playBytes with playFinished", err)

    @handles(AudioPlayBytes)
    async def on_play_bytes(self, message: AudioPlayBytes) -> None:
        self.spawn(self._play(message), origin=message)

    async def _play(self, message: AudioPlayBytes) -> None:
        request_id = message.request_id
        async with self._play_lock:
            try:
                if message.site_id in self._disabled_sites:
                    self.log.info("audio output of site %s is off; skipped %s", message.site_id, request_id)
                    return
                samples, rate = await self.run_blocking(read_samples, message.wav_bytes)
                timeout = len(samples) / rate + self.settings.play_timeout_margin
                cancel = threading.Event()
                self._playing = (message.site_id, cancel)
                try:
                    await asyncio.wait_for(self.run_blocking(self._play_blocking, samples, rate, cancel), timeout)
                finally:
                    self._playing = None
            except (WavFormatError, AudioDeviceError, TimeoutError) as err:
                reason = f"not finished within {timeout:.1f} s" if isinstance(err, TimeoutError) else str(err)
                error = ServiceError(f"cannot play {request_id} on site {message.site_id!r}: {reason}",
                                     context=request_id)
                await self.report_error(error, message, message.topic())
            finally:
                try:
                    await self.publish(AudioPlayFinished(site_id=message.site_id, id=request_id, session_id=request_id))
                except ServiceError as err:  # broker gone while stopping
                    self.log.warning("could not send playFinished for %s: %s", request_id, err)

    def _play_blocking(self, samples: np.ndarray, rate: int, cancel: threading.Event) -> None:
        # The device is looked up for every sound, so a speaker plugged in later is found.
        device: DeviceInfo = resolve_device(self.settings.device, "output")
        play(device, samples * self.volume, rate, cancel)

    @handles(AudioSetVolume)
    async def on_set_volume(self, message: AudioSetVolume) -> None:
        self.volume = max(0.0, min(1.0, message.volume))
        self.log.info("volume %.2f", self.volume)

    @handles(AudioToggleOff)
    async def on_toggle_off(self, message: AudioToggleOff) -> None:
        self._disabled_sites.add(message.site_id)
        if self._playing is not None and self._playing[0] == message.site_id:
            self._playing[1].set()  # output off means silence now: the sound playing stops too

    @handles(AudioToggleOn)
    async def on_toggle_on(self, message: AudioToggleOn) -> None:
        self._disabled_sites.discard(message.site_id)

    @handles(AudioGetDevices)
    async def on_get_devices(self, message: AudioGetDevices) -> AudioDevices | None:
        if AudioDeviceMode.OUTPUT not in message.modes and "output" not in message.modes:
            return None
        try:
            devices = await self.run_blocking(list_devices, "output")
        except AudioDeviceError as err:
            self.log.warning("%s", err)
            devices = []
        return AudioDevices(
            devices=[
                AudioDevice(mode=AudioDeviceMode.OUTPUT, id=str(d.index), name=d.name, description=d.describe("output"))
                for d in devices
            ],
            site_id=message.site_id,
            id=message.id,
        )
