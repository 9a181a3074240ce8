"""Throughput of worker pools: requests a second through the bridge with 1, 2 and 4 workers of the ASR, the NLU
and the TTS (issue 20), the CPU count printed beside the figures.

Each row is a fresh ``hermesh up --only <service> --only bridge --replicas <service>=N`` on a trained default
profile (the real supervisor, every worker its own process on one MQTT 5 shared subscription), then
``--clients`` HTTP clients at once, each sending its next request as soon as the last is answered, for
``--seconds``. What each request is:

* asr: ``POST /api/speech-to-text`` of the speech bench's short commands spoken by espeak-ng (16 kHz);
* nlu: ``POST /api/text-to-intent?nohass=true`` of the same commands in turn;
* tts: ``POST /api/text-to-speech?play=false`` of one sentence (espeak-ng).

A pool cannot be faster than the cores it runs on, and the bridge and the broker need CPU too: on a 2-core
machine 2 workers are the most that can help. Threads inside one ASR do not replace workers: pocketsphinx holds
Python's GIL while it decodes, so one process decodes one utterance at a time (services/asr/service.py).

Measured on this 2-core machine (--seconds 10, 8 clients; requests/s, then against 1 worker):

| service | 1 worker | 2 workers | 4 workers |
|---|---|---|---|
| asr (the speech bench's 20 short commands) | 50.5 | 83.6 (1.66x) | 74.6 (1.48x) |
| nlu | 726.8 | 671.0 (0.92x) | 587.2 (0.81x) |
| tts | 98.6 | 142.1 (1.44x) | 152.6 (1.55x) |

The ASR scales to the core count and loses beyond it. The NLU answers in ~1 ms: its requests are bound by the
bridge (one process), so more NLU workers only add broker traffic. No request failed in any row.

Run: .venv/bin/python bench/pool_bench.py [--services asr,nlu,tts] [--workers 1,2,4] [--clients 8] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import speech_data as sd  # noqa: E402
from chaos_mesh import SupervisedMesh  # noqa: E402

COMMANDS = [text for text, _, _ in sd.SHORT_COMMANDS]  # the default profile's commands (the speech bench's)


def spoken(text: str) -> bytes:
    """espeak-ng's WAV of ``text`` at 16 kHz (the rate Home Assistant sends)."""
    from hermes.wav import pcm_to_wav, to_pcm16k_mono

    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout"], input=text.encode(),
                         capture_output=True, check=True).stdout
    return pcm_to_wav(to_pcm16k_mono(wav))


def requests_of(service: str) -> list[tuple[str, bytes, str]]:
    """(path, body, content type) of the requests that load ``service``."""
    if service == "asr":
        return [("/api/speech-to-text", spoken(text), "audio/wav") for text in COMMANDS]
    if service == "nlu":
        return [("/api/text-to-intent?nohass=true", text.encode(), "text/plain") for text in COMMANDS]
    return [("/api/text-to-speech?play=false", b"The kitchen light is on, and the door is locked.", "text/plain")]


def wait_workers(mesh: SupervisedMesh, service: str, workers: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    online = 0
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(mesh.base_url + "/api/status", timeout=5) as reply:  # noqa: S310 - loopback
                status = json.loads(reply.read())
            entry = status.get("services", {}).get(service, {})
            online = sum(1 for i in entry.get("instances", []) if i.get("status") == "online")
            if online >= workers:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{service}: {online} of {workers} workers online after {timeout:g} s")


async def load(base_url: str, requests: list[tuple[str, bytes, str]], clients: int, seconds: float
               ) -> tuple[int, int, list[float]]:
    """(answered 200, failed, latencies) of ``clients`` closed-loop clients for ``seconds``."""
    import aiohttp

    ok = failed = 0
    latencies: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for path, body, kind in requests:  # warm-up: every worker path once
            async with session.post(base_url + path, data=body, headers={"Content-Type": kind}) as reply:
                await reply.read()
        end = time.monotonic() + seconds

        async def client(index: int) -> None:
            nonlocal ok, failed
            n = index
            while time.monotonic() < end:
                path, body, kind = requests[n % len(requests)]
                n += 1
                started = time.perf_counter()
                async with session.post(base_url + path, data=body, headers={"Content-Type": kind}) as reply:
                    await reply.read()
                    if reply.status == 200:
                        ok += 1
                        latencies.append(time.perf_counter() - started)
                    else:
                        failed += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
    return ok, failed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", default="asr,nlu,tts", help="comma list of asr, nlu, tts")
    parser.add_argument("--workers", default="1,2,4", help="comma list of pool sizes")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="load time per row")
    args = parser.parse_args()
    services = [s for s in args.services.split(",") if s]
    for service in services:
        if service not in ("asr", "nlu", "tts"):
            raise SystemExit(f"unknown service {service!r}: choose from asr, nlu, tts")
    sizes = [int(n) for n in args.workers.split(",") if n]
    print(f"CPUs: {os.cpu_count()}; {args.clients} clients, {args.seconds:g} s per row", flush=True)
    rows = []
    for service in services:
        requests = requests_of(service)
        for workers in sizes:
            with tempfile.TemporaryDirectory(prefix="hermesh-pool-bench-") as tmp:
                mesh = SupervisedMesh(Path(tmp), services=(service, "bridge"), replicas={service: workers})
                try:
                    mesh.start()
                    wait_workers(mesh, service, workers)
                    ok, failed, latencies = asyncio.run(load(mesh.base_url, requests, args.clients, args.seconds))
                finally:
                    mesh.stop()
            rate = ok / args.seconds
            p50 = 1000 * statistics.median(latencies) if latencies else float("nan")
            p95 = 1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
            rows.append((service, workers, rate, p50, p95, failed))
            print(f"  {service} x{workers}: {rate:.1f} requests/s, p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
                  f"{failed} failed", flush=True)
    print("\n| service | workers | requests/s | vs 1 worker | latency p50 / p95 ms | failed | CPUs |")
    print("|---|---|---|---|---|---|---|")
    base = {service: rate for service, workers, rate, *_ in rows if workers == sizes[0]}
    for service, workers, rate, p50, p95, failed in rows:
        ratio = rate / base[service] if base.get(service) else float("nan")
        print(f"| {service} | {workers} | {rate:.1f} | {ratio:.2f}× | {p50:.0f} / {p95:.0f} | {failed} | "
              f"{os.cpu_count()} |")


if __name__ == "__main__":
    main()
