"""Can pocketsphinx say "not understood"? Three confidence signals, for right, wrong and out-of-grammar input.

Issue 18 asks for a confidence that answers "not understood" rather than guessing a wrong slot. With a closed
grammar the decoder turns any speech into some sentence of the grammar, so the question is which signal tells
a right decode from a wrong one and from speech the grammar was never meant for. For each decode of the
engine as the ASR service builds it (``PocketsphinxAsrEngine.decode``: trim, denoise when noisy, the clean or
the noisy decoder) this prints percentiles (min, 5, 10, 25, 50, 75, 90 %, max) of:

* **likelihood**: the mean word posterior, what ``textCaptured.likelihood`` carries today;
* **phone-loop margin**: the grammar path's score minus the score of a free phone loop (pocketsphinx's
  ``allphone`` search with the model's phone language model) on the same audio and decoder, per frame, in the
  decoder's log units (base 1.0001); speech the grammar does not cover scores worse on the grammar than on
  the phone loop;
* **coverage**: the share of the utterance's frames that the grammar path spends in words (not silence or
  fillers).

Groups: ``right`` and ``wrong`` (intent and every slot, as ``speech_data.accepted``) of the profile's own
recordings, and ``foreign``: recordings of another set spoken to this profile's grammar (coffee commands to the
default and digit grammars, digits to the coffee grammar) and 4 s pieces of the kitchen noise alone.

Run: PYTHONPATH=. .venv/bin/python bench/confidence_bench.py --profile coffee --sets coffee,coffee-6db --limit 100
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import speech_data as sd  # noqa: E402
from speech_bench import asr_engine, load_set  # noqa: E402

from hermes.wav import to_pcm16k_mono  # noqa: E402
from services.asr import pocketsphinx_engine as pe  # noqa: E402
from services.nlu.training import load_trained_profile, train_profile  # noqa: E402

PHONE_SEARCH = "phone-loop"
PERCENTILES = (0.0, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 1.0)
PROFILES = {"coffee": sd.coffee_profile, "digits": sd.digits_profile, "default": sd.short_profile}
FOREIGN = {"coffee": "digits", "digits": "coffee", "default": "coffee"}


def phone_lm() -> str:
    import pocketsphinx

    return os.path.join(pocketsphinx.get_model_path(), "en-us", "en-us-phone.lm.bin")


def signals(engine: Any, pcm16k: bytes) -> dict[str, Any]:
    """Decode as the ASR does, then the phone loop on the same audio and decoder."""
    pcm, noisy = engine.prepare(pcm16k)
    pool = engine._noisy_pool if noisy and engine._noisy_pool is not None else engine._pool
    pooled, generation = pool.take()
    try:
        decoder = pooled.decoder
        if PHONE_SEARCH not in pooled.searches:
            decoder.add_allphone_file(PHONE_SEARCH, phone_lm())
            pooled.searches.add(PHONE_SEARCH)
        tokens, likelihood = pe._utterance(pooled, engine._ready(pooled, None), pcm)
        logmath = decoder.get_logmath()
        hyp, frames = decoder.hyp(), max(1, decoder.n_frames())
        grammar = logmath.log(hyp.score) if hyp is not None and hyp.score > 0 else None
        segments = list(decoder.seg() or [])
        in_words = sum(s.end_frame - s.start_frame + 1 for s in segments
                       if s.word and not s.word.startswith(("<", "[", "(", "+")) and s.word != "SIL")
        pe._utterance(pooled, PHONE_SEARCH, pcm)  # the same audio, from the same state, on the phone loop
        phones = decoder.hyp()
        loop = logmath.log(phones.score) if phones is not None and phones.score > 0 else None
    finally:
        pool.give_back(pooled, generation)
    margin = (grammar - loop) / frames if grammar is not None and loop is not None else None
    return {"text": " ".join(t.value for t in tokens), "likelihood": likelihood, "margin": margin,
            "coverage": in_words / frames}


def noise_pieces(count: int) -> list[bytes]:
    noise, rate = sd.read_pcm((sd.COFFEE / "noise" / "kitchen.wav").read_bytes())
    step = rate * 4
    return [(noise[i : i + step] * 0.3).astype(np.int16).tobytes()
            for i in range(0, min(len(noise) - step, step * count), step)]


def percentiles(values: Iterable[float | None]) -> str:
    kept = sorted(v for v in values if v is not None and not math.isnan(v))
    if not kept:
        return "-"
    return " ".join(f"{kept[int(p * (len(kept) - 1))]:.2f}" for p in PERCENTILES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="coffee", help="whose grammar decodes")
    parser.add_argument("--sets", default="coffee", help="the profile's own sets (speech_bench names)")
    parser.add_argument("--limit", type=int, default=100, help="files per set (every k-th)")
    parser.add_argument("--noise", type=int, default=30, help="4 s pieces of kitchen noise alone")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hermesh-confidence-") as tmp:
        profile = PROFILES[args.profile](Path(tmp) / args.profile)
        train_profile(profile)
        trained = load_trained_profile(profile)
        engine = asr_engine(profile)
        rows: list[tuple[str, str, dict[str, Any]]] = []
        for set_name in [s for s in args.sets.split(",") if s]:
            for u in load_set(set_name, args.limit):
                found = signals(engine, to_pcm16k_mono(u.wav))
                intent, slots = sd.meaning_of(trained, found["text"])
                group = "right" if sd.accepted(u, intent, slots) else "wrong" if intent else "not understood"
                rows.append((set_name, group, found))
        foreign = FOREIGN[args.profile]
        for u in load_set(foreign, args.limit):
            rows.append((f"{foreign} (foreign)", "foreign", signals(engine, to_pcm16k_mono(u.wav))))
        for piece in noise_pieces(args.noise):
            rows.append(("noise alone (foreign)", "foreign", signals(engine, piece)))

    print(f"\nprofile {args.profile}; percentiles {', '.join(f'{p:.0%}' for p in PERCENTILES)}\n")
    print("| input | group | n | likelihood | phone-loop margin | coverage |")
    print("|---|---|---|---|---|---|")
    for set_name in dict.fromkeys(r[0] for r in rows):
        for group in ("right", "wrong", "not understood", "foreign"):
            chosen = [r[2] for r in rows if r[0] == set_name and r[1] == group]
            if group == "foreign":  # only those the grammar turned into some command count as false accepts
                chosen = [c for c in chosen if sd.meaning_of(trained, c["text"])[0]]
            if chosen:
                print(f"| {set_name} | {group} | {len(chosen)} | {percentiles(c['likelihood'] for c in chosen)} | "
                      f"{percentiles(c['margin'] for c in chosen)} | "
                      f"{percentiles(c['coverage'] for c in chosen)} |")


if __name__ == "__main__":
    main()
