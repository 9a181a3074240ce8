"""Memory soak: many Wyoming ``detect`` and ``transcribe`` connections and MQTT sessions, each on a fresh site id.

Every Wyoming connection the bridge accepts mints a site id of its own, and an MQTT client may name any site it
likes, so the number of site ids a long-running mesh sees has no limit. What a service keeps per site or per
session must therefore be freed when the site goes away (issue 19, section 3). This bench runs the real mesh
(Mosquitto, wake, asr, nlu, dialogue, tts, intent-handler and the bridge with its Wyoming server, each its own
process) and records each service's resident set size (VmRSS) after every round of the workload.

One round = detect/rounds Wyoming detect connections (1 s of quiet noise each), transcribe/rounds Wyoming
transcribe connections (0.5 s of noise each) and sessions/rounds MQTT dialogue sessions (startSession on a
new site, a few audio frames, endSession). The reference is the RSS after the first round (the first 100
connections with the defaults): what grows after it is what the workload leaks.

Run: .venv/bin/python bench/memory_soak.py [--detect 1000] [--transcribe 1000] [--sessions 10000] [--rounds 10]
tests/runtime/test_bounded_memory.py runs the same workload with smaller counts.

Measured on this 2-core machine (RSS MiB, after the first round -> at the end):

- before (main at c3baba6; --detect 100 --transcribe 500 --sessions 1000 --rounds 5; the full size would have
  taken the wake service past 7 GB): wake 463 -> 1967 (+1504: a 7.4 MB detector per site for ever), asr
  277 -> 529 (+252), bridge 91 -> 102 (+11), dialogue 57 -> 65 (+8); nlu, tts, intent-handler flat.
- after, the same counts: wake 88 -> 90, asr 178 -> 181, bridge 83 -> 85, dialogue 53 -> 53 (all within 2.2).
- after, the full size (1000 detect, 1000 transcribe, 10000 sessions; 1014 s): wake 104.0 -> 105.8, asr
  201.2 -> 203.0, bridge 118.6 -> 122.3, dialogue 53.5 -> 53.5, nlu, tts and intent-handler within 0.1.
- MQTT sessions alone (--detect 0 --transcribe 0 --sessions 8000 --rounds 8), at ~60 sessions a second: the ASR
  grew 197 -> 301 and on, because it decoded in full every session that heard no speech only to discard the
  text, fell behind and let its backlog of messages grow; with those sessions dropped undecoded, 141.1 -> 141.7.
- the full size again after that fix, twice (230 s and 217 s, against 513 s before it): wake +10.2 / +2.1, asr
  +5.6 / +5.1, bridge +17.1 / +4.5 (it had been +26.6: its Wyoming transcribes waited on an ASR that fell
  behind), nlu, dialogue, tts and intent-handler within 0.1. Each curve rises in the first two or three rounds
  and is flat after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import procs  # noqa: E402
from wyoming.asr import Transcribe  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.wake import Detect  # noqa: E402

from hermes.audioserver import AudioFrame  # noqa: E402
from hermes.dialogue import (  # noqa: E402
    DialogueAction,
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
    DialogueStartSession,
)
from hermes.status import ServiceStatus  # noqa: E402
from hermes.wav import pcm_to_wav  # noqa: E402

SERVICES = ("wake", "asr", "nlu", "dialogue", "tts", "intent-handler", "bridge")
RATE = 16000
CHUNK_SAMPLES = 1024
REPLY_TIMEOUT = 30.0


def quiet_noise(seconds: float, seed: int) -> bytes:
    """Low-level noise: the wake and ASR engines do their full work on it and hear nothing."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 60, int(RATE * seconds))).astype("<i2").tobytes()


DETECT_AUDIO = quiet_noise(1.0, 1)
TRANSCRIBE_AUDIO = quiet_noise(0.5, 2)
SESSION_FRAME = pcm_to_wav(quiet_noise(CHUNK_SAMPLES / RATE, 3))


# ---- the mesh ---------------------------------------------------------------------------------------------------
class SoakMesh:
    """Mosquitto and every base service as its own process, on a fresh default profile."""

    def __init__(self, work_dir: Path, wake_idle_seconds: float | None = None, asr_idle_decoders: int | None = None
                 ) -> None:
        self.work_dir = work_dir
        self.wake_idle_seconds = wake_idle_seconds
        self.asr_idle_decoders = asr_idle_decoders
        self.profile = work_dir / "profile"
        self.procs = procs.Processes(work_dir)
        self.wyoming_port = 0

    def start(self) -> None:
        from services.nlu.training import train_profile
        from services.profile import ensure_profile

        ensure_profile(self.profile)
        settings = json.loads((self.profile / "profile.json").read_text())
        # No grace after audio-stop: quiet noise never holds a late detection, and it keeps the run short.
        settings["wyoming"] = {"detect_grace": 0.0}
        if self.wake_idle_seconds is not None:
            settings["wake"] = {"site_idle_seconds": self.wake_idle_seconds}
        if self.asr_idle_decoders is not None:
            settings.setdefault("asr", {})["max_idle_decoders"] = self.asr_idle_decoders
        (self.profile / "profile.json").write_text(json.dumps(settings))
        train_profile(self.profile)
        self.procs.start_broker()
        self.wyoming_port = procs.free_port()
        for name in SERVICES:
            extra = ("--http-port", str(procs.free_port()), "--wyoming-port", str(self.wyoming_port)) \
                if name == "bridge" else ()
            self.procs.start_service(name, self.profile, *extra)
        asyncio.run(self._wait_online(set(SERVICES)))
        procs.wait_port(self.wyoming_port, 30)

    @property
    def settle_seconds(self) -> float:
        """How long after a round its state is surely freed: the wake's idle limit (5 s by default) and a sweep
        (every half of it) for the detectors of the MQTT sessions' sites, which nobody releases, and a margin."""
        idle = self.wake_idle_seconds or 5.0
        return idle * 1.5 + 1.0

    @property
    def broker_port(self) -> int:
        return self.procs.broker_port

    async def _wait_online(self, names: set[str], timeout: float = 120.0) -> None:
        online: set[str] = set()
        async with asyncio.timeout(timeout), aiomqtt.Client("127.0.0.1", self.broker_port) as client:
            await client.subscribe(ServiceStatus.subscribe_filter())
            async for message in client.messages:
                self.procs.check_alive()
                status = ServiceStatus.from_mqtt(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
                if status.status == "online":
                    online.add(status.service)
                if names <= online:
                    return

    def rss_mib(self) -> dict[str, float]:
        self.procs.check_alive()
        return {name: procs.rss_mib(self.procs.pid(name)) for name in SERVICES}

    def stop(self) -> None:
        self.procs.stop()


# ---- one request of each kind -----------------------------------------------------------------------------------
async def _wyoming_request(port: int, request: object, audio: bytes, done: set[str]) -> str:
    client = AsyncTcpClient("127.0.0.1", port, connect_timeout=5.0, read_timeout=REPLY_TIMEOUT)
    await client.connect()
    try:
        await client.write_event(request.event())  # type: ignore[attr-defined]
        await client.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        step = CHUNK_SAMPLES * 2
        for start in range(0, len(audio), step):
            await client.write_event(AudioChunk(rate=RATE, width=2, channels=1, audio=audio[start:start + step]).event())
        await client.write_event(AudioStop().event())
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                event = await client.read_event()
                if event is None:
                    raise RuntimeError("the Wyoming server closed the connection without an answer")
                if event.type in done:
                    return event.type
    finally:
        await client.disconnect()


async def wyoming_detect(port: int) -> str:
    return await _wyoming_request(port, Detect(), DETECT_AUDIO, {"not-detected", "detection", "error"})


async def wyoming_transcribe(port: int) -> str:
    return await _wyoming_request(port, Transcribe(language="en"), TRANSCRIBE_AUDIO, {"transcript", "error"})


class SessionClient:
    """One MQTT client running dialogue sessions on fresh site ids: start, a few audio frames, end."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._started: dict[str, asyncio.Future[str]] = {}  # custom data -> session id
        self._ended: dict[str, asyncio.Future[None]] = {}  # session id

    async def __aenter__(self) -> SessionClient:
        self._client = aiomqtt.Client("127.0.0.1", self.port, identifier=f"soak-{uuid.uuid4().hex[:8]}")
        await self._client.__aenter__()
        await self._client.subscribe(DialogueSessionStarted.subscribe_filter())
        await self._client.subscribe(DialogueSessionEnded.subscribe_filter())
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._reader
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            topic, payload = str(message.topic), bytes(message.payload)  # type: ignore[arg-type]
            if DialogueSessionStarted.is_topic(topic):
                started = DialogueSessionStarted.from_mqtt(topic, payload)
                future = self._started.pop(started.custom_data or "", None)
                if future is not None and not future.done():
                    future.set_result(started.session_id)
            elif DialogueSessionEnded.is_topic(topic):
                ended = DialogueSessionEnded.from_mqtt(topic, payload)
                done = self._ended.pop(ended.session_id, None)
                if done is not None and not done.done():
                    done.set_result(None)

    async def session(self) -> None:
        assert self._client is not None
        loop = asyncio.get_running_loop()
        tag = uuid.uuid4().hex
        site = f"soak-{tag[:12]}"
        started = self._started[tag] = loop.create_future()
        await self._client.publish(*_wire(DialogueStartSession(
            site_id=site, custom_data=tag, init=DialogueAction(can_be_enqueued=True))))
        session_id = await asyncio.wait_for(started, REPLY_TIMEOUT)
        for _ in range(3):
            await self._client.publish(*_wire(AudioFrame(site_id=site, wav_bytes=SESSION_FRAME)))
        ended = self._ended[session_id] = loop.create_future()
        await self._client.publish(*_wire(DialogueEndSession(session_id=session_id)))
        await asyncio.wait_for(ended, REPLY_TIMEOUT)


def _wire(message: object) -> tuple[str, bytes]:
    return message.topic(), message.payload()  # type: ignore[attr-defined]


# ---- the workload -----------------------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    detect: int
    transcribe: int
    sessions: int
    seconds: float
    rss: dict[str, float] = field(default_factory=dict)


async def _many(count: int, concurrency: int, job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` ``count`` times, at most ``concurrency`` at once; the first failure stops the run."""
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await job()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))


def _split(total: int, rounds: int, index: int) -> int:
    return total * (index + 1) // rounds - total * index // rounds


async def soak(mesh: SoakMesh, detect: int, transcribe: int, sessions: int, rounds: int, concurrency: int,
               on_checkpoint: Callable[[Checkpoint], None] | None = None) -> list[Checkpoint]:
    """Run the workload in ``rounds`` rounds; a checkpoint (with every service's RSS) after each round."""
    checkpoints = []
    done = Checkpoint(0, 0, 0, 0.0)
    begin = time.monotonic()
    async with SessionClient(mesh.broker_port) as sessions_client:
        for index in range(rounds):
            n_detect, n_transcribe, n_sessions = (_split(t, rounds, index) for t in (detect, transcribe, sessions))
            await asyncio.gather(
                _many(n_detect, concurrency, lambda: wyoming_detect(mesh.wyoming_port)),
                _many(n_transcribe, concurrency, lambda: wyoming_transcribe(mesh.wyoming_port)),
                _many(n_sessions, concurrency, sessions_client.session),
            )
            # Let the last messages of the round be handled and idle state be freed before measuring.
            await asyncio.sleep(mesh.settle_seconds)
            done = Checkpoint(done.detect + n_detect, done.transcribe + n_transcribe, done.sessions + n_sessions,
                              time.monotonic() - begin, mesh.rss_mib())
            checkpoints.append(done)
            if on_checkpoint is not None:
                on_checkpoint(done)
    return checkpoints


# ---- report -----------------------------------------------------------------------------------------------------
def print_curve_line(point: Checkpoint) -> None:
    figures = "  ".join(f"{name} {point.rss[name]:7.1f}" for name in SERVICES)
    print(f"{point.detect:6d} {point.transcribe:6d} {point.sessions:7d} {point.seconds:7.1f}s  {figures}", flush=True)


def print_table(checkpoints: list[Checkpoint]) -> None:
    first, last = checkpoints[0], checkpoints[-1]
    print(f"\nRSS (MiB) after the first round ({first.detect} detect, {first.transcribe} transcribe, "
          f"{first.sessions} sessions) and at the end ({last.detect}, {last.transcribe}, {last.sessions}):")
    print(f"{'service':16s} {'first round':>12s} {'end':>10s} {'delta':>10s}")
    for name in SERVICES:
        print(f"{name:16s} {first.rss[name]:12.1f} {last.rss[name]:10.1f} {last.rss[name] - first.rss[name]:+10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detect", type=int, default=1000, help="Wyoming detect connections (default 1000)")
    parser.add_argument("--transcribe", type=int, default=1000, help="Wyoming transcribe connections (default 1000)")
    parser.add_argument("--sessions", type=int, default=10000, help="MQTT dialogue sessions (default 10000)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds, each followed by a checkpoint (default 10)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests of each kind at once (default 4)")
    parser.add_argument("--json", type=Path, help="also write the checkpoints to this file")
    parser.add_argument("--wake-idle", type=float, help="wake.site_idle_seconds (default: the service's, 5 s)")
    parser.add_argument("--asr-idle-decoders", type=int,
                        help="asr.max_idle_decoders (default: the service's, 4; each is ~20 MB kept after a peak)")
    parser.add_argument("--keep-logs", type=Path, help="write the services' logs here instead of a temporary dir")
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the first round is the reference)")

    with tempfile.TemporaryDirectory(prefix="hermesh-soak-") as tmp:
        work = args.keep_logs or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        mesh = SoakMesh(work, args.wake_idle, args.asr_idle_decoders)
        try:
            mesh.start()
            print(f"{'detect':>6s} {'transc':>6s} {'session':>7s} {'time':>8s}  RSS MiB per service", flush=True)
            print_curve_line(Checkpoint(0, 0, 0, 0.0, mesh.rss_mib()))
            checkpoints = asyncio.run(soak(mesh, args.detect, args.transcribe, args.sessions, args.rounds,
                                           args.concurrency, on_checkpoint=print_curve_line))
        finally:
            mesh.stop()
    print_table(checkpoints)
    if args.json:
        args.json.write_text(json.dumps([c.__dict__ for c in checkpoints], indent=1))


if __name__ == "__main__":
    main()
