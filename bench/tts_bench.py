"""Text-to-speech benchmark (issue 22): espeak-ng and Piper in our engine, wyoming-piper, and our own Wyoming
server in front of the mesh, side by side.

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

The wyoming-piper and hermesh-wyoming rows were added later, so all four were measured again together,
2026-12-07 16:18 UTC, load average 2.4, --repeats 5 (`.venv/bin/python bench/tts_bench.py --repeats 5`):

| engine | load s | real-time factor (wall) | (CPU time) | first audio, 1 sentence | first audio, 5 sentences | whole, 5 sentences | RSS loaded / peak MiB |
|---|---|---|---|---|---|---|---|
| espeak (whole text) | 0.00 | 192.8x | 194.9x | 11 ms | 16 ms | 17 ms | 54 / 56 |
| piper (per sentence) | 0.40 | 13.0x | 13.1x | 117 ms | 154 ms | 626 ms | 178 / 268 |
| wyoming-piper (per sentence) | 0.21 | 16.5x | 9.8x | 232 ms | 264 ms | 480 ms | 166 / 248 |
| hermesh-wyoming (per sentence) | 3.41 | 11.5x | 12.3x | 125 ms | 173 ms | 641 ms | 262 / 345 |

* **wyoming-piper** is the real wyoming-piper 2.5.2 server of the test extra with the same voice, over its
  loopback socket (``wyoming_piper_worker``). Its "load" is its process start up to an open port (it loads the
  voice at the first request, which the warm-up call pays outside the figures); CPU time and RSS are the server
  process's; its times include the socket round trip and the temporary WAV file it writes per sentence.
* **hermesh-wyoming** is ours the same way: Mosquitto, ``hermesh tts`` (Piper) and ``hermesh bridge`` (its
  Wyoming server), each a process, measured with the same client (``hermesh_wyoming_worker``); "load" is
  everything up to the voice list in the Wyoming info, CPU time and RSS are the tts and bridge processes'.

wyoming-piper runs onnxruntime's default threads (one per core, spinning): on an idle machine the whole
five-sentence text is done sooner (480 against 641 ms), at 1.3 times our CPU per second of speech, and its first
audio comes later (232 against 125 ms: it writes and rereads a WAV file per sentence). Our engine runs one
non-spinning thread (``tts.piper.threads``), which leaves the other core to the rest of the mesh; the mesh
adds about 10 to 20 ms to the first audio (125 against 117 ms) and the bridge's 80 MiB of RSS. An earlier run at
load average 3 gave the same picture (first audio 208 against 145 ms, CPU-time RTF 7.4x against 11.5x).

Run: .venv/bin/python bench/tts_bench.py [--engines espeak,piper,wyoming-piper,hermesh-wyoming] [--repeats 5] [--json out.json]
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
from collections.abc import Callable
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
ENGINES = ("espeak", "piper", "wyoming-piper", "hermesh-wyoming")
WYOMING_PIPER = "wyoming-piper"  # not our engine: the real wyoming-piper server, measured over its socket
HERMESH_WYOMING = "hermesh-wyoming"  # our mesh (broker, tts with piper, bridge) behind our Wyoming server


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (espeak-ng runs as one per call)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def speed_figures(synthesize: Callable[[str], bytes], first_audio: Callable[[str], float],
                  cpu: Callable[[], float], repeats: int) -> dict[str, float]:
    """Real-time factor (wall and CPU) over the corpus, and the medians of the time to first audio and of the
    whole five sentences: the same measure for an engine in-process and a Wyoming server."""
    from hermes.wav import wav_info

    corpus = [text for text, _, _ in sd.SHORT_COMMANDS] + [FIVE_SENTENCES]
    audio = busy = 0.0
    cpu_started = cpu()
    whole_five = []
    for _ in range(repeats):
        for text in corpus:
            began = time.perf_counter()
            wav = synthesize(text)
            spent = time.perf_counter() - began
            busy += spent
            audio += wav_info(wav).seconds
            if text == FIVE_SENTENCES:
                whole_five.append(spent)
    cpu_spent = cpu() - cpu_started
    first_one = [first_audio(ONE_SENTENCE) for _ in range(repeats)]
    first_five = [first_audio(FIVE_SENTENCES) for _ in range(repeats)]
    return {
        "audio_s": audio, "synthesis_s": busy, "rtf": audio / busy,
        "cpu_per_audio_s": cpu_spent / audio, "rtf_cpu": audio / cpu_spent,
        "first_audio_1_s": statistics.median(first_one), "first_audio_5_s": statistics.median(first_five),
        "whole_5_s": statistics.median(whole_five),
    }


def worker(engine_name: str, repeats: int, options: dict[str, Any]) -> dict[str, Any]:
    """One engine's figures, measured in this process."""
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

    return {
        "engine": engine_name + (f" {json.dumps(options)}" if options else ""),
        "load_s": load_seconds,
        **speed_figures(engine.synthesize, first_audio, cpu_seconds, repeats),
        "streams": callable(getattr(engine, "synthesize_stream", None)),
        "rss_loaded_mib": rss_loaded,
        "rss_peak_mib": procs.peak_rss_mib(),
    }


def wyoming_figures(name: str, uri: str, pids: list[int], load_seconds: float, repeats: int) -> dict[str, Any]:
    """The figures of a Wyoming TTS server at ``uri``: whole texts through our Wyoming TTS engine
    (``services/tts/wyoming_engine.py``), first audio as the first audio-chunk of a plain ``synthesize``; CPU
    time and RSS are those of the server's processes ``pids`` together."""
    from wyoming.audio import AudioChunk, AudioStop
    from wyoming.tts import Synthesize

    from services.engines import EngineConfig
    from services.tts.wyoming_engine import WyomingTtsEngine
    from services.wyoming_client import EventStream

    engine = WyomingTtsEngine(EngineConfig(options={"uri": uri}, profile_dir=None, work_dir=None))
    engine.synthesize("warm up.")  # wyoming-piper loads its voice at the first request
    rss_loaded = sum(procs.rss_mib(pid) for pid in pids)

    def cpu() -> float:
        return sum(procs.cpu_seconds(pid) for pid in pids)

    def first_audio(text: str) -> float:
        stream = EventStream(uri, 60.0)
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
        assert elapsed is not None, f"{name} sent no audio"
        return elapsed

    return {
        "engine": name, "load_s": load_seconds, **speed_figures(engine.synthesize, first_audio, cpu, repeats),
        "streams": True,
        "rss_loaded_mib": rss_loaded, "rss_peak_mib": sum(procs.peak_rss_mib(pid) for pid in pids),
    }


def wyoming_piper_worker(repeats: int) -> dict[str, Any]:
    """wyoming-piper 2.5.2 (the test extra) with the same bundled voice, its own server on loopback."""
    from tests.wyoming.wyoming_piper import wyoming_piper_server

    started = time.perf_counter()
    with wyoming_piper_server() as server:
        load_seconds = time.perf_counter() - started  # process start up to an open port (voice: lazily)
        return wyoming_figures(WYOMING_PIPER, server.uri, [server.pid], load_seconds, repeats)


def hermesh_wyoming_worker(repeats: int) -> dict[str, Any]:
    """Our own Wyoming server in front of the mesh: Mosquitto, ``hermesh tts`` with Piper and ``hermesh bridge``
    (the Wyoming server), each its own process, as a deployment runs them; the same client as wyoming-piper."""
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tts-bench-") as folder:
        profile = Path(folder) / "profile"
        profile.mkdir()
        (profile / "profile.json").write_text(json.dumps({"tts": {"engine": "piper"}}), encoding="utf-8")
        processes = procs.Processes(Path(folder))
        try:
            processes.start_broker()
            wyoming_port = procs.free_port()
            processes.start_service("tts", profile)
            processes.start_service("bridge", profile, "--http-port", str(procs.free_port()),
                                    "--wyoming-port", str(wyoming_port))
            procs.wait_port(wyoming_port, timeout=60)
            uri = f"tcp://127.0.0.1:{wyoming_port}"
            deadline = time.monotonic() + 60
            while True:  # the TTS online: its voice list has reached the bridge
                processes.check_alive()
                try:
                    from services.wyoming_client import describe

                    if any(v.name == "en_US-joe-medium" for t in describe(uri, 5).tts for v in t.voices):
                        break
                except Exception:  # noqa: BLE001 - not up yet
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the mesh's Piper voice did not reach the Wyoming info within 60 s")
                time.sleep(0.5)
            load_seconds = time.perf_counter() - started
            return wyoming_figures(HERMESH_WYOMING, uri, [processes.pid("tts"), processes.pid("bridge")],
                                   load_seconds, repeats)
        finally:
            processes.stop()


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
    if args.worker == HERMESH_WYOMING:
        print(json.dumps(hermesh_wyoming_worker(args.repeats)))
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
