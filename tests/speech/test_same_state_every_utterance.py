"""Issue 18: each utterance starts from the same decoder state, and the audio the decoder gets does not depend on
how it was cut. Real 8 kHz digits are the sharpest check: on these, a 2-LSB difference in the resampled audio, or
a noise estimate left over from the previous files, changes the word."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hermes.audio_stream import PcmStream
from hermes.resample import Resampler, resample
from hermes.wav import to_pcm16k_mono
from tests.conftest import MosquittoBroker

from . import voices
from .voices import sd


def test_a_reused_decoder_answers_as_a_fresh_one_whatever_it_decoded_before(
        mqtt_broker: MosquittoBroker, tmp_path: Path) -> None:
    from services.nlu.training import train_profile

    profile = voices.make_profile("digits", tmp_path / "profile")
    train_profile(profile)
    chosen = voices.utterances("digits")[:30]
    in_order = voices.reference_texts(mqtt_broker, profile, chosen)
    backwards = voices.reference_texts(mqtt_broker, profile, chosen[::-1])
    interleaved = voices.reference_texts(mqtt_broker, profile, chosen[1::2] + chosen[::2])
    fresh = {u.name: voices.reference_texts(mqtt_broker, profile, [u])[u.name] for u in chosen[:8]}
    assert backwards == in_order
    assert interleaved == in_order
    assert fresh == {name: in_order[name] for name in fresh}


def test_resampling_gives_the_same_samples_whole_or_in_any_chunks() -> None:
    rng = np.random.default_rng(5)
    for rate in (8000, 11025, 22050, 44100, 48000):
        x = rng.normal(0, 4000, rate).astype(np.int16)
        whole = resample(x, rate, 16000)
        assert len(whole) == -(-len(x) * 16000 // rate)
        for _ in range(3):
            stream, parts, i = Resampler(rate, 16000), [], 0
            while i < len(x):
                n = int(rng.integers(1, 5000))
                parts.append(stream.process(x[i : i + n]))
                i += n
            parts.append(stream.process(x[:0], last=True))
            assert np.array_equal(np.concatenate(parts), whole), rate


def test_resampling_keeps_speech_band_tones_and_removes_what_the_new_rate_cannot_carry() -> None:
    t = np.arange(48000) / 48000
    tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    out = resample(tone, 48000, 16000).astype(np.float64)
    ideal = 8000 * np.sin(2 * np.pi * 1000 * np.arange(len(out)) / 16000)
    assert np.max(np.abs(out[100:-100] - ideal[100:-100])) < 4  # a few LSB
    alias = resample((8000 * np.sin(2 * np.pi * 11000 * t)).astype(np.int16), 48000, 16000).astype(np.float64)
    assert np.sqrt(np.mean(alias[100:-100] ** 2)) < 8000 / 1000  # 11 kHz is above 8 kHz: at least 60 dB down


def test_a_wav_posted_whole_and_the_same_audio_as_frames_give_the_decoder_the_same_samples() -> None:
    u = voices.utterances("digits")[0]
    pcm, rate = sd.read_pcm(u.wav)
    converter = PcmStream()
    framed = b"".join(converter.wav(sd.write_wav(pcm[i : i + 1024], rate)) for i in range(0, len(pcm), 1024))
    whole = to_pcm16k_mono(u.wav)
    # the stream holds back the last few samples until more audio comes; everything it gave is identical
    assert len(whole) - len(framed) < 2 * 64 and whole[: len(framed)] == framed
