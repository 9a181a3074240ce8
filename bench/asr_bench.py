"""ASR benchmark: the service on a real broker against pocketsphinx decoding the same audio alone (the floor).

Utterances: every covering sentence of the default profile's grammar (all intents, all slot values),
spoken by espeak-ng (en-us+m6, 140 wpm) with 0.5 s of lead, 1.5 s of tail and a light noise bed, cut into
64 ms audioFrames as a microphone sends them.

Measured:
* floor: one process, one pocketsphinx Decoder with the same model, dictionary and grammar, fed the same
  chunks (process_raw per chunk, then end_utt): decoding seconds per utterance, RTF.
* mesh, whole-utterance mode (stopOnSilence false, as /api/speech-to-text): ``hermesh asr`` as its own
  process; frames published as fast as the client can, then stopListening. Processing time = first
  frame published -> textCaptured; overhead = processing time / floor decoding time - 1; latency =
  stopListening published -> textCaptured.
* mesh, live mode (stopOnSilence true): frames paced in real time (``--speed`` times faster); latency =
  the frame at which the endpointer decides (found by running the same endpointer over the same frames)
  published -> textCaptured. The endpointer's own silence window (segmenter.silence_seconds) comes before
  that and is reported separately.

Run: .venv/bin/python bench/asr_bench.py [--repeat 2] [--speed 1.0] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured  # noqa: E402
from hermes.audioserver import AudioFrame  # noqa: E402
from hermes.wav import pcm_to_wav  # noqa: E402
from services.asr.endpointer import Endpointer, SegmenterSettings, SegmentEvent, make_vad  # noqa: E402
from services.asr.fsg import covering_sentences, parse_fsg  # noqa: E402
from services.asr.training import asr_work_dir, training_data_from_profile  # noqa: E402
from services.profile import ensure_profile  # noqa: E402
from tests.asr.speech import frames, utterance  # noqa: E402

SITE = "bench"


@dataclass
class Utterance:
    text: str
    meaning: Any  # (intent, slots) the NLU gives for the text itself
    pcm: bytes
    chunks: list[bytes]
    wavs: list[bytes]
    end_frame: int | None  # index of the frame at which the endpointer ends the command

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 32000


@dataclass
class Results:
    floor: list[float] = field(default_factory=list)  # decoding seconds per utterance
    floor_cpu: float = 0.0
    floor_ok: int = 0
    mesh_cpu: float = 0.0  # CPU seconds of the service process over the whole-utterance run
    live_cpu: float = 0.0
    transport_cpu: float = 0.0  # the service receiving the same frames with no session open
    mesh_processing: list[float] = field(default_factory=list)
    mesh_decoder: list[float] = field(default_factory=list)  # textCaptured.seconds (decoder time in the service)
    mesh_stop_latency: list[float] = field(default_factory=list)
    mesh_ok: int = 0
    live_latency: list[float] = field(default_factory=list)
    live_ok: int = 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def prepare(profile: Path, repeat: int) -> tuple[list[Utterance], Any]:
    from services.nlu.training import train_profile

    trained = train_profile(profile)
    fsg = parse_fsg((profile / "trained" / "grammar.fsg").read_text())
    sentences = [" ".join(words) for words in covering_sentences(fsg)] * repeat
    settings = SegmenterSettings()
    result = []
    for text in sentences:
        pcm = utterance(text)
        chunks = frames(pcm)
        endpointer = Endpointer(make_vad("pocketsphinx"), settings)
        end_frame = None
        for index, chunk in enumerate(chunks):
            endpointer.process(chunk)
            if endpointer.segmenter.finished in (SegmentEvent.SPEECH_ENDED, SegmentEvent.MAX_DURATION):
                end_frame = index
                break
        result.append(Utterance(text, meaning(trained, text), pcm, chunks, [pcm_to_wav(c) for c in chunks], end_frame))
    return result, trained


def meaning(trained: Any, text: str) -> tuple[str, dict[str, Any]] | None:
    results = trained.recognize(text, fuzzy=False)
    return (results[0].intent, results[0].slots) if results else None


def run_floor(profile: Path, utterances: list[Utterance], results: Results, trained: Any) -> None:
    """pocketsphinx alone: the same model, dictionary and grammar, fed the same chunks."""
    from pocketsphinx import Decoder, get_model_path

    data = training_data_from_profile(profile)
    dictionary = asr_work_dir(profile) / "bench-dictionary.txt"
    dictionary.parent.mkdir(parents=True, exist_ok=True)
    dictionary.write_text(data.dictionary.to_text(data.vocabulary))
    grammar = parse_fsg(data.fsg_text)
    decoder = Decoder(hmm=str(Path(get_model_path()) / "en-us" / "en-us"), dict=str(dictionary), lm=None,
                      bestpath=False, loglevel="FATAL")
    arcs = [(s, t, p, w) if w else (s, t, p) for s, t, p, w in grammar.transitions]
    decoder.add_fsg("g", decoder.create_fsg("g", grammar.start, grammar.final, arcs))
    decoder.activate_search("g")
    cpu = time.process_time()
    for u in utterances:
        started = time.perf_counter()
        decoder.start_utt()
        for chunk in u.chunks:
            decoder.process_raw(chunk, False, False)
        decoder.end_utt()
        hyp = decoder.hyp()
        results.floor.append(time.perf_counter() - started)
        results.floor_ok += meaning(trained, hyp.hypstr if hyp else "") == u.meaning
    results.floor_cpu = time.process_time() - cpu


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mesh:
    """Mosquitto plus ``hermesh asr`` as separate processes."""

    def __init__(self, workdir: Path, profile: Path, cprofile: Path | None = None) -> None:
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        hermesh = Path(sys.executable).parent / "hermesh"
        command = [str(hermesh), "asr", "--profile", str(profile), "--mqtt-port", str(self.port), "--log-level", "WARNING"]
        if cprofile:  # where does the service spend its CPU? (python -m pstats FILE)
            command = [sys.executable, "-m", "cProfile", "-o", str(cprofile), *command]
        self.asr = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def stop(self) -> None:
        for process in (self.asr, self.broker):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


async def wait_online(client: aiomqtt.Client, timeout: float = 60.0) -> None:
    await client.subscribe("hermesh/status/asr/#")
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            if b'"online"' in bytes(message.payload):  # type: ignore[arg-type]
                return


class Listener:
    """Timestamps every textCaptured as it arrives."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.arrived: dict[str, tuple[float, AsrTextCaptured]] = {}
        self.event = asyncio.Event()

    async def run(self) -> None:
        async for message in self.client.messages:
            now = time.perf_counter()
            if str(message.topic) == AsrTextCaptured.TOPIC:
                captured = AsrTextCaptured.from_payload(bytes(message.payload))  # type: ignore[arg-type]
                self.arrived[captured.session_id or ""] = (now, captured)
                self.event.set()

    async def wait(self, session: str, timeout: float = 30.0) -> tuple[float, AsrTextCaptured]:
        async with asyncio.timeout(timeout):
            while session not in self.arrived:
                self.event.clear()
                await self.event.wait()
        return self.arrived[session]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_mesh(port: int, pid: int, utterances: list[Utterance], results: Results, speed: float,
                   trained: Any) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="asr-bench") as client:
        await wait_online(client)
        await client.subscribe(AsrTextCaptured.TOPIC)
        listener = Listener(client)
        reader = asyncio.create_task(listener.run())
        try:
            # warm-up (the first decoder of a grammar is built lazily)
            await stream_unpaced(client, listener, utterances[0], "warmup")
            cpu = cpu_seconds(pid)
            for index, u in enumerate(utterances):
                started, stop_sent, (arrived, captured) = await stream_unpaced(client, listener, u, f"whole-{index}")
                results.mesh_processing.append(arrived - started)
                results.mesh_stop_latency.append(arrived - stop_sent)
                results.mesh_decoder.append(captured.seconds)
                results.mesh_ok += meaning(trained, captured.text) == u.meaning
            results.mesh_cpu = cpu_seconds(pid) - cpu
            # the same frames with no session open: MQTT, runtime dispatch and parsing only
            cpu = cpu_seconds(pid)
            for u in utterances:
                for wav in u.wavs:
                    await client.publish(AudioFrame(site_id=SITE, wav_bytes=wav).topic(), wav)
            await stream_unpaced(client, listener, utterances[0], "transport-end")  # all frames were handled
            results.transport_cpu = cpu_seconds(pid) - cpu - results.mesh_cpu / len(utterances)
            cpu = cpu_seconds(pid)
            for index, u in enumerate(utterances):
                session = f"live-{index}"
                await client.publish(AsrStartListening.TOPIC, AsrStartListening(site_id=SITE, session_id=session).payload())
                sent: list[float] = []
                next_at = time.perf_counter()
                for wav in u.wavs:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    await client.publish(AudioFrame(site_id=SITE, wav_bytes=wav).topic(), wav)
                    sent.append(time.perf_counter())
                    next_at += 1024 / 16000 / speed
                    if session in listener.arrived:
                        break
                arrived, captured = await listener.wait(session)
                await client.publish(AsrStopListening.TOPIC, AsrStopListening(site_id=SITE, session_id=session).payload())
                if u.end_frame is not None and u.end_frame < len(sent):
                    results.live_latency.append(arrived - sent[u.end_frame])
                results.live_ok += meaning(trained, captured.text) == u.meaning
            results.live_cpu = cpu_seconds(pid) - cpu
        finally:
            reader.cancel()


async def stream_unpaced(client: aiomqtt.Client, listener: Listener, u: Utterance, session: str
                         ) -> tuple[float, float, tuple[float, AsrTextCaptured]]:
    await client.publish(AsrStartListening.TOPIC,
                         AsrStartListening(site_id=SITE, session_id=session, stop_on_silence=False).payload())
    started = time.perf_counter()
    for wav in u.wavs:
        await client.publish(AudioFrame(site_id=SITE, wav_bytes=wav).topic(), wav)
    stop_sent = time.perf_counter()
    await client.publish(AsrStopListening.TOPIC, AsrStopListening(site_id=SITE, session_id=session).payload())
    return started, stop_sent, await listener.wait(session)


def report(utterances: list[Utterance], results: Results, speed: float) -> dict[str, Any]:
    n, audio = len(utterances), sum(u.seconds for u in utterances)
    floor, mesh = sum(results.floor), sum(results.mesh_processing)

    def ms(values: list[float], q: float) -> float:
        return round(1000 * percentile(values, q), 1)

    data = {
        "utterances": n, "audio_seconds": round(audio, 1),
        "floor": {"rtf_wall": round(floor / audio, 4), "rtf_cpu": round(results.floor_cpu / audio, 4),
                  "decode_ms_p50": ms(results.floor, 0.5), "decode_ms_p95": ms(results.floor, 0.95),
                  "understood": results.floor_ok},
        "mesh_whole": {"rtf_wall": round(mesh / audio, 4), "rtf_cpu": round(results.mesh_cpu / audio, 4),
                       "cpu_overhead_vs_floor_percent": round(100 * (results.mesh_cpu / results.floor_cpu - 1), 1),
                       "wall_overhead_vs_floor_percent": round(100 * (mesh / floor - 1), 1),
                       "transport_only_rtf_cpu": round(results.transport_cpu / audio, 4),
                       "processing_ms_p50": ms(results.mesh_processing, 0.5),
                       "processing_ms_p95": ms(results.mesh_processing, 0.95),
                       "decoder_in_service_ms_p50": ms(results.mesh_decoder, 0.5),
                       "stop_to_text_ms_p50": ms(results.mesh_stop_latency, 0.5),
                       "stop_to_text_ms_p95": ms(results.mesh_stop_latency, 0.95), "understood": results.mesh_ok},
        "mesh_live": {"speed": speed, "rtf_cpu": round(results.live_cpu / audio, 4),
                      "end_of_speech_to_text_ms_p50": ms(results.live_latency, 0.5),
                      "end_of_speech_to_text_ms_p95": ms(results.live_latency, 0.95),
                      "endpointer_silence_window_ms": round(1000 * SegmenterSettings().silence_seconds),
                      "measured": len(results.live_latency), "understood": results.live_ok},
    }
    f, w, live = data["floor"], data["mesh_whole"], data["mesh_live"]
    print(f"\n{n} utterances, {audio:.1f} s of audio (espeak-ng, default profile)\n")
    print("| measure | pocketsphinx alone (floor) | hermesh asr via broker |")
    print("|---|---|---|")
    print(f"| RTF, CPU seconds per audio second | {f['rtf_cpu']} | {w['rtf_cpu']} whole / {live['rtf_cpu']} live "
          f"(+{w['cpu_overhead_vs_floor_percent']} % whole) |")
    print(f"| of which receiving the frames (MQTT + runtime, no session open) | | {w['transport_only_rtf_cpu']} |")
    print(f"| decoder time inside the service p50 (ms per utterance) | {f['decode_ms_p50']} | "
          f"{w['decoder_in_service_ms_p50']} |")
    print(f"| RTF, wall clock (frames sent unpaced) | {f['rtf_wall']} | {w['rtf_wall']} "
          f"(+{w['wall_overhead_vs_floor_percent']} %) |")
    print(f"| per utterance p50 / p95 (ms) | {f['decode_ms_p50']} / {f['decode_ms_p95']} decoding | "
          f"{w['processing_ms_p50']} / {w['processing_ms_p95']} first frame sent -> text |")
    print(f"| stopListening -> textCaptured p50 / p95 (ms, unpaced backlog) | | {w['stop_to_text_ms_p50']} / "
          f"{w['stop_to_text_ms_p95']} |")
    print(f"| end of speech (endpointer decision) -> textCaptured p50 / p95 (ms, {speed:g}x real time) | | "
          f"{live['end_of_speech_to_text_ms_p50']} / {live['end_of_speech_to_text_ms_p95']} "
          f"(after the {live['endpointer_silence_window_ms']} ms silence window) |")
    print(f"| intent + slots right | {results.floor_ok}/{n} | whole {results.mesh_ok}/{n}, live {results.live_ok}/{n} |")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="speak each sentence this many times")
    parser.add_argument("--speed", type=float, default=1.0, help="live mode: frames paced this many times real time")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--cprofile", type=Path, help="run the service under cProfile, write the stats here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="asr-bench-"))
    try:
        profile = workdir / "profile"
        ensure_profile(profile)
        utterances, trained = prepare(profile, args.repeat)
        results = Results()
        run_floor(profile, utterances, results, trained)
        mesh = Mesh(workdir, profile, args.cprofile)
        try:
            asyncio.run(run_mesh(mesh.port, mesh.asr.pid, utterances, results, args.speed, trained))
        finally:
            mesh.stop()
        data = report(utterances, results, args.speed)
        if args.json:
            args.json.write_text(json.dumps(data, indent=1) + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
