"""Text-to-speech benchmark (issue 22): espeak-ng and Piper in our engine, side by side.

Each engine runs in a child process of its own (clean CPU and RSS), built as ``hermesh tts`` builds it
(``load_engine`` with the settings' options; Piper with the bundled en_US-joe-medium voice). Figures:

* **load**: seconds to build the engine (Piper loads its default voice then, never per request);
* **real-time factor**: seconds of audio / seconds of synthesis (wall clock, and CPU time of the process and
  its children, which other load on the machine does not change), over the default profile's 20 short commands
  and the five-sentence text, each synthesised whole, ``--repeats`` times;
* **first audio, 1 sentence / 5 sentences**: median seconds from the call to the first audio in hand, through
  ``synthesize_stream`` (one WAV per sentence) where the engine has it, else the whole ``synthesize``;
* **whole, 5 sentences**: median seconds for the five-sentence text whole;
* **RSS**: the child's resident memory after loading and its peak (VmHWM) at the end, MiB.

Measured 2026-12-07 on this 2-core machine, shared with other work (load average 3 to 4; wall figures vary by
about 2x between runs, CPU-time ones much less), --repeats 5:

| engine | load s | real-time factor (wall) | (CPU time) | first audio, 1 sentence | first audio, 5 sentences | whole, 5 sentences | RSS loaded / peak MiB |
|---|---|---|---|---|---|---|---|
| espeak (whole text) | 0.00 | 133.6x | 133.9x | 13 ms | 22 ms | 23 ms | 56 / 59 |
| piper (per sentence) | 0.73 | 10.2x | 10.4x | 145 ms | 189 ms | 776 ms | 186 / 273 |

Piper streams: its first sentence is there in about a quarter of the whole five-sentence text's time.
``threads`` 2 gave a lower first-audio time in one run but less speech per CPU second (9.0x against 11.2x):
the default stays 1.

Run: .venv/bin/python bench/tts_bench.py [--engines espeak,piper] [--repeats 5] [--json out.json]
     [--options 'piper={"threads": 2}']
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import procs  # noqa: E402
import speech_data as sd  # noqa: E402

ONE_SENTENCE = "Turn on the living room lamp."
FIVE_SENTENCES = ("Good morning, it is seven o'clock. The kitchen light is on. Outside it is twelve degrees. "
                  "Your first meeting starts at nine. Have a nice day.")
ENGINES = ("espeak", "piper")


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (espeak-ng runs as one per call)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def worker(engine_name: str, repeats: int, options: dict[str, Any]) -> dict[str, Any]:
    """One engine's figures, measured in this process."""
    from hermes.wav import wav_info
    from services.engine_loader import load_engine
    from services.tts.engine import synthesize_stream
    from services.tts.settings import TtsSettings

    settings = TtsSettings(engine=engine_name, engine_options=options)
    started = time.perf_counter()
    engine = load_engine("tts", engine_name, settings.options_for_engine(), profile_dir=ROOT)
    load_seconds = time.perf_counter() - started
    rss_loaded = procs.rss_mib()
    engine.synthesize("warm up.")  # the first call of a process pays for lazily built parts

    def first_audio(text: str) -> float:
        began = time.perf_counter()
        stream = synthesize_stream(engine, text)
        next(iter(stream))
        elapsed = time.perf_counter() - began
        for _ in stream:  # finish the text, as a say would
            pass
        return elapsed

    corpus = [text for text, _, _ in sd.SHORT_COMMANDS] + [FIVE_SENTENCES]
    audio = busy = 0.0
    cpu_started = cpu_seconds()
    whole_five = []
    for _ in range(repeats):
        for text in corpus:
            began = time.perf_counter()
            wav = engine.synthesize(text)
            spent = time.perf_counter() - began
            busy += spent
            audio += wav_info(wav).seconds
            if text == FIVE_SENTENCES:
                whole_five.append(spent)
    cpu = cpu_seconds() - cpu_started
    first_one = [first_audio(ONE_SENTENCE) for _ in range(repeats)]
    first_five = [first_audio(FIVE_SENTENCES) for _ in range(repeats)]
    return {
        "engine": engine_name + (f" {json.dumps(options)}" if options else ""),
        "load_s": load_seconds,
        "audio_s": audio,
        "synthesis_s": busy,
        "rtf": audio / busy,
        "cpu_per_audio_s": cpu / audio,
        "rtf_cpu": audio / cpu,
        "first_audio_1_s": statistics.median(first_one),
        "first_audio_5_s": statistics.median(first_five),
        "whole_5_s": statistics.median(whole_five),
        "streams": callable(getattr(engine, "synthesize_stream", None)),
        "rss_loaded_mib": rss_loaded,
        "rss_peak_mib": procs.peak_rss_mib(),
    }


def run_worker(engine_name: str, repeats: int, options: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--worker", engine_name, "--repeats", str(repeats),
                           "--options", json.dumps(options)],
                          capture_output=True, text=True, timeout=1800, cwd=str(ROOT))
    if done.returncode != 0:
        raise RuntimeError(f"the {engine_name} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| engine | load s | real-time factor (wall) | (CPU time) | first audio, 1 sentence | first audio, 5 sentences "
        "| whole, 5 sentences | RSS loaded / peak MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        how = "per sentence" if r["streams"] else "whole text"
        rows.append(
            f"| {r['engine']} ({how}) | {r['load_s']:.2f} | {r['rtf']:.1f}x | {r['rtf_cpu']:.1f}x "
            f"| {r['first_audio_1_s'] * 1000:.0f} ms | {r['first_audio_5_s'] * 1000:.0f} ms "
            f"| {r['whole_5_s'] * 1000:.0f} ms | {r['rss_loaded_mib']:.0f} / {r['rss_peak_mib']:.0f} |"
        )
    return "\n".join(rows)


def options_for(spec: str, engine_name: str) -> dict[str, Any]:
    """``--options``: one JSON object for all engines, or ``ENGINE=JSON`` parts separated by ``;``."""
    if spec.strip().startswith("{"):
        options: dict[str, Any] = json.loads(spec)
        return options
    for part in spec.split(";"):
        name, _, value = part.partition("=")
        if name.strip() == engine_name:
            chosen: dict[str, Any] = json.loads(value)
            return chosen
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Each engine runs in a child process; the table is Markdown.")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma list of tts engines (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each measurement (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--options", default="{}", help="JSON engine_options for every engine (or "
                        "ENGINE=JSON;ENGINE=JSON), e.g. 'piper={\"threads\": 2}'")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, json.loads(args.options))))
        return
    results = [run_worker(name.strip(), args.repeats, options_for(args.options, name.strip()))
               for name in args.engines.split(",") if name.strip()]
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
