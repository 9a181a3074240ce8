"""Any audio in: WAV chunks of other rates, widths and channel counts, and μ-law telephony audio."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from hermes.wav import WavFormatError, pcm_to_wav
from services.asr import mulaw
from services.asr.audio_input import AudioConverter, mulaw_wav
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


def mulaw_chunks(pcm16k: bytes, size: int = 160) -> list[bytes]:
    ulaw = mulaw.pcm16k_to_ulaw8k(pcm16k)  # 20 ms telephony packets
    return [mulaw_wav(ulaw[i : i + size]) for i in range(0, len(ulaw), size)]


def decode_chunks(engine: PocketsphinxAsrEngine, chunks: list[bytes]) -> tuple[str, int]:  # noqa: F811
    converter, stream, samples = AudioConverter(), engine.open_stream(), 0
    for chunk in chunks:
        pcm = converter.to_pcm16k(chunk)
        samples += len(pcm) // 2
        stream.feed(pcm)
    return stream.finish().text, samples


@pytest.mark.parametrize("kind", ["stereo_44k", "mulaw_8k"])
def test_other_formats_are_recognised_like_16k_mono(engine: PocketsphinxAsrEngine, kind: str) -> None:  # noqa: F811
    pcm = utterance(SENTENCE)
    chunks = stereo_44k_chunks(pcm) if kind == "stereo_44k" else mulaw_chunks(pcm)
    text, samples = decode_chunks(engine, chunks)
    assert without_the(text) == without_the(SENTENCE)
    assert abs(samples - len(pcm) // 2) < 0.15 * 16000  # only the resampler's delay is held back


def test_16k_mono_passes_through_unchanged() -> None:
    pcm = utterance("what time is it")[:4096]
    assert AudioConverter().to_pcm16k(pcm_to_wav(pcm)) == pcm


def test_mulaw_wav_is_read_as_mulaw() -> None:
    ulaw = mulaw.encode(np.arange(-8000, 8000, 50, dtype=np.int16).tobytes())
    wav = mulaw_wav(ulaw, rate=16000)
    assert AudioConverter().to_pcm16k(wav) == mulaw.decode(ulaw)


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(WavFormatError, match="WAV"):
        AudioConverter().to_pcm16k(b"not a wav file at all")


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
    assert AudioConverter().to_pcm16k(wav) == to_pcm16k_mono(wav) == convert_pcm(raw, 16000, width, 1)
