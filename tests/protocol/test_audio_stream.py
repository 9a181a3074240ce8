"""hermes/audio_stream.py: the one stream converter and frame buffer give the same samples however the audio is
cut, in any format in, and to any rate and channel count out."""

from __future__ import annotations

import numpy as np
import pytest

from hermes.audio_stream import FrameBuffer, PcmStream
from hermes.wav import convert_pcm, g711_wav, pcm_to_wav, to_pcm16k_mono

RNG = np.random.default_rng(7)
SPEECHLIKE = (RNG.normal(0, 4000, 44100 * 2)).astype("<i2")  # stereo 44.1 kHz, 1 s


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    out, i, k = [], 0, 0
    while i < len(data):
        out.append(data[i : i + sizes[k % len(sizes)]])
        i += sizes[k % len(sizes)]
        k += 1
    return out


@pytest.mark.parametrize("sizes", [[4096], [1], [333, 7, 1000], [3, 5]], ids=["4096", "1-byte", "uneven", "odd"])
def test_any_chunking_gives_the_whole_file_conversion(sizes: list[int]) -> None:
    """Chunks that split frames (even single bytes) come out exactly as the whole recording converted at once."""
    raw = SPEECHLIKE.tobytes()
    stream = PcmStream()
    chunks = cut(raw, sizes)
    out = b"".join(stream.pcm(c, 44100, 2, 2, last=i == len(chunks) - 1) for i, c in enumerate(chunks))
    assert out == convert_pcm(raw, 44100, 2, 2)
    assert out == to_pcm16k_mono(pcm_to_wav(raw, rate=44100, channels=2))


def test_wav_chunks_of_telephony_audio_equal_the_whole_file() -> None:
    pcm8k = (RNG.normal(0, 3000, 8000)).astype("<i2").tobytes()
    whole = to_pcm16k_mono(g711_wav(pcm8k, "alaw"))
    stream = PcmStream()
    pieces = [pcm8k[i : i + 320] for i in range(0, len(pcm8k), 320)]
    out = b"".join(stream.wav(g711_wav(p, "alaw")) for p in pieces) + stream.flush()
    assert out == whole


def test_output_to_another_rate_and_channel_count() -> None:
    mono16k = (RNG.normal(0, 3000, 16000)).astype("<i2").tobytes()
    stream = PcmStream(to_rate=48000, to_channels=2)
    out = np.frombuffer(stream.pcm(mono16k, 16000, 2, 1) + stream.flush(), dtype="<i2").reshape(-1, 2)
    assert len(out) == 48000 and np.array_equal(out[:, 0], out[:, 1])
    assert out.tobytes() == convert_pcm(mono16k, 16000, 2, 1, to_rate=48000, to_channels=2)


def test_a_format_change_starts_over_and_16k_mono_passes_through() -> None:
    stream = PcmStream()
    mono = SPEECHLIKE[:1000].tobytes()
    assert stream.pcm(mono, 16000, 2, 1) == mono
    stream.pcm(SPEECHLIKE[:999].tobytes(), 44100, 2, 2)  # an odd sample held back as a partial frame
    assert stream.pcm(mono, 16000, 2, 1) == mono  # ... and dropped when the format changes


def test_frame_buffer_recuts_chunks_and_keeps_the_rest() -> None:
    buf = FrameBuffer(960)
    out = buf.frames(b"\x01" * 2048) + buf.frames(b"\x02" * 2048)
    assert [len(f) for f in out] == [960] * 4  # 4096 bytes = 4 frames + 256 left
    assert out[2] == b"\x01" * 128 + b"\x02" * 832
    assert buf.rest() == b"\x02" * 256 and buf.rest() == b""
    with pytest.raises(ValueError):
        FrameBuffer(0)
