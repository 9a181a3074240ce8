"""Text-to-speech benchmark (issue 22): espeak-ng and Piper in our engine, and wyoming-piper, side by side.

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

The wyoming-piper row (``--engines wyoming-piper``; the real wyoming-piper 2.5.2 server of the test extra, same
voice, over its loopback socket, see ``wyoming_piper_worker``) was added later, so all three were measured again
together, 2026-12-07, load average about 3, --repeats 5:

| engine | load s | real-time factor (wall) | (CPU time) | first audio, 1 sentence | first audio, 5 sentences | whole, 5 sentences | RSS loaded / peak MiB |
|---|---|---|---|---|---|---|---|
| espeak (whole text) | 0.01 | 96.0x | 137.5x | 17 ms | 23 ms | 41 ms | 55 / 58 |
| piper (per sentence) | 0.78 | 10.0x | 11.5x | 145 ms | 258 ms | 819 ms | 182 / 264 |
| wyoming-piper (per sentence) | 0.37 | 11.4x | 7.4x | 208 ms | 410 ms | 717 ms | 172 / 254 |

wyoming-piper's "load" is its process start up to an open port (it loads the voice on the first request; the
warm-up call pays for that outside the figures), its CPU time and RSS are the server process's, and its times
include the socket round trip and the temporary WAV file it writes per sentence. It spends about 1.5 times our
CPU per second of speech (onnxruntime's default threads, which spin) for a similar wall-clock rate; our engine
runs one non-spinning thread (``tts.piper.threads``), which leaves the other core to the rest of the mesh.
``threads`` 2 gave a lower first-audio time in one run but less speech per CPU second (9.0x against 11.2x):
the default stays 1.

Run: .venv/bin/python bench/tts_bench.py [--engines espeak,piper,wyoming-piper] [--repeats 5] [--json out.json]
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
ENGINES = ("espeak", "piper", "wyoming-piper")
WYOMING_PIPER = "wyoming-piper"  # not our engine: the real wyoming-piper server, measured over its socket


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


def wyoming_piper_worker(repeats: int) -> dict[str, Any]:
    """The same figures for wyoming-piper 2.5.2 (the test extra) with the same bundled voice, run as its own
    server on loopback: whole texts through our Wyoming TTS engine (``services/tts/wyoming_engine.py``), first
    audio as the first audio-chunk of a plain ``synthesize`` (it sends each sentence as soon as it is made).
    CPU time and RSS are the server process's."""
    from wyoming.audio import AudioChunk, AudioStop
    from wyoming.tts import Synthesize

    from hermes.wav import wav_info
    from services.engines import EngineConfig
    from services.tts.wyoming_engine import WyomingTtsEngine
    from services.wyoming_client import EventStream
    from tests.wyoming.wyoming_piper import wyoming_piper_server

    started = time.perf_counter()
    with wyoming_piper_server() as server:
        load_seconds = time.perf_counter() - started  # process start, voice list and port (the voice loads lazily)
        engine = WyomingTtsEngine(EngineConfig(options={"uri": server.uri}, profile_dir=None, work_dir=None))
        engine.synthesize("warm up.")  # loads the voice, as our Piper engine does at start
        rss_loaded = procs.rss_mib(server.pid)

        def first_audio(text: str) -> float:
            stream = EventStream(server.uri, 60.0)
            try:
                began = time.perf_counter()
                stream.send(Synthesize(text=text).event())
                elapsed = None
                while True:
                    event = stream.receive(60.0)
                    if elapsed is None and AudioChunk.is_type(event.type):
                        elapsed = time.perf_counter() - began
                    if AudioStop.is_type(event.type):
                        break
            finally:
                stream.close()
            assert elapsed is not None, "wyoming-piper sent no audio"
            return elapsed

        corpus = [text for text, _, _ in sd.SHORT_COMMANDS] + [FIVE_SENTENCES]
        audio = busy = 0.0
        cpu_started = procs.cpu_seconds(server.pid)
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
        cpu = procs.cpu_seconds(server.pid) - cpu_started
        first_one = [first_audio(ONE_SENTENCE) for _ in range(repeats)]
        first_five = [first_audio(FIVE_SENTENCES) for _ in range(repeats)]
        rss_peak = procs.peak_rss_mib(server.pid)
    return {
        "engine": WYOMING_PIPER, "load_s": load_seconds, "audio_s": audio, "synthesis_s": busy, "rtf": audio / busy,
        "cpu_per_audio_s": cpu / audio, "rtf_cpu": audio / cpu,
        "first_audio_1_s": statistics.median(first_one), "first_audio_5_s": statistics.median(first_five),
        "whole_5_s": statistics.median(whole_five), "streams": True,
        "rss_loaded_mib": rss_loaded, "rss_peak_mib": rss_peak,
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
    if args.worker == WYOMING_PIPER:
        print(json.dumps(wyoming_piper_worker(args.repeats)))
        return
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
