#!/usr/bin/env python3
"""POST /api/train on the default profile, with the broker, the NLU, the ASR (pocketsphinx) and the bridge each
their own process (bench/procs.py), as `hermesh up` runs them: the time one training takes end to end.

The bridge trains the ASR and then the NLU (a failed training must reach neither model it did not pass); the
parallel order it replaced cost the longer of the two trainings, this one their sum. The bench measures it.

    .venv/bin/python bench/train_bench.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import procs

from services.profile import ensure_profile


def wait_for_mesh(client: httpx.Client, timeout: float = 60.0) -> None:
    """Until the bridge is on the broker and has seen both services: it serves HTTP before that, and a training
    sent before its connection is up gets no reply."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = client.get("/api/status").json()
        except httpx.HTTPError:
            status = {}
        services = str(status.get("services", ""))
        if status.get("broker", {}).get("connected") and "nlu" in services and "asr" in services:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the bridge did not see the nlu and the asr within {timeout:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        profile = root / "profile"
        ensure_profile(profile)
        processes = procs.Processes(root)
        try:
            processes.start_broker()
            processes.start_service("nlu", profile)
            processes.start_service("asr", profile)
            http_port = procs.free_port()
            processes.start_service("bridge", profile, "--http-port", str(http_port),
                                    "--wyoming-port", str(procs.free_port()))
            with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=120) as client:
                procs.wait_port(http_port, timeout=60)
                wait_for_mesh(client)
                times = []
                for round_ in range(3 + args.rounds):  # three to warm up
                    started = time.perf_counter()
                    reply = client.post("/api/train")
                    elapsed = time.perf_counter() - started
                    if reply.status_code != 200:
                        raise RuntimeError(f"POST /api/train answered {reply.status_code}: {reply.text}")
                    if round_ >= 3:
                        times.append(elapsed * 1000)
            processes.check_alive()
        finally:
            processes.stop()
    quartiles = statistics.quantiles(times, n=4)
    print(f"POST /api/train, default profile, {args.rounds} rounds: median {quartiles[1]:.0f} ms (quartiles "
          f"{quartiles[0]:.0f}-{quartiles[2]:.0f}), min {min(times):.0f} ms, max {max(times):.0f} ms")


if __name__ == "__main__":
    main()
