"""Audio streams chunk by chunk: the one stateful converter and the one frame buffer.

Every entry of audio (audioFrames at the ASR and the wake service, Wyoming audio-chunks, microphones, the
speakers' side) converts a stream of chunks, not isolated buffers: resampling each 64 ms chunk on its own adds an
edge at every border. ``PcmStream`` keeps the resampler between chunks, so the samples it gives do not depend on
how the audio was cut (``hermes.resample``), and the same audio gives the decoder the same samples whether it
came over HTTP, MQTT or Wyoming. ``FrameBuffer`` re-cuts chunks of any size into fixed frames.
"""

from __future__ import annotations

import numpy as np

from hermes.resample import Resampler
from hermes.wav import CHANNELS, RATE, convert_pcm, read_wav


class PcmStream:
    """One source's audio, in any format and any chunking, as 16-bit PCM at ``to_rate`` with ``to_channels``.

    Keep one per source (a session, a site, a connection). A format change mid-stream starts a new resampler
    (what was held back of the old format is dropped: there is no right way to join the two)."""

    def __init__(self, to_rate: int = RATE, to_channels: int = CHANNELS) -> None:
        self.to_rate = to_rate
        self.to_channels = to_channels
        self._format: tuple[int, int, int] | None = None
        self._resampler: Resampler | None = None
        self._rest = b""  # a partial frame carried to the next chunk

    def wav(self, wav_bytes: bytes, last: bool = False) -> bytes:
        """A chunk that is a WAV file (an audioFrame payload) of any encoding; raises ``WavFormatError``."""
        info, frames = read_wav(wav_bytes)
        return self.pcm(frames, info.rate, info.width, info.channels, last=last)

    def pcm(self, frames: bytes, rate: int, width: int, channels: int, last: bool = False) -> bytes:
        """A chunk of raw integer PCM (``width`` bytes a sample, 8-bit unsigned as in WAV files)."""
        if (rate, width, channels) != self._format:
            self._format, self._rest = (rate, width, channels), b""
            self._resampler = None if rate == self.to_rate else Resampler(rate, self.to_rate)
        data = self._rest + frames if self._rest else frames
        usable = len(data) - len(data) % (width * channels)
        data, self._rest = data[:usable], data[usable:]
        if (rate, width, channels) == (self.to_rate, 2, self.to_channels):
            return data
        mono = convert_pcm(data, rate, width, channels, to_rate=rate)  # width and channels only
        if self._resampler is not None:
            mono = self._resampler.process(np.frombuffer(mono, dtype="<i2"), last=last).astype("<i2").tobytes()
            if last:
                self._resampler = Resampler(rate, self.to_rate)
        if self.to_channels > 1:
            samples = np.frombuffer(mono, dtype="<i2")
            mono = np.repeat(samples[:, None], self.to_channels, axis=1).tobytes()
        return mono

    def flush(self) -> bytes:
        """What the resampler still holds (its filter delay, a few ms); the stream can go on afterwards."""
        if self._format is None:
            return b""
        rate, width, channels = self._format
        return self.pcm(b"", rate, width, channels, last=True)


class FrameBuffer:
    """Re-cuts PCM chunks of any size into frames of ``frame_bytes`` (a detector's input, a published frame)."""

    def __init__(self, frame_bytes: int) -> None:
        if frame_bytes <= 0:
            raise ValueError("frame_bytes must be positive")
        self.frame_bytes = frame_bytes
        self._pending = bytearray()

    def frames(self, pcm: bytes) -> list[bytes]:
        self._pending += pcm
        cut = len(self._pending) - len(self._pending) % self.frame_bytes
        out = [bytes(self._pending[i : i + self.frame_bytes]) for i in range(0, cut, self.frame_bytes)]
        del self._pending[:cut]
        return out

    def rest(self) -> bytes:
        """The partial frame left over (and the buffer emptied)."""
        out = bytes(self._pending)
        self._pending.clear()
        return out
