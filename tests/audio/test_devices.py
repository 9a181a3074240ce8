"""sounddevice helpers against the virtual PulseAudio devices (real PortAudio, real streams)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from hermes.wav import WavFormatError, read_samples
from services.audio.devices import AudioDeviceError, Microphone, list_devices, play, resolve_device

from .signals import dominant_frequency, float_wav, int16_wav, loud_part, peak, to_int16, tone


def test_devices_are_listed_and_resolved(pulseaudio):
    names = [d.name for d in list_devices("input")]
    assert "pulse" in names and "default" in names
    assert [d.name for d in list_devices("output")] == names
    pulse = resolve_device("pulse", "input")
    assert resolve_device(pulse.index, "input") == pulse
    assert resolve_device(str(pulse.index), "output").name == "pulse"
    assert resolve_device("PULS", "input") == pulse  # a unique part of the name
    assert resolve_device(None, "input").is_default_input
    with pytest.raises(AudioDeviceError, match=r"'no-such-mic' not found; input devices: .*'pulse'"):
        resolve_device("no-such-mic", "input")
    with pytest.raises(AudioDeviceError, match="device 99 not found"):
        resolve_device(99, "output")


def record_until_loud(mic: Microphone, max_chunks: int = 200) -> bytes:
    """Read until the fed sound has started and 1.6 s more have been read (bounded by chunks, not time)."""
    recorded = b""
    after_start = 0
    for _ in range(max_chunks):
        chunk = mic.read()
        assert len(chunk) == 2048
        recorded += chunk
        if after_start or peak(chunk) > 0.05:
            after_start += 1
        if after_start >= 25:
            break
    return recorded


@pytest.mark.parametrize("rate,channels", [(None, None), (44100, 2)])
def test_microphone_records_what_is_played_into_the_virtual_source(pulseaudio, rate, channels):
    with Microphone(resolve_device("pulse", "input"), rate=rate, channels=channels) as mic:
        assert (mic.rate, mic.channels) == ((16000, 1) if rate is None else (44100, 2))
        player = pulseaudio.speak_into_microphone(to_int16(tone(440, 1.5)))
        recorded = record_until_loud(mic)
        player.wait(10)
    sound = loud_part(recorded)
    assert len(sound) > 16000  # at least half a second of the tone came through
    assert abs(dominant_frequency(sound) - 440) < 10
    assert 0.4 < peak(sound) < 0.6  # amplitude 0.5 survives capture and conversion


@pytest.mark.parametrize(
    "wav", [int16_wav(tone(440, 0.8, 22050), 22050), float_wav(tone(440, 0.8, 48000), 48000, channels=2)],
    ids=["int16-22k-mono", "float-48k-stereo"],
)
def test_play_comes_out_of_the_virtual_sink(pulseaudio, wav):
    samples, rate = read_samples(wav)
    with pulseaudio.record_speaker() as speaker:
        play(resolve_device("pulse", "output"), samples, rate)
        pcm = speaker.wait_for(lambda pcm: len(loud_part(pcm)) >= 0.7 * 32000 and not pcm.endswith(loud_part(pcm)))
    sound = loud_part(pcm)
    assert len(sound) >= 0.7 * 16000 * 2
    assert abs(dominant_frequency(sound) - 440) < 10
    assert 0.4 < peak(sound) < 0.6


def test_without_any_sound_device_the_error_says_so(tmp_path):
    """A process that sees no sound server lists no devices and gets a clear error, not a PortAudio code."""
    env = {k: v for k, v in os.environ.items() if k != "PULSE_SERVER"} | {"HOME": str(tmp_path)}
    code = (
        "from services.audio.devices import AudioDeviceError, list_devices, resolve_device\n"
        "print(len(list_devices('input')))\n"
        "try:\n    resolve_device(None, 'input')\nexcept AudioDeviceError as err:\n    print(err)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    count, message = result.stdout.strip().splitlines()
    assert count == "0"
    assert message.startswith("no audio input device found")


def test_wav_reader_gives_playable_samples_of_every_common_encoding():
    mono = tone(440, 0.1, 8000)
    for wav in (int16_wav(mono, 8000), float_wav(mono, 8000, channels=2)):
        samples, rate = read_samples(wav)
        assert rate == 8000 and samples.shape[0] == len(mono)
        assert np.allclose(samples[:, 0], mono, atol=1e-4)
    with pytest.raises(WavFormatError, match="not a WAV file"):
        read_samples(b"ID3\x03 mp3 bytes")
