"""Spoken digits with whisper tiny.en held to the grammar: each digit's sentence scored by forced alignment.

Issue 18 asks, where a target is out of pocketsphinx's reach, which engine would reach it and by how much. On
the 400 real 8 kHz digits of ../shared/speech, pocketsphinx (our tuned engine) accepts 311 (77.8 %) and
free-running whisper tiny.en about 80 % (48/60 in the speech bench's whisper column). Most of whisper's misses
are words outside the grammar. Here whisper may only choose among the grammar's sentences: the encoder runs once
per file, then CTranslate2's ``align`` gives the probability of each candidate's tokens (end of text included)
after the audio, and the most probable digit wins. Each digit is tried as whisper writes it: " zero",
" Zero", " Zero.", " 0", " 0.".

Run: .venv/bin/python bench/whisper_closed_set.py [--limit N]   (needs the test extra: faster-whisper and the
bundled tiny.en model)

Measured on this 2-core machine (2026-12-07, other work running, so the speed is a ceiling of the cost):
382/400 (95.5 %), dev half 201/208 (96.6 %), at 0.1x real time with 50 candidates per file. A grammar-held
whisper comes within 1.5 points of the 97 % target with the smallest model; it is far too slow for a command
on this machine (a 30 s encoder window per 0.5 s digit, and one decoder pass per candidate).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import speech_data as sd  # noqa: E402
from hermes.wav import to_pcm16k_mono  # noqa: E402
from services.asr.whisper_engine import bundled_model_path  # noqa: E402

WINDOW_FRAMES = 3000  # whisper's 30 s of 10 ms mel frames


def spellings(index: int, word: str) -> list[str]:
    return [f" {word}", f" {word.capitalize()}", f" {word.capitalize()}.", f" {index}", f" {index}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400, help="digits to score (a fixed sample; default all 400)")
    args = parser.parse_args()

    import ctranslate2
    from faster_whisper import WhisperModel
    from faster_whisper.tokenizer import Tokenizer

    model_path = bundled_model_path()
    if model_path is None:
        raise SystemExit("no whisper model: install the test extra (bash scripts/install.sh --test)")
    model = WhisperModel(str(model_path), device="cpu", compute_type="int8", cpu_threads=1)
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    start = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    candidates = [(word, tokenizer.encode(text) + [tokenizer.eot])
                  for index, word in enumerate(sd.DIGIT_WORDS) for text in spellings(index, word)]

    utterances = sd.digit_utterances()
    if args.limit < len(utterances):
        utterances = sd.sample(utterances, args.limit)
    right = {"dev": 0, "held": 0}
    count = {"dev": 0, "held": 0}
    audio = 0.0
    started = time.perf_counter()
    for u in utterances:
        samples = np.frombuffer(to_pcm16k_mono(u.wav), dtype=np.int16).astype(np.float32) / 32768.0
        audio += len(samples) / 16000
        features = model.feature_extractor(samples)
        frames = features.shape[-1]
        window = np.pad(features, ((0, 0), (0, max(0, WINDOW_FRAMES - frames))))[:, :WINDOW_FRAMES]
        encoded = np.array(model.model.encode(ctranslate2.StorageView.from_array(window[None].astype(np.float32)),
                                              to_cpu=True))
        batch = ctranslate2.StorageView.from_array(np.repeat(encoded, len(candidates), axis=0))
        results = model.model.align(batch, start, [tokens for _, tokens in candidates], [frames] * len(candidates))
        best: dict[str, float] = {}
        for (word, _), result in zip(candidates, results, strict=True):
            score = sum(math.log(max(p, 1e-12)) for p in result.text_token_probs)
            best[word] = max(best.get(word, -math.inf), score)
        half = sd.half_of(u.name)
        count[half] += 1
        right[half] += max(best, key=lambda w: best[w]) == u.slots["digit"]
    seconds = time.perf_counter() - started
    total, good = sum(count.values()), sum(right.values())
    print(f"whisper tiny.en held to the digits grammar: {good}/{total} ({100 * good / total:.1f} %); "
          f"dev {right['dev']}/{count['dev']}, held-out {right['held']}/{count['held']}; "
          f"{audio / seconds:.2f}x real time")


if __name__ == "__main__":
    main()
