"""Sound devices through sounddevice (PortAudio): listing, choosing by name or index, recording, playing.

Every failure becomes an ``AudioDeviceError`` whose message names the device and what to do, because
"Error querying device -1" is what PortAudio says when a machine simply has no sound card.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hermes.audio_stream import PcmStream
from hermes.resample import resample

Kind = Literal["input", "output"]
TARGET_RATE = 16000

# PortAudio is not re-entrant across re-initialisation: refreshing the device list must not overlap
# with opening a stream in another thread.
_PORTAUDIO_LOCK = threading.RLock()


class AudioDeviceError(RuntimeError):
    """No such device, no device at all, or a device that refuses the stream."""


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as err:  # libportaudio missing
        raise AudioDeviceError(f"PortAudio is not available ({err}); install it: apt-get install libportaudio2") from err
    return sounddevice


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    host_api: str
    input_channels: int
    output_channels: int
    default_rate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, kind: Kind) -> int:
        return self.input_channels if kind == "input" else self.output_channels

    def describe(self, kind: Kind) -> str:
        default = (self.is_default_input if kind == "input" else self.is_default_output)
        return (
            f"{self.host_api}, {self.channels(kind)} channels, {self.default_rate:g} Hz"
            + (", default" if default else "")
        )


def refresh_devices() -> None:
    """Scan for devices again (PortAudio lists devices only when it starts, e.g. before a sound server ran)."""
    sd = _sd()
    with _PORTAUDIO_LOCK:
        sd._terminate()  # sounddevice has no public re-scan; these are its own init/exit hooks
        sd._initialize()


def list_devices(kind: Kind) -> list[DeviceInfo]:
    """Devices that can record (``input``) or play (``output``), in PortAudio's order."""
    sd = _sd()
    with _PORTAUDIO_LOCK:
        try:
            raw = list(sd.query_devices())
            apis = [api["name"] for api in sd.query_hostapis()]
            default_in, default_out = sd.default.device
        except sd.PortAudioError as err:
            raise AudioDeviceError(f"cannot list sound devices: {err}") from err
    devices = [
        DeviceInfo(
            index=int(d["index"]),
            name=str(d["name"]),
            host_api=apis[d["hostapi"]] if d["hostapi"] < len(apis) else "?",
            input_channels=int(d["max_input_channels"]),
            output_channels=int(d["max_output_channels"]),
            default_rate=float(d["default_samplerate"]),
            is_default_input=d["index"] == default_in,
            is_default_output=d["index"] == default_out,
        )
        for d in raw
    ]
    return [d for d in devices if d.channels(kind) > 0]


def resolve_device(spec: str | int | None, kind: Kind) -> DeviceInfo:
    """The device named by index, exact name or a unique part of its name; None = the system default."""
    devices = list_devices(kind)
    if not devices:
        raise AudioDeviceError(
            f"no audio {kind} device found (no sound card, or no sound server such as PulseAudio is reachable)"
        )
    names = ", ".join(f"{d.index}: {d.name!r}" for d in devices)
    if spec is None or spec == "":
        chosen = [d for d in devices if (d.is_default_input if kind == "input" else d.is_default_output)]
        return chosen[0] if chosen else devices[0]
    if isinstance(spec, int) or str(spec).strip().isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                return d
        raise AudioDeviceError(f"audio {kind} device {index} not found; {kind} devices: {names}")
    exact = [d for d in devices if d.name == spec]
    if exact:
        return exact[0]
    partial = [d for d in devices if str(spec).lower() in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if partial:
        raise AudioDeviceError(f"audio {kind} device {spec!r} is ambiguous: {', '.join(d.name for d in partial)}")
    raise AudioDeviceError(f"audio {kind} device {spec!r} not found; {kind} devices: {names}")


class Microphone:
    """A blocking microphone that returns exactly ``chunk_samples`` of 16 kHz mono 16-bit audio per read."""

    def __init__(
        self, device: DeviceInfo, chunk_samples: int = 1024, rate: int | None = None, channels: int | None = None
    ) -> None:
        self.device = device
        self.chunk_bytes = chunk_samples * 2
        self.rate, self.channels = self._choose_format(device, rate, channels)
        self._block = max(1, round(chunk_samples * self.rate / TARGET_RATE))
        self._converter = PcmStream()
        self._buffer = b""
        self._stream: Any = None

    @staticmethod
    def _choose_format(device: DeviceInfo, rate: int | None, channels: int | None) -> tuple[int, int]:
        """16 kHz mono when the device takes it (no conversion); else its own rate and channel count."""
        sd = _sd()
        if rate is None and channels is None:
            try:
                sd.check_input_settings(device=device.index, samplerate=TARGET_RATE, channels=1, dtype="int16")
                return TARGET_RATE, 1
            except (sd.PortAudioError, ValueError):
                return int(device.default_rate), min(device.input_channels, 2)
        return int(rate or device.default_rate), int(channels or 1)

    def open(self) -> Microphone:
        sd = _sd()
        with _PORTAUDIO_LOCK:
            try:
                self._stream = sd.RawInputStream(
                    device=self.device.index, samplerate=self.rate, channels=self.channels, dtype="int16",
                    blocksize=self._block,
                )
                self._stream.start()
            except (sd.PortAudioError, ValueError) as err:
                self._stream = None
                raise AudioDeviceError(
                    f"cannot record from {self.device.name!r} ({self.rate} Hz, {self.channels} channels): {err}"
                ) from err
        return self

    def read(self) -> bytes:
        sd = _sd()
        while len(self._buffer) < self.chunk_bytes:
            try:
                data, _overflowed = self._stream.read(self._block)
            except (sd.PortAudioError, AttributeError) as err:
                raise AudioDeviceError(f"recording from {self.device.name!r} stopped: {err}") from err
            self._buffer += self._converter.pcm(bytes(data), self.rate, 2, self.channels)
        chunk, self._buffer = self._buffer[: self.chunk_bytes], self._buffer[self.chunk_bytes :]
        return chunk

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a broken stream must not hide the first error
                pass

    def __enter__(self) -> Microphone:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def play(device: DeviceInfo, samples: np.ndarray, rate: int, cancel: threading.Event | None = None) -> None:
    """Play float samples (frames x channels) and return when the device has played them (or ``cancel`` is set:
    then the rest is dropped at once, as a user's "stop" expects)."""
    play_stream(device, iter([(samples, rate)]), cancel)


def play_stream(device: DeviceInfo, parts: Iterator[tuple[np.ndarray, int]],
                cancel: threading.Event | None = None) -> None:
    """Play float sample parts (frames x channels, rate) back to back through one open output stream, each
    written as soon as ``parts`` yields it: no reopening between parts, so sentences follow each other without
    a gap or a click. The first part sets the stream's format; later ones are converted to it."""
    sd = _sd()
    first = next(parts, None)
    if first is None:
        return
    samples, rate = first
    channels = min(samples.shape[1], device.output_channels)  # e.g. stereo file on a mono speaker: mix down
    stream_rate = rate
    try:
        sd.check_output_settings(device=device.index, samplerate=rate, channels=channels, dtype="float32")
    except (sd.PortAudioError, ValueError):
        stream_rate = int(device.default_rate)  # the device refuses this rate: convert to its own
    with _PORTAUDIO_LOCK:
        try:
            stream = sd.OutputStream(device=device.index, samplerate=stream_rate, channels=channels, dtype="float32")
            stream.start()
        except (sd.PortAudioError, ValueError) as err:
            raise AudioDeviceError(
                f"cannot play on {device.name!r} ({stream_rate} Hz, {channels} channels): {err}") from err
    try:
        part: tuple[np.ndarray, int] | None = first
        while part is not None:
            data = _fitted(part[0], part[1], stream_rate, channels)
            block = max(1, stream_rate // 10)  # 100 ms: how soon a cancel is noticed
            for start in range(0, len(data), block):
                if cancel is not None and cancel.is_set():
                    stream.abort()  # drop what is buffered too
                    return
                stream.write(data[start:start + block])
            part = next(parts, None)
        stream.stop()  # waits until the buffered audio has been played
    except sd.PortAudioError as err:
        raise AudioDeviceError(f"playback on {device.name!r} failed: {err}") from err
    finally:
        stream.close()


def _fitted(samples: np.ndarray, rate: int, to_rate: int, channels: int) -> np.ndarray:
    """Float frames in the open stream's rate and channel count."""
    if samples.shape[1] != channels:
        samples = np.repeat(samples.mean(axis=1, keepdims=True), channels, axis=1)
    data = np.ascontiguousarray(samples, dtype=np.float32)
    return _resampled(data, rate, to_rate) if rate != to_rate and len(data) else data


def _resampled(data: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """Float frames x channels at another rate, through the one resampler (16-bit, as every sound we play)."""
    ints = np.clip(np.round(data * 32767.0), -32768, 32767).astype(np.int16)
    columns = [resample(ints[:, c], rate, to_rate) for c in range(data.shape[1])]
    return np.ascontiguousarray(np.stack(columns, axis=1).astype(np.float32) / 32768.0)


def record(device: DeviceInfo, seconds: float) -> bytes:
    """A short 16 kHz mono recording (device test)."""
    chunks = max(1, int(seconds * TARGET_RATE / 1024))
    with Microphone(device) as mic:
        return b"".join(mic.read() for _ in range(chunks))
