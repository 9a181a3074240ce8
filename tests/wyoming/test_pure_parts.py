"""The broker-free parts of the Wyoming bridge: audio conversion, sentence splitting, wake word names."""

from __future__ import annotations

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart

from bridge.wyoming.audio import AudioFormatError, InputStream, PcmFormat, wav_to_events
from bridge.wyoming.settings import WyomingSettings
from bridge.wyoming.speech_flows import matching_name
from hermes.hotword import HotwordDetected
from hermes.wav import pcm_to_wav, read_wav
from services.wake.wyoming_engine import wakeword_id_of


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2")


def test_a_44k_stereo_stream_becomes_16k_mono_frames_of_the_same_length() -> None:
    stream = InputStream()
    stereo = np.repeat(tone(2.0, 44100)[:, None], 2, axis=1).reshape(-1).tobytes()
    stream.start(AudioStart(44100, 2, 2))
    wavs = []
    for offset in range(0, len(stereo), 441 * 4):  # 10 ms chunks, as HA sends them
        wavs += stream.chunk(AudioChunk(44100, 2, 2, stereo[offset : offset + 441 * 4]))
    wavs += stream.finish()
    pcm = b"".join(read_wav(w)[1] for w in wavs)
    assert all(read_wav(w)[0].rate == 16000 and read_wav(w)[0].channels == 1 for w in wavs)
    assert abs(len(pcm) // 2 - 32000) < 200
    assert stream.milliseconds == len(pcm) // 2 * 1000 // 16000


@pytest.mark.parametrize("fmt", [(16000, 7, 1), (0, 2, 1), (16000, 2, 0)])
def test_unusable_formats_are_named(fmt: tuple[int, int, int]) -> None:
    with pytest.raises(AudioFormatError, match=r"rate|width|channels"):
        InputStream().chunk(AudioChunk(*fmt, b"\0" * 8))


def test_a_wav_becomes_audio_events_in_a_fixed_format() -> None:
    wav = pcm_to_wav(tone(1.0, 22050).tobytes(), rate=22050)
    fmt, events = wav_to_events(wav, PcmFormat(16000, 2, 1))
    assert fmt == PcmFormat(16000, 2, 1)
    assert [type(e).__name__ for e in events][0] == "AudioStart" and type(events[-1]).__name__ == "AudioStop"
    chunks = [e for e in events if isinstance(e, AudioChunk)]
    assert sum(len(c.audio) for c in chunks) == pytest.approx(32000, abs=64)
    assert {(c.rate, c.width, c.channels) for c in chunks} == {(16000, 2, 1)}


def test_wake_word_names_match_loosely_and_report_the_requested_name() -> None:
    detected = HotwordDetected(model_id="ok nabu", wakeword_id="ok_nabu", site_id="s")
    assert matching_name(None, detected) == "ok nabu"
    assert matching_name(["ok_nabu_v0.1"], detected) == "ok_nabu_v0.1"
    assert matching_name(["OK Nabu"], detected) == "OK Nabu"
    assert matching_name(["alexa"], detected) is None
    assert wakeword_id_of("hey_jarvis_v0.1") == "hey_jarvis"


def test_streamed_text_is_spoken_per_sentence() -> None:
    from bridge.wyoming.text_flows import SENTENCE_END

    assert SENTENCE_END.split("One. Two? Three! Four") == ["One.", "Two?", "Three!", "Four"]
    assert SENTENCE_END.split("Version 1.5 is out") == ["Version 1.5 is out"]


def test_satellites_are_given_as_addresses_or_objects() -> None:
    settings = WyomingSettings(satellites=["tcp://10.0.0.5:10700", {"uri": "tcp://10.0.0.6:10700", "site_id": "hall"}])
    assert [(s.uri, s.site_id) for s in settings.satellites] == [("tcp://10.0.0.5:10700", None),
                                                                 ("tcp://10.0.0.6:10700", "hall")]
    with pytest.raises(ValueError, match="tcp://"):
        WyomingSettings(satellites=["http://10.0.0.5"])
    with pytest.raises(ValueError, match="two satellites"):
        WyomingSettings(satellites=[{"uri": "tcp://a:1", "site_id": "x"}, {"uri": "tcp://b:1", "site_id": "x"}])


def test_site_ids_from_wyoming_obey_the_one_site_id_rule():
    """What a satellite calls itself, the satellites' site_id and the server's site_prefix (issue 19)."""
    from pydantic import ValidationError

    from bridge.wyoming.satellite import site_from_name
    from bridge.wyoming.settings import SatelliteConfig, WyomingSettings
    from hermes.site_ids import site_id_problem

    for name in ["x" * 500, "kitchen/#", "a\u0085b", "+", "", "\u00e9t\u00e9 ~ room"]:
        assert site_id_problem(site_from_name(name)) is None, name
    for bad in ["a/b", "x" * 65, "tab\there", "#"]:
        with pytest.raises(ValidationError):
            SatelliteConfig(uri="tcp://127.0.0.1:10700", site_id=bad)
    with pytest.raises(ValidationError):
        WyomingSettings(site_prefix="wy/oming")
    with pytest.raises(ValidationError):
        WyomingSettings(site_prefix="w" * 60)  # <prefix>-<10 hex digits> would pass 64 characters
    assert WyomingSettings(site_prefix="w" * 53).site_prefix == "w" * 53
