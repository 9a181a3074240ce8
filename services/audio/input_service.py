"""``hermesh audio-input``: microphone -> hermes/audioServer/<siteId>/audioFrame (16 kHz 16-bit mono WAV chunks).

Recording runs in its own thread (PortAudio reads block). Without a usable device the service says so
once, keeps answering getDevices, and tries the device again every ``retry_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from pydantic import Field

from hermes.audioserver import (
    AudioDevice,
    AudioDeviceMode,
    AudioDevices,
    AudioFrame,
    AudioGetDevices,
    AudioRecordTest,
    AudioRecordTestResult,
    AudioSummary,
    SummaryToggleOff,
    SummaryToggleOn,
)
from hermes.errors import AudioRecordError
from hermes.wav import pcm_to_wav
from services.config import SettingsModel
from services.runtime import HermesService, ServiceError, handles

from .devices import (
    AudioDeviceError,
    DeviceInfo,
    Microphone,
    list_devices,
    record,
    refresh_devices,
    resolve_device,
)
from .summary import AudioSummarizer, debiased_energy

# Below this debiased energy a device test reads "not working": digital silence, a muted or dead input.
WORKING_ENERGY = 1.0
QUEUE_CHUNKS = 64  # ~4 s of audio buffered while the broker is slow; older chunks are dropped first


class AudioInputSettings(SettingsModel):
    device: str | int | None = None  # name, unique part of a name, or index; None = system default
    chunk_samples: int = Field(default=1024, ge=160, le=16000)  # per audioFrame (1024 = 64 ms, as Rhasspy)
    # Capture format; None = 16 kHz mono when the device offers it, else the device's own (converted).
    capture_rate: int | None = Field(default=None, ge=8000, le=192000)
    capture_channels: int | None = Field(default=None, ge=1, le=32)
    retry_seconds: float = Field(default=10.0, gt=0.0)
    test_seconds: float = Field(default=0.5, gt=0.0, le=5.0)  # per device for getDevices {test: true}
    summary_every: int = Field(default=5, ge=1)  # chunks per audioSummary


class AudioInputService(HermesService[AudioInputSettings]):
    name = "audio-input"
    settings_model = AudioInputSettings
    error_class = AudioRecordError

    async def setup(self) -> None:
        self.site_id = self.common.own_site_id
        self.active_device: DeviceInfo | None = None
        self._summarizer: AudioSummarizer | None = None
        self._recent_energy: list[tuple[float, float]] = []  # (monotonic time, energy) of the last second
        self._loud = asyncio.Event()  # set when a chunk above WORKING_ENERGY was recorded
        self._stop = threading.Event()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_CHUNKS)
        self._loop = asyncio.get_running_loop()
        self._thread: threading.Thread | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._taps: list[Callable[[bytes], None]] = []  # device tests reading the live stream

    async def on_connected(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._record_forever, name="audio-input", daemon=True)
            self._thread.start()
            self._publisher = self.spawn(self._publish_frames())

    async def teardown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)

    # ---- recording thread --------------------------------------------------------------------------------
    def _record_forever(self) -> None:
        reported = ""
        while not self._stop.is_set():
            try:
                device = resolve_device(self.settings.device, "input")
                with Microphone(device, self.settings.chunk_samples, self.settings.capture_rate,
                                self.settings.capture_channels) as mic:
                    self.active_device = device
                    reported = ""
                    self.log.info("recording from %r at %d Hz, %d channel(s), publishing as site %s",
                                  device.name, mic.rate, mic.channels, self.site_id)
                    while not self._stop.is_set():
                        self._loop.call_soon_threadsafe(self._take_chunk, mic.read())
            except Exception as err:  # noqa: BLE001 - the recording thread must survive to retry
                if self._loop.is_closed():  # the service has stopped
                    break
                if not isinstance(err, AudioDeviceError):
                    self.log.exception("recording failed unexpectedly")
                    err = AudioDeviceError(f"recording failed: {err}")
                self.active_device = None
                if str(err) != reported:  # say it once (log and hermes/error/audioServer/record), not every retry
                    reported = str(err)
                    message = f"{err}; audio-input keeps running without a microphone and retries every " \
                              f"{self.settings.retry_seconds:g} s"
                    with contextlib.suppress(RuntimeError):  # the loop is gone when the service is stopping
                        asyncio.run_coroutine_threadsafe(self._report(message), self._loop)
                if self._stop.wait(self.settings.retry_seconds):
                    break
                if not list_devices_safe():
                    refresh_devices()  # nothing listed at all: a sound server may have started since

    async def _report(self, message: str) -> None:
        await self.report_error(ServiceError(message), None, None)

    def _take_chunk(self, pcm: bytes) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(pcm)

    # ---- publishing ------------------------------------------------------------------------------------------
    async def _publish_frames(self) -> None:
        while True:
            pcm = await self._queue.get()
            for tap in list(self._taps):
                tap(pcm)
            now = time.monotonic()
            energy = debiased_energy(pcm)
            self._recent_energy = [(t, e) for t, e in self._recent_energy if now - t < 1.0] + [(now, energy)]
            if energy > WORKING_ENERGY:
                self._loud.set()
            try:
                await self.publish(AudioFrame(site_id=self.site_id, wav_bytes=pcm_to_wav(pcm)))
                if self._summarizer is not None:
                    summary = self._summarizer.feed(pcm)
                    if summary is not None:
                        level, speech = summary
                        await self.publish(AudioSummary(site_id=self.site_id, debiased_energy=level, is_speech=speech))
            except ServiceError as err:  # broker away: drop audio rather than pile it up
                self.log.debug("audio frame dropped: %s", err)

    @handles(SummaryToggleOn)
    async def on_summary_on(self, message: SummaryToggleOn) -> None:
        if self._summarizer is None:
            self._summarizer = AudioSummarizer(self.settings.summary_every)

    @handles(SummaryToggleOff)
    async def on_summary_off(self, message: SummaryToggleOff) -> None:
        self._summarizer = None

    # ---- devices -----------------------------------------------------------------------------------------------
    @handles(AudioGetDevices)
    async def on_get_devices(self, message: AudioGetDevices) -> AudioDevices | None:
        if AudioDeviceMode.INPUT not in message.modes and "input" not in message.modes:
            return None
        devices = await self.run_blocking(list_devices_safe)
        result = []
        for device in devices:
            working = await self._test(device) if message.test else None
            result.append(
                AudioDevice(mode=AudioDeviceMode.INPUT, id=str(device.index), name=device.name,
                            description=device.describe("input"), working=working)
            )
        return AudioDevices(devices=result, site_id=message.site_id, id=message.id)

    async def _test(self, device: DeviceInfo) -> bool:
        """A device works when it delivers sound that is not digital silence."""
        active = self.active_device
        if active is not None and active.index == device.index:
            # The device we record from may refuse a second stream: judge it by what it just delivered.
            if self._loud_recently():
                return True
            self._loud.clear()
            try:
                await asyncio.wait_for(self._loud.wait(), self.settings.test_seconds)
                return True
            except TimeoutError:
                return False
        try:
            pcm = await self.run_blocking(record, device, self.settings.test_seconds)
        except AudioDeviceError as err:
            self.log.info("device test: %s", err)
            return False
        return debiased_energy(pcm) > WORKING_ENERGY

    @handles(AudioRecordTest)
    async def on_record_test(self, message: AudioRecordTest) -> AudioRecordTestResult:
        """The sound of one microphone for ``seconds``, for a person to hear (the web UI's device test)."""
        try:
            device = await self.run_blocking(resolve_device, message.device, "input")
            active = self.active_device
            if active is not None and active.index == device.index:
                # The device we record from may refuse a second stream: take the test from what it delivers.
                pcm = await self._live(device, message.seconds)
            else:
                pcm = await self.run_blocking(record, device, message.seconds)
        except AudioDeviceError as err:
            raise ServiceError(f"microphone test: {err}", context=message.id) from err
        self.log.info("device test: recorded %.1f s from %r", len(pcm) / 32000, device.name)
        return AudioRecordTestResult(site_id=message.site_id, request_id=message.id, wav_bytes=pcm_to_wav(pcm))

    async def _live(self, device: DeviceInfo, seconds: float) -> bytes:
        wanted = int(seconds * 16000) * 2
        taken = bytearray()
        full = asyncio.Event()

        def tap(pcm: bytes) -> None:
            taken.extend(pcm)
            if len(taken) >= wanted:
                full.set()

        self._taps.append(tap)
        try:
            await asyncio.wait_for(full.wait(), seconds + 5.0)
        except TimeoutError as err:
            raise AudioDeviceError(f"{device.name!r} delivered {len(taken) / 32000:.1f} s of sound in "
                                   f"{seconds + 5.0:g} s") from err
        finally:
            self._taps.remove(tap)
        return bytes(taken[:wanted])

    def _loud_recently(self) -> bool:
        now = time.monotonic()
        return any(now - t < 1.0 and e > WORKING_ENERGY for t, e in self._recent_energy)


def list_devices_safe() -> list[DeviceInfo]:
    try:
        return list_devices("input")
    except AudioDeviceError:
        return []
