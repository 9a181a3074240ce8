"""hermes/wav.py: any PCM WAV becomes 16 kHz 16-bit mono with its duration and pitch intact; audioFrames are
canonical 44-byte-header WAVs; anything else is a WavFormatError.

WAV files are written two ways: by Python's ``wave`` (plain PCM headers) and by the real ``sox`` tool, which
writes WAVE_FORMAT_EXTENSIBLE headers for 24/32-bit samples, as most audio tools do.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hermes.wav import (
    WavFormatError,
    chunk_pcm,
    duration_seconds,
    pcm_to_wav,
    read_wav,
    to_pcm16k_mono,
    to_wav16k_mono,
    wav_chunks,
    wav_info,
)

TONE_HZ = 1000.0
SECONDS = 0.5
AMPLITUDE = 0.5
RATES = [8000, 22050, 44100, 48000]
WIDTHS = [1, 2, 3, 4]
CHANNELS = [1, 2]


def encode(samples: np.ndarray, width: int) -> bytes:
    """Float samples in [-1, 1], shape (n, channels), as interleaved little-endian PCM of ``width`` bytes."""
    flat = samples.reshape(-1)
    if width == 1:
        return (np.round(flat * 127) + 128).astype(np.uint8).tobytes()
    if width == 2:
        return np.round(flat * 32767).astype("<i2").tobytes()
    ints = np.round(flat * (2 ** (8 * width - 1) - 1)).astype("<i4")
    if width == 4:
        return ints.tobytes()
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()  # 24-bit: the three low bytes


def tone(rate: int, channels: int, hz: float = TONE_HZ, seconds: float = SECONDS) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    mono = AMPLITUDE * np.sin(2 * np.pi * hz * t)
    return np.repeat(mono[:, None], channels, axis=1)


def python_wav(rate: int, width: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(encode(tone(rate, channels), width))
    return buffer.getvalue()


def sox_wav(rate: int, width: int, channels: int, to_pipe: bool = False) -> bytes:
    """A tone written by sox: to a file (exact header) or to a pipe (header with an unknown, huge data size)."""
    sox = shutil.which("sox")
    assert sox, "sox is installed on the team machines (apt: sox)"
    with tempfile.TemporaryDirectory() as folder:
        target = "-" if to_pipe else os.path.join(folder, "tone.wav")
        command = [sox, "-D", "-n", "-r", str(rate), "-b", str(8 * width), "-c", str(channels), "-t", "wav",
                   target, "synth", str(SECONDS), "sine", str(TONE_HZ), "vol", str(AMPLITUDE)]
        output = subprocess.run(command, check=True, capture_output=True, timeout=30).stdout
        return output if to_pipe else Path(target).read_bytes()


def sox_pipe_wav(rate: int, width: int, channels: int) -> bytes:
    return sox_wav(rate, width, channels, to_pipe=True)


def dominant_frequency(pcm16: bytes, rate: int = 16000) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def rms(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64) / 32768
    return float(np.sqrt(np.mean(samples**2)))


def riff(fmt_tag: int, channels: int, rate: int, width: int, data: bytes, declared: int | None = None,
         extra: bytes = b"") -> bytes:
    """A hand-made WAV, for headers no writer produces on purpose."""
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * channels * width, channels * width, 8 * width)
    fmt += extra
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ---- any WAV -> 16 kHz 16-bit mono ---------------------------------------------------------------------------
@pytest.mark.parametrize("writer", [python_wav, sox_wav, sox_pipe_wav], ids=["wave", "sox", "sox-pipe"])
@pytest.mark.parametrize("channels", CHANNELS, ids=["mono", "stereo"])
@pytest.mark.parametrize("width", WIDTHS, ids=[f"{8 * w}bit" for w in WIDTHS])
@pytest.mark.parametrize("rate", RATES)
def test_any_wav_converts_to_16k_mono_keeping_duration_and_pitch(rate, width, channels, writer):
    source = writer(rate, width, channels)
    info = wav_info(source)
    assert (info.rate, info.width, info.channels) == (rate, width, channels)
    # +-1 frame: a WAV streamed to a pipe has no size, so a RIFF pad byte after odd-length data reads as a sample
    assert info.seconds == pytest.approx(SECONDS, abs=1.5 / rate)

    pcm = to_pcm16k_mono(source)
    assert len(pcm) % 2 == 0
    assert len(pcm) // 2 == pytest.approx(SECONDS * 16000, abs=2)
    assert dominant_frequency(pcm) == pytest.approx(TONE_HZ, abs=4)  # FFT bins are 2 Hz wide
    assert rms(pcm) == pytest.approx(AMPLITUDE / np.sqrt(2), rel=0.1)

    converted = to_wav16k_mono(source)
    out_info, frames = read_wav(converted)
    assert (out_info.rate, out_info.width, out_info.channels) == (16000, 2, 1)
    assert frames == pcm
    assert duration_seconds(converted) == pytest.approx(SECONDS, abs=2 / 16000)


def test_stereo_channels_are_averaged():
    left = tone(48000, 1)[:, 0]
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    source = pcm_to_wav(encode(stereo, 2), rate=48000, channels=2)
    pcm = to_pcm16k_mono(source)
    assert dominant_frequency(pcm) == pytest.approx(TONE_HZ, abs=4)
    assert rms(pcm) == pytest.approx(AMPLITUDE / 2 / np.sqrt(2), rel=0.1)


def test_eight_bit_wav_is_unsigned():
    silence = pcm_to_wav(bytes([128]) * 1600, rate=16000, width=1)
    assert np.all(np.frombuffer(to_pcm16k_mono(silence), dtype="<i2") == 0)


def test_16k_mono_16bit_passes_through_untouched():
    pcm = encode(tone(16000, 1), 2)
    source = pcm_to_wav(pcm)
    assert to_wav16k_mono(source) is source
    assert to_pcm16k_mono(source) == pcm


def test_extensible_16k_mono_is_converted_to_a_plain_header():
    pcm_subformat = bytes.fromhex("0100000000001000800000aa00389b71")
    extra = struct.pack("<HHI", 22, 16, 4) + pcm_subformat  # cbSize, valid bits, channel mask, sub-format
    source = riff(0xFFFE, 1, 16000, 2, b"\x01\x00\x02\x00", extra=extra)
    info, frames = read_wav(source)
    assert (info.rate, info.width, info.channels, info.frames) == (16000, 2, 1, 2)
    assert frames == b"\x01\x00\x02\x00"
    assert to_pcm16k_mono(source) == frames


# ---- not a WAV we can read ------------------------------------------------------------------------------------
GARBAGE = {
    "empty": b"",
    "text": b"hello world, this is not audio" * 4,
    "riff-only": b"RIFF",
    "riff-no-wave": b"RIFF\x10\x00\x00\x00AVI LIST\x00\x00\x00\x00",
    "wave-no-fmt": b"RIFF\x0c\x00\x00\x00WAVEdata\x00\x00\x00\x00",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 50,
    "adpcm": riff(2, 1, 8000, 1, b"\x00" * 100),
    "float16": riff(3, 1, 16000, 2, b"\x00" * 8),
    "mulaw-16bit": riff(7, 1, 8000, 2, b"\x00" * 8),
    "zero-rate": riff(1, 1, 0, 2, b"\x00\x00" * 10),
    "zero-channels": riff(1, 0, 16000, 2, b"\x00\x00" * 10),
    "extensible-adpcm": riff(0xFFFE, 1, 16000, 4, b"\x00" * 16, extra=(
        struct.pack("<HHI", 22, 32, 4) + bytes.fromhex("0200000000001000800000aa00389b71"))),
    "absurd-rate": riff(1, 1, 2_000_000_000, 1, b"\x00" * 40),
    "data-before-fmt": b"RIFF\x1c\x00\x00\x00WAVEdata\x04\x00\x00\x00\x00\x00\x00\x00fmt \x02\x00\x00\x00\x01\x00",
    "one-hertz": riff(1, 1, 1, 2, b"\x00\x00" * 600),  # ten minutes of sound once resampled
    "65-channels": riff(1, 65, 16000, 2, b"\x00\x00" * 65),
    "truncated-header": python_wav(16000, 2, 1)[:30],
}


@pytest.mark.parametrize("data", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_raises_wav_format_error(data: bytes):
    for function in (read_wav, to_pcm16k_mono, to_wav16k_mono, duration_seconds):
        with pytest.raises(WavFormatError) as caught:
            function(data)
        assert str(caught.value).strip()
        assert "()" not in str(caught.value)  # always says what is wrong


def test_float_and_extensible_float_wavs_are_read():
    values = struct.pack("<4f", 0.5, -0.25, 1.5, float("nan"))  # out of range and NaN are clipped to silence/1
    for source in (riff(3, 1, 16000, 4, values), riff(0xFFFE, 1, 16000, 4, values, extra=(
            struct.pack("<HHI", 22, 32, 4) + bytes.fromhex("0300000000001000800000aa00389b71")))):
        info, frames = read_wav(source)
        assert (info.rate, info.width, info.channels, info.frames, info.encoding) == (16000, 4, 1, 4, "float")
        assert list(np.frombuffer(frames, dtype="<i4")) == [1073741824, -536870912, 2147483647, 0]
        assert list(np.frombuffer(to_pcm16k_mono(source), dtype="<i2")) == [16384, -8192, 32767, 0]
    doubles = riff(3, 2, 8000, 8, struct.pack("<4d", 0.5, -0.5, 0.25, -0.25))
    info, _ = read_wav(doubles)
    assert (info.rate, info.channels, info.frames, info.encoding) == (8000, 2, 2, "float")


def test_a_mulaw_wav_at_16k_is_converted_not_passed_through():
    from hermes.wav import g711_wav

    pcm = np.arange(-4000, 4000, 8, dtype="<i2").tobytes()
    source = g711_wav(pcm, "mulaw", rate=16000)
    converted = to_wav16k_mono(source)
    assert converted is not source and read_wav(converted)[0].encoding == "pcm"
    assert read_wav(converted)[1] == to_pcm16k_mono(source) == read_wav(source)[1]


@pytest.mark.parametrize("rate, width, channels", [(16000, 2, 1), (16000, 3, 1), (48000, 2, 2), (8000, 1, 2)])
def test_truncated_data_keeps_whole_frames_only(rate, width, channels):
    """A file cut off mid-frame (its header promises more): the whole frames that arrived are used."""
    frame = width * channels
    data = bytes(range(1, 1 + frame * 3 + 1))  # three frames and one stray byte
    source = riff(1, channels, rate, width, data, declared=frame * 100)
    info, frames = read_wav(source)
    assert frames == data[: frame * 3]
    assert info.frames == 3
    assert len(to_pcm16k_mono(source)) % 2 == 0


FUZZ = settings(max_examples=300, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    tail=st.binary(max_size=80),
    fmt=st.tuples(st.integers(0, 0xFFFF), st.integers(0, 9), st.integers(0, 200_000), st.integers(0, 40)),
    data=st.binary(max_size=40),
)
def test_random_wav_like_bytes_only_raise_wav_format_error(tail: bytes, fmt: tuple[int, int, int, int], data: bytes):
    tag, channels, rate, bits = fmt
    header = struct.pack("<HHIIHH", tag, channels, rate, 0, 0, bits)
    candidates = [
        tail,
        b"RIFF" + struct.pack("<I", len(tail) + 4) + b"WAVE" + tail,
        b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<I", 16) + header + b"data" + struct.pack("<I", len(data)) + data,
        b"RIFF\xff\xff\xff\xffWAVEfmt " + struct.pack("<I", 16) + header + b"data\xff\xff\xff\xff" + data,
    ]
    for candidate in candidates:
        try:
            pcm = to_pcm16k_mono(candidate)
        except WavFormatError:
            continue
        assert len(pcm) % 2 == 0


# ---- audioFrame framing ---------------------------------------------------------------------------------------
def test_1024_zero_samples_make_a_2092_byte_audio_frame():
    chunks = list(wav_chunks(bytes(2048)))
    assert len(chunks) == 1
    frame = chunks[0]
    assert len(frame) == 2092
    riff_id, riff_size, wave_id, fmt_id, fmt_size = struct.unpack("<4sI4s4sI", frame[:20])
    assert (riff_id, riff_size, wave_id, fmt_id, fmt_size) == (b"RIFF", 2084, b"WAVE", b"fmt ", 16)
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", frame[20:36])
    assert (tag, channels, rate, byte_rate, block_align, bits) == (1, 1, 16000, 32000, 2, 16)
    assert struct.unpack("<4sI", frame[36:44]) == (b"data", 2048)
    assert frame[44:] == bytes(2048)


def test_wav_chunks_are_valid_wavs_that_concatenate_to_the_input():
    pcm = encode(tone(16000, 1, seconds=0.15625), 2)  # 2500 samples
    chunks = list(wav_chunks(pcm))
    assert [len(chunk) - 44 for chunk in chunks] == [2048, 2048, 904]
    rejoined = b""
    for chunk in chunks:
        with wave.open(io.BytesIO(chunk)) as reader:
            assert (reader.getframerate(), reader.getsampwidth(), reader.getnchannels()) == (16000, 2, 1)
            rejoined += reader.readframes(reader.getnframes())
        assert read_wav(chunk)[1] == chunk[44:]
    assert rejoined == pcm


def test_wav_chunks_of_other_sizes_and_rates():
    chunks = list(wav_chunks(bytes(960 * 2 * 2), samples=960, rate=48000))
    assert len(chunks) == 2 and all(len(chunk) == 44 + 1920 for chunk in chunks)
    assert wav_info(chunks[0]).rate == 48000
    assert list(wav_chunks(b"")) == []
    assert [len(c) for c in chunk_pcm(bytes(10), samples=2)] == [4, 4, 2]


def test_pcm_to_wav_round_trip():
    pcm = encode(tone(22050, 2), 3)
    source = pcm_to_wav(pcm, rate=22050, width=3, channels=2)
    info, frames = read_wav(source)
    assert frames == pcm
    assert (info.rate, info.width, info.channels, info.frames) == (22050, 3, 2, len(pcm) // 6)
