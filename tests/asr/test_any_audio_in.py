"""Any audio in, as the ASR converts audioFrames: WAV chunks of other rates, widths and channel counts, and
μ-law/A-law telephony audio, decoded as well as 16 kHz mono."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from hermes import g711
from hermes.audio_stream import PcmStream
from hermes.resample import resample
from hermes.wav import WavFormatError, g711_wav, pcm_to_wav
from services.asr.pocketsphinx_engine import PocketsphinxAsrEngine

from .speech import utterance
from .test_pocketsphinx_engine import engine, without_the  # noqa: F401 - module-scoped engine fixture

SENTENCE = "turn off the garage light"


def stereo_44k_chunks(pcm16k: bytes, samples: int = 4096) -> list[bytes]:
    mono = np.frombuffer(pcm16k, dtype=np.int16)
    hi = soxr.resample(mono, 16000, 44100).astype(np.int16)
    stereo = np.stack([hi, (hi * 0.5).astype(np.int16)], axis=1)  # a louder left channel
    return [pcm_to_wav(stereo[i : i + samples].tobytes(), rate=44100, channels=2)
            for i in range(0, len(stereo), samples)]


def g711_chunks(pcm16k: bytes, encoding: str = "mulaw", size: int = 160) -> list[bytes]:
    pcm8k = resample(np.frombuffer(pcm16k, dtype=np.int16), 16000, 8000).tobytes()
    return [g711_wav(pcm8k[i : i + 2 * size], encoding) for i in range(0, len(pcm8k), 2 * size)]  # 20 ms packets


def decode_chunks(engine: PocketsphinxAsrEngine, chunks: list[bytes]) -> tuple[str, int]:  # noqa: F811
    converter, stream, samples = PcmStream(), engine.open_stream(), 0
    for chunk in chunks:
        pcm = converter.wav(chunk)
        samples += len(pcm) // 2
        stream.feed(pcm)
    return stream.finish().text, samples


@pytest.mark.parametrize("kind", ["stereo_44k", "mulaw", "alaw"])
def test_other_formats_are_recognised_like_16k_mono(engine: PocketsphinxAsrEngine, kind: str) -> None:  # noqa: F811
    pcm = utterance(SENTENCE)
    chunks = stereo_44k_chunks(pcm) if kind == "stereo_44k" else g711_chunks(pcm, kind)
    text, samples = decode_chunks(engine, chunks)
    assert without_the(text) == without_the(SENTENCE)
    assert abs(samples - len(pcm) // 2) < 0.15 * 16000  # only the resampler's delay is held back


def test_16k_mono_passes_through_unchanged() -> None:
    pcm = utterance("what time is it")[:4096]
    assert PcmStream().wav(pcm_to_wav(pcm)) == pcm


@pytest.mark.parametrize("encoding", ["mulaw", "alaw"])
def test_g711_wavs_are_decoded(encoding: str) -> None:
    pcm = np.arange(-8000, 8000, 50, dtype=np.int16).tobytes()
    codec = {"mulaw": (g711.mulaw_encode, g711.mulaw_decode), "alaw": (g711.alaw_encode, g711.alaw_decode)}[encoding]
    assert PcmStream().wav(g711_wav(pcm, encoding, rate=16000)) == codec[1](codec[0](pcm))


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(WavFormatError, match="WAV"):
        PcmStream().wav(b"not a wav file at all")


@pytest.mark.parametrize("width", [1, 3, 4])
def test_other_sample_widths_match_the_shared_wav_helpers(width: int) -> None:
    from hermes.wav import convert_pcm, to_pcm16k_mono

    pcm16 = utterance("what time is it")[: 2 * 4096]
    samples = np.frombuffer(pcm16, dtype=np.int16).astype(np.int64)
    if width == 1:
        raw = ((samples >> 8) + 128).astype(np.uint8).tobytes()
    elif width == 3:
        wide = (samples << 8).astype("<i4").tobytes()
        raw = b"".join(wide[i : i + 3] for i in range(0, len(wide), 4))
    else:
        raw = (samples << 16).astype("<i4").tobytes()
    wav = pcm_to_wav(raw, rate=16000, width=width)
    assert PcmStream().wav(wav) == to_pcm16k_mono(wav) == convert_pcm(raw, 16000, width, 1)
