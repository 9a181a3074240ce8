"""``hermesh audio-output``: playBytes (any WAV) -> speaker -> playFinished; volume and toggles.

Every playBytes is answered with playFinished (id and sessionId = the request id, as Rhasspy's speakers
do), also when it could not be played; then hermes/error/audioServer/play says why. Snips' playBytesStreaming
(the TTS's sentence-by-sentence sound) plays its chunks back to back in one device stream as they arrive and
is answered with streamFinished after the last chunk.
"""

from __future__ import annotations

import asyncio
import collections
import threading

import numpy as np
from pydantic import Field

from hermes.audioserver import (
    AudioDevice,
    AudioDeviceMode,
    AudioDevices,
    AudioGetDevices,
    AudioPlayBytes,
    AudioPlayBytesStreaming,
    AudioPlayFinished,
    AudioPlayTest,
    AudioSetVolume,
    AudioStreamFinished,
    AudioToggleOff,
    AudioToggleOn,
)
from hermes.errors import AudioPlayError
from hermes.wav import WavFormatError, read_samples
from services.config import SettingsModel
from services.runtime import HermesService, ServiceError, handles

from .devices import AudioDeviceError, DeviceInfo, list_devices, play, play_stream, resolve_device
from .streams import IncomingStream


class AudioOutputSettings(SettingsModel):
    device: str | int | None = None  # name, unique part of a name, or index; None = system default
    volume: float = Field(default=1.0, ge=0.0, le=1.0)  # master volume, changed by rhasspy/audioServer/setVolume
    # A sound that has not finished playing this long after its duration is given up (a hung device).
    play_timeout_margin: float = Field(default=5.0, gt=0.0)
    # A streamed sound whose next chunk does not come within this many seconds ends there (a TTS gone).
    stream_chunk_timeout: float = Field(default=30.0, gt=0.0)
    max_streams: int = Field(default=8, ge=1)  # streams open at once (one per site and say in practice)


class AudioOutputService(HermesService[AudioOutputSettings]):
    name = "audio-output"
    settings_model = AudioOutputSettings
    error_class = AudioPlayError

    async def setup(self) -> None:
        self.volume = self.settings.volume
        self._disabled_sites: set[str] = set()
        self._play_lock = asyncio.Lock()  # one speaker: sounds play one after another, in arrival order
        self._playing: tuple[str, threading.Event] | None = None  # (site, cancel) of the sound now playing
        self._streams: dict[tuple[str, str], IncomingStream] = {}  # (site, request id) of streams not yet ended
        # Streams answered already (given up, or cut by toggleOff): their late chunks must not start them anew.
        self._done_streams: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        try:
            device = await self.run_blocking(resolve_device, self.settings.device, "output")
            self.log.info("playing on %r (%s)", device.name, device.describe("output"))
        except AudioDeviceError as err:
            self.log.warning("%s; audio-output keeps running and answers playBytes with playFinished", err)

    @handles(AudioPlayBytes)
    async def on_play_bytes(self, message: AudioPlayBytes) -> None:
        self.spawn(self._play(message), origin=message)

    @handles(AudioPlayTest)
    async def on_play_test(self, message: AudioPlayTest) -> None:
        """A sound on the speaker a person chose (the web UI's device test), in turn with every other sound."""
        self.spawn(self._play(message, message.device), origin=message)

    async def _play(self, message: AudioPlayBytes | AudioPlayTest, device: str | int | None = None) -> None:
        """Play on ``device`` (a playTest's choice) or else the configured one, then answer playFinished."""
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
                    await asyncio.wait_for(self.run_blocking(self._play_blocking, samples, rate, cancel, device),
                                           timeout)
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

    @handles(AudioPlayBytesStreaming)
    async def on_play_bytes_streaming(self, message: AudioPlayBytesStreaming) -> None:
        key = (message.site_id, message.request_id)
        stream = self._streams.get(key)
        if stream is None:
            if key in self._done_streams:
                return
            if len(self._streams) >= self.settings.max_streams:
                error = ServiceError(f"refused stream {message.request_id} on site {message.site_id!r}: "
                                     f"{len(self._streams)} streams open (audio_output.max_streams)",
                                     context=message.request_id)
                await self.report_error(error, message, message.topic())
                return
            stream = IncomingStream(message.site_id, message.request_id, self.settings.stream_chunk_timeout)
            self._streams[key] = stream
            self.spawn(self._play_streamed(stream, message), origin=message)
        stream.add(message.chunk_number, bool(message.is_last_chunk), message.wav_bytes)

    async def _play_streamed(self, stream: IncomingStream, first: AudioPlayBytesStreaming) -> None:
        key = (stream.site_id, stream.request_id)
        try:
            async with self._play_lock:  # after the sound before it, like any playBytes
                cancel = threading.Event()
                if stream.site_id in self._disabled_sites:
                    cancel.set()  # output off: the chunks are taken and dropped, streamFinished still comes
                self._playing = (stream.site_id, cancel)
                try:
                    await self.run_blocking(self._play_stream_blocking, stream, cancel)
                except AudioDeviceError as err:
                    stream.problem = str(err)
                finally:
                    self._playing = None
                    stream.close()  # what the player left (cancelled, failed) is dropped; later chunks too
            if stream.problem is not None:
                error = ServiceError(f"stream {stream.request_id} on site {stream.site_id!r}: {stream.problem}",
                                     context=stream.request_id)
                await self.report_error(error, first, first.topic())
        finally:
            self._streams.pop(key, None)
            self._done_streams[key] = None
            while len(self._done_streams) > 64:
                self._done_streams.popitem(last=False)
            try:
                await self.publish(AudioStreamFinished(id=stream.request_id, site_id=stream.site_id))
            except ServiceError as err:  # broker gone while stopping
                self.log.warning("could not send streamFinished for %s: %s", stream.request_id, err)

    def _play_stream_blocking(self, stream: IncomingStream, cancel: threading.Event) -> None:
        if cancel.is_set():
            return
        device: DeviceInfo = resolve_device(self.settings.device, "output")
        play_stream(device, ((samples * self.volume, rate) for samples, rate in stream.parts()), cancel)

    def _play_blocking(self, samples: np.ndarray, rate: int, cancel: threading.Event,
                       device_spec: str | int | None = None) -> None:
        # The device is looked up for every sound, so a speaker plugged in later is found.
        device: DeviceInfo = resolve_device(self.settings.device if device_spec is None else device_spec, "output")
        if device_spec is not None:
            self.log.info("device test: playing on %r", device.name)
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
