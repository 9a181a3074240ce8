#!/usr/bin/env python3
"""Hermesh NLU vs rhasspy-nlu 0.4.0 on the large home profile of ../shared/bench (one run, side by side).

    .venv/bin/python bench/nlu_bench.py [-n 1000] [-o .cache/nlu_bench_results.json]

* creates the anchor venv .cache/anchor-venv (rhasspy-nlu 0.4.0, numpy<1.24, hassil 3.12.1) when missing,
* exports the profile and test sentences with ../shared/bench/nlu_bench.py export (same seed, same data),
* runs the anchor (rhasspy-nlu) and Hermesh each in their own process, then prints a table with ratios.

Measured like the anchor script: training = median of 5 untraced runs of parse + slot loading + number
pipeline + graph (Hermesh also reports the full `train_profile` with FSG/JSGF/ARPA/pickle written);
memory = tracemalloc current (retained) and peak during a separate traced training; recognition =
per-sentence wall time, strict and fuzzy, plain and noisy (+ stop words), with intent / intent+slots accuracy.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCH = ROOT.parent / "shared" / "bench" / "nlu_bench.py"
ANCHOR_VENV = ROOT / ".cache" / "anchor-venv"
ANCHOR_PINS = ["rhasspy-nlu==0.4.0", "numpy<1.24", "hassil==3.12.1"]


def ensure_anchor_venv() -> Path:
    python = ANCHOR_VENV / "bin" / "python"
    ok = python.exists() and subprocess.run([str(python), "-c", "import rhasspynlu, num2words"],
                                            capture_output=True).returncode == 0
    if not ok:
        print(f"creating the anchor venv {ANCHOR_VENV} ...", file=sys.stderr)
        subprocess.run(["python3.11", "-m", "venv", str(ANCHOR_VENV)], check=True)
        subprocess.run([str(ANCHOR_VENV / "bin" / "pip"), "install", "-q", *ANCHOR_PINS], check=True)
    return python


def summarize(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    n = len(ms)
    return {"n": n, "mean_ms": round(statistics.fmean(ms), 4), "median_ms": round(ms[n // 2], 4),
            "p95_ms": round(ms[min(n - 1, int(n * 0.95))], 4), "max_ms": round(ms[-1], 4)}


def bench_hermesh(profile: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from services.nlu.exports import to_arpa_text, to_fsg_text
    from services.nlu.training import compile_profile, profile_settings, recognizer_for, train_profile

    settings = profile_settings(profile)
    test = [json.loads(line) for line in (profile / "test_sentences.jsonl").read_text().splitlines()]
    noisy = [json.loads(line) for line in (profile / "test_sentences_noisy.jsonl").read_text().splitlines()]
    stop = set((profile / "stop_words.txt").read_text().split())

    def train():
        return recognizer_for(compile_profile(profile, settings), profile, settings)

    gc.collect()
    tracemalloc.start()
    engine = train()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    runs = []
    for _ in range(5):
        gc.collect()
        t0 = time.perf_counter()
        again = train()
        runs.append(time.perf_counter() - t0)
        del again
    full_runs = []
    for _ in range(3):
        gc.collect()
        t0 = time.perf_counter()
        train_profile(profile, settings=settings)
        full_runs.append(time.perf_counter() - t0)
    graph = engine.graph
    t0 = time.perf_counter()
    fsg = to_fsg_text(graph)
    fsg_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    arpa = to_arpa_text(graph)
    arpa_s = time.perf_counter() - t0

    def run(sentences, fuzzy, stop_words=None):
        times, ok_intent, ok_all, failed = [], 0, 0, 0
        recognize = engine.recognizer.recognize
        for s in sentences:
            t0 = time.perf_counter()
            found = recognize(s["text"], fuzzy=fuzzy, stop_words=stop_words)
            times.append(time.perf_counter() - t0)
            if not found:
                failed += 1
                continue
            if found[0].intent == s["intent"]:
                ok_intent += 1
                if found[0].slots == s["slots"]:
                    ok_all += 1
        res = summarize(times)
        res.update(intent_acc=round(ok_intent / len(sentences), 4),
                   intent_and_slots_acc=round(ok_all / len(sentences), 4), failures=failed)
        return res

    return {
        "engine": "hermesh",
        "states": graph.num_states,
        "train_s": round(statistics.median(runs), 4),
        "train_runs_s": [round(t, 4) for t in runs],
        "train_with_artefacts_s": round(statistics.median(full_runs), 4),
        "fsg_export_s": round(fsg_s, 4),
        "fsg_transitions": fsg.count("TRANSITION"),
        "arpa_export_s": round(arpa_s, 4),
        "arpa_ngrams": sum(1 for line in arpa.splitlines() if line[:1] == "-"),
        "vocabulary_words": len(graph.vocabulary()),
        "train_tracemalloc_peak_mb": round(peak / 2**20, 2),
        "graph_retained_mb": round(retained / 2**20, 2),
        "strict": run(test, False),
        "fuzzy": run(test, True),
        "fuzzy_noisy_stopwords": run(noisy, True, stop),
        "strict_noisy_stopwords": run(noisy, False, stop),
    }


def ratio(anchor: float, ours: float) -> str:
    return f"{anchor / ours:.1f}x" if ours else "inf"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000, help="number of test sentences")
    ap.add_argument("-o", type=Path, default=ROOT / ".cache" / "nlu_bench_results.json")
    ap.add_argument("--hermesh-only", metavar="PROFILE", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hermesh_only:
        print(json.dumps(bench_hermesh(args.hermesh_only)))
        return

    anchor_python = ensure_anchor_venv()
    with tempfile.TemporaryDirectory(prefix="hermesh-bench-") as tmp:
        profile = Path(tmp) / "profile"
        subprocess.run([str(anchor_python), str(SHARED_BENCH), "export", str(profile), "-n", str(args.n)],
                       check=True, capture_output=True)
        # one engine per process, one after the other, so memory and CPU numbers stay clean
        anchor = json.loads(subprocess.run([str(anchor_python), str(SHARED_BENCH), "rhasspy", "-n", str(args.n)],
                                           check=True, capture_output=True, text=True).stdout)
        ours = json.loads(subprocess.run([sys.executable, __file__, "--hermesh-only", str(profile)],
                                         check=True, capture_output=True, text=True,
                                         env=dict(os.environ, PYTHONHASHSEED="0")).stdout)
    rows = [
        ("training (median of 5), s", anchor["train_s"], ours["train_s"], ratio(anchor["train_s"], ours["train_s"]),
         ">=10x faster"),
        ("retained memory, MB", anchor["graph_retained_mb"], ours["graph_retained_mb"],
         ratio(anchor["graph_retained_mb"], ours["graph_retained_mb"]), "<=1/10"),
        ("tracemalloc peak in training, MB", anchor["train_tracemalloc_peak_mb"], ours["train_tracemalloc_peak_mb"],
         ratio(anchor["train_tracemalloc_peak_mb"], ours["train_tracemalloc_peak_mb"]), ""),
    ]
    for mode in ("strict", "fuzzy", "fuzzy_noisy_stopwords", "strict_noisy_stopwords"):
        a, o = anchor[mode], ours[mode]
        rows.append((f"{mode} mean, ms", a["mean_ms"], o["mean_ms"], ratio(a["mean_ms"], o["mean_ms"]),
                     ">=10x faster" if mode == "strict" else ""))
        rows.append((f"{mode} p95, ms", a["p95_ms"], o["p95_ms"], ratio(a["p95_ms"], o["p95_ms"]),
                     ">=10x faster" if mode == "fuzzy" else ""))
        rows.append((f"{mode} accuracy intent / +slots", f"{a['intent_acc']:.3f} / {a['intent_and_slots_acc']:.3f}",
                     f"{o['intent_acc']:.3f} / {o['intent_and_slots_acc']:.3f}", "", ">= anchor"))
    print(f"{'metric':<40} {'rhasspy-nlu 0.4.0':>18} {'hermesh':>16} {'ratio':>8}  target")
    for name, a, o, r, target in rows:
        print(f"{name:<40} {a!s:>18} {o!s:>16} {r:>8}  {target}")
    print(f"hermesh: training incl. FSG+JSGF+ARPA+pickle written {ours['train_with_artefacts_s']} s; "
          f"FSG {ours['fsg_transitions']} transitions in {ours['fsg_export_s']} s; ARPA {ours['arpa_ngrams']} "
          f"n-grams in {ours['arpa_export_s']} s; {ours['states']} states; vocabulary {ours['vocabulary_words']} "
          f"(anchor: {anchor['graph_nodes']} nodes, graph_to_fst {anchor['graph_to_fst_s']} s, trigram counts "
          f"{anchor['trigram_counts_s']} s)")
    args.o.parent.mkdir(parents=True, exist_ok=True)
    args.o.write_text(json.dumps({"rhasspy": anchor, "hermesh": ours}, indent=1) + "\n")
    print(f"results: {args.o}")


if __name__ == "__main__":
    main()
