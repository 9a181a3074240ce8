"""Mesh benchmark: N rooms streaming real-time audio through one broker to wake, dialogue, ASR and NLU.

Each room is a simulated microphone publishing 64 ms audioFrames in real time: noise, the wake word
("bumblebee"), a pause, a command of the default profile, a tail of noise; three commands per room, the rooms
starting at staggered moments. The services run as their own processes exactly as `hermesh up` starts them
(wake, dialogue, nlu, and one or two `hermesh asr --pool asr` workers), on this machine's 2 cores.

Latency = the frame at which the ASR's endpointer can decide that the command ended (found by running the same
endpointer offline over the same audio) published -> hermes/intent/<name> received. The endpointer's silence
window (segmenter.silence_seconds, 0.6 s) comes before that moment and is not part of the latency, so the
figure is what the mesh adds: transport, decoding, NLU and dialogue hops.

Run: .venv/bin/python bench/mesh_bench.py [--rooms 1,2,4,8,12,16] [--workers 1,2] [--commands 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hermes.audioserver import AudioFrame  # noqa: E402
from hermes.dialogue import DialogueEndSession, DialogueSessionEnded  # noqa: E402
from hermes.nlu import NluIntent  # noqa: E402
from hermes.status import ServiceStatus  # noqa: E402
from hermes.wav import pcm_to_wav  # noqa: E402
from services.asr.endpointer import Endpointer, SegmenterSettings, SegmentEvent, make_vad  # noqa: E402
from services.nlu.training import train_profile  # noqa: E402
from services.profile import ensure_profile  # noqa: E402

RATE = 16000
FRAME = 1024  # samples per audioFrame (64 ms)
COMMANDS = [("what time is it", "GetTime"), ("turn on the living room lamp", "ChangeLightState"),
            ("set the bedroom light to blue", "ChangeLightColor"), ("is the garage door open", "GetGarageState")]
P95_TARGET = 0.300


def espeak(text: str, voice: str = "en-us+m6") -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "--stdout", text], capture_output=True, check=True).stdout
    raw = subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", "-"],
                         input=wav, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<i2").copy()


def noise(seconds: float, rng: np.random.Generator, rms: float = 60.0) -> np.ndarray:
    return np.clip(rng.normal(0, rms, int(seconds * RATE)), -32768, 32767).astype(np.int16)


def with_noise(samples: np.ndarray, rng: np.random.Generator, rms: float = 60.0) -> np.ndarray:
    return np.clip(samples.astype(np.float64) + rng.normal(0, rms, len(samples)), -32768, 32767).astype(np.int16)


@dataclass
class Command:
    text: str
    intent: str
    start_frame: int  # first frame of the command's audio
    decide_frame: int  # frame at which the endpointer decides the command ended


@dataclass
class RoomScript:
    frames: list[bytes]
    commands: list[Command]


def endpointer_decision(pcm: np.ndarray) -> int:
    """Frame index (in ``pcm``) at which the ASR's default endpointer reports the end of the command."""
    endpointer = Endpointer(make_vad("pocketsphinx", mode=3, threshold=0.5), SegmenterSettings())
    data = pcm.tobytes()
    for index in range(0, len(data) // (FRAME * 2)):
        events = endpointer.process(data[index * FRAME * 2:(index + 1) * FRAME * 2])
        if any(e in (SegmentEvent.SPEECH_ENDED, SegmentEvent.MAX_DURATION) for e in events):
            return index
    raise RuntimeError("the endpointer never decided; the bench audio is broken")


def room_script(room: int, commands: int, speech: dict[str, np.ndarray]) -> RoomScript:
    rng = np.random.default_rng(room)
    parts: list[np.ndarray] = [noise(0.3 + 0.37 * room % 2.0, rng)]
    planned: list[Command] = []
    for turn in range(commands):
        text, intent = COMMANDS[(room + turn) % len(COMMANDS)]
        parts += [with_noise(speech["bumblebee"], rng), noise(1.6, rng)]
        command_pcm = np.concatenate([noise(0.5, rng), with_noise(speech[text], rng), noise(1.2, rng)])
        start = sum(len(p) for p in parts) // FRAME
        # align the command to a frame boundary so offline and live endpointers see the same frames
        pad = (-sum(len(p) for p in parts)) % FRAME
        parts.append(noise(pad / RATE, rng))
        start = sum(len(p) for p in parts) // FRAME
        planned.append(Command(text, intent, start, start + endpointer_decision(command_pcm)))
        parts += [command_pcm, noise(2.0, rng)]
    pcm = np.concatenate(parts).tobytes()
    frames = [pcm_to_wav(pcm[i:i + FRAME * 2]) for i in range(0, len(pcm) - FRAME * 2 + 1, FRAME * 2)]
    return RoomScript(frames, planned)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mesh:
    port: int
    profile: Path
    workers: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, log_dir: Path) -> None:
        conf = log_dir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        mosquitto = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else "mosquitto"
        self.processes.append(subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL))
        base = [sys.executable, "-m", "services.cli"]
        common = ["--profile", str(self.profile), "--mqtt-port", str(self.port), "--log-level", "WARNING"]
        services = [["wake"], ["dialogue"], ["nlu"]] + [["asr", "--pool", "asr", "--instance", f"asr-{i}"]
                                                           for i in range(self.workers)]
        for argv in services:
            log = (log_dir / f"{argv[0]}-{len(self.processes)}.log").open("wb")
            self.processes.append(subprocess.Popen([*base, argv[0], *common, *argv[1:]], stdout=log, stderr=log))

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes[1:]:
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return total

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


async def wait_online(port: int, expected: dict[str, int], timeout: float = 90.0) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe(ServiceStatus.subscribe_filter())
        seen: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + timeout
        async for message in client.messages:
            status = ServiceStatus.from_mqtt(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
            seen[(status.service, status.instance)] = status.status
            counts = {name: sum(1 for (s, _), st in seen.items() if s == name and st == "online") for name in expected}
            if all(counts[name] >= n for name, n in expected.items()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"services not online: {counts}")


async def run_rooms(port: int, scripts: dict[str, RoomScript]) -> dict[str, object]:
    latencies: list[float] = []
    wrong: list[str] = []
    missed = 0
    sent_at: dict[tuple[str, int], float] = {}
    intents: dict[str, list[tuple[float, NluIntent]]] = {site: [] for site in scripts}
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-observer") as observer, \
            aiomqtt.Client("127.0.0.1", port, identifier="bench-rooms") as rooms:
        await observer.subscribe(NluIntent.subscribe_filter())
        await observer.subscribe(DialogueSessionEnded.subscribe_filter())

        async def observe() -> None:
            async for message in observer.messages:
                if NluIntent.is_topic(str(message.topic)):
                    intent = NluIntent.from_mqtt(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
                    intents.setdefault(intent.site_id, []).append((time.monotonic(), intent))
                    if intent.session_id:  # the app ends the session at once
                        await observer.publish(DialogueEndSession.format_topic(),
                                               DialogueEndSession(session_id=intent.session_id).payload())

        async def stream(site: str, script: RoomScript) -> None:
            start = time.monotonic()
            for index, frame in enumerate(script.frames):
                delay = start + index * FRAME / RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await rooms.publish(AudioFrame.format_topic(site_id=site), frame)
                sent_at[(site, index)] = time.monotonic()

        watcher = asyncio.create_task(observe())
        await asyncio.gather(*(stream(site, script) for site, script in scripts.items()))
        await asyncio.sleep(3.0)
        watcher.cancel()
    for site, script in scripts.items():
        received = sorted(intents.get(site, []), key=lambda item: item[0])
        for command in script.commands:
            decided = sent_at[(site, command.decide_frame)]
            # the first intent of this site that arrived after the command began
            began = sent_at[(site, command.start_frame)]
            match = next(((t, i) for t, i in received if t > began), None)
            if match is None:
                missed += 1
                continue
            received.remove(match)
            arrived, intent = match
            if intent.intent_name != command.intent:
                wrong.append(f"{site}: {command.text!r} -> {intent.intent_name}")
            latencies.append(arrived - decided)
    return {"latencies": latencies, "missed": missed, "wrong": wrong}


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan")}
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "max_ms": ordered[-1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", default="1,2,4,8,12,16", help="room counts to try (comma separated)")
    parser.add_argument("--workers", default="1,2", help="ASR worker counts to try")
    parser.add_argument("--commands", type=int, default=3, help="commands per room")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hermesh-mesh-bench-"))
    profile = work / "profile"
    ensure_profile(profile)
    settings = json.loads((profile / "profile.json").read_text())
    settings["dialogue"] = {"sounds_enabled": False, "session_timeout": 20}  # no speaker in the simulated rooms
    (profile / "profile.json").write_text(json.dumps(settings))
    train_profile(profile)
    print("rendering speech…", file=sys.stderr)
    speech = {text: espeak(text) for text in ["bumblebee", *(c for c, _ in COMMANDS)]}
    results = []
    for workers in [int(w) for w in args.workers.split(",")]:
        for count in [int(r) for r in args.rooms.split(",")]:
            scripts = {f"room{r}": room_script(r, args.commands, speech) for r in range(count)}
            mesh = Mesh(free_port(), profile, workers)
            log_dir = work / f"w{workers}-r{count}"
            log_dir.mkdir()
            mesh.start(log_dir)
            try:
                time.sleep(0.5)
                asyncio.run(wait_online(mesh.port, {"wake": 1, "dialogue": 1, "nlu": 1, "asr": workers}))
                cpu_before, wall_before = mesh.cpu_seconds(), time.monotonic()
                outcome = asyncio.run(run_rooms(mesh.port, scripts))
                cpu = mesh.cpu_seconds() - cpu_before
                wall = time.monotonic() - wall_before
            finally:
                mesh.stop()
            stats = summary(outcome["latencies"])  # type: ignore[arg-type]
            row = {"asr_workers": workers, "rooms": count, **stats, "commands": count * args.commands,
                   "missed": outcome["missed"], "wrong": len(outcome["wrong"]),  # type: ignore[arg-type]
                   "cpu_cores_used": round(cpu / wall, 2),
                   "ok": stats["p95_ms"] < P95_TARGET * 1000 and not outcome["missed"] and not outcome["wrong"]}
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
            for line in outcome["wrong"][:5]:  # type: ignore[index]
                print("   wrong:", line, file=sys.stderr)
    print(f"\n| ASR workers | rooms | end-of-speech→intent p50 | p95 | max | missed | wrong | CPU cores | p95 < "
          f"{P95_TARGET * 1000:.0f} ms, all answered right |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['asr_workers']} | {r['rooms']} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['max_ms']:.0f} ms "
              f"| {r['missed']}/{r['commands']} | {r['wrong']} | {r['cpu_cores_used']} | {'yes' if r['ok'] else 'no'} |")
    for workers in sorted({r["asr_workers"] for r in results}):
        good = [r["rooms"] for r in results if r["asr_workers"] == workers and r["ok"]]
        print(f"{workers} ASR worker(s): up to {max(good) if good else 0} rooms keep p95 under "
              f"{P95_TARGET * 1000:.0f} ms with every command answered")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
