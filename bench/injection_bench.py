#!/usr/bin/env python3
"""Snips injection on the large home profile of ../shared/bench: time from hermes/injection/perform to
hermes/injection/complete for 10, 1,000 and 10,000 added light names, beside a plain retraining of the same
profile (the NLU and the ASR trained with the same texts, as POST /api/train does), so the ratio shows what
injection adds to training.

    PYTHONPATH=. .venv/bin/python bench/injection_bench.py [--sizes 10,1000,10000] [--repeats 1]

The broker, the NLU, the ASR and the injection service each run as their own process (bench/procs.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import procs

ROOT = procs.ROOT
SHARED_EXPORT = ROOT.parent / "shared" / "bench" / "nlu_bench.py"


def export_profile(directory: Path) -> None:
    subprocess.run([sys.executable, str(SHARED_EXPORT), "export", str(directory), "-n", "10"], check=True,
                   capture_output=True)
    (directory / "profile.json").write_text('{"language": "en"}\n')


def new_names(count: int, batch: str) -> list[str]:
    """Speakable names, all dictionary words (digits become number words in slot files)."""
    return [f"{batch} lamp {n}" for n in range(1, count + 1)]


async def timed(client, publish, expect_cls, match, timeout: float = 1800.0) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    await publish()
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            parsed = expect_cls.from_mqtt(str(message.topic), bytes(message.payload))
            if match(parsed):
                return time.perf_counter() - began
    raise RuntimeError("the broker connection ended")


async def run(port: int, profile: Path, sizes: list[int], repeats: int) -> list[tuple[str, float]]:
    import aiomqtt

    from hermes.asr import AsrTrain, AsrTrainSuccess
    from hermes.errors import InjectionError
    from hermes.nlu import NluTrain, NluTrainSuccess
    from hermes.snips import (
        InjectionComplete,
        InjectionPerform,
        InjectionResetComplete,
        InjectionResetPerform,
    )
    from hermes.status import ServiceStatus
    from services.profile import Profile

    rows: list[tuple[str, float]] = []
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe(ServiceStatus.subscribe_filter())
        online: set[str] = set()
        async with asyncio.timeout(120):
            async for message in client.messages:
                status = ServiceStatus.from_mqtt(str(message.topic), bytes(message.payload))
                if status.status == "online":
                    online.add(status.service)
                if {"nlu", "asr", "injection"} <= online:
                    break
        await client.unsubscribe(ServiceStatus.subscribe_filter())
        for cls in (InjectionComplete, InjectionResetComplete, InjectionError, NluTrainSuccess, AsrTrainSuccess):
            await client.subscribe(cls.subscribe_filter())

        async def train_plainly() -> float:
            reader = Profile(profile)
            sentences, slots = dict(reader.sentence_texts(relative_names=True)), reader.slot_texts(strict=True)
            began = time.perf_counter()
            train_id = uuid.uuid4().hex
            for message in (NluTrain(id=train_id, sentences=sentences, slots=slots),
                            AsrTrain(id=train_id, sentences=sentences, slots=slots)):
                await client.publish(message.topic(), message.payload())
            answered: set[str] = set()
            async with asyncio.timeout(1800):
                async for message in client.messages:
                    topic = str(message.topic)
                    if topic.endswith("trainSuccess") and train_id in bytes(message.payload).decode():
                        answered.add(topic.split("/")[1])
                        if answered == {"nlu", "asr"}:
                            return time.perf_counter() - began
            raise RuntimeError("no trainSuccess")

        await train_plainly()  # both services trained once, as after `hermesh train`
        for size in sizes:
            for repeat in range(repeats):
                names = new_names(size, f"batch{repeat}")
                request = f"bench-{size}-{repeat}"
                perform = InjectionPerform(id=request, operations=[["add", {"light": names}]])

                def matches(message, request=request):  # type: ignore[no-untyped-def]
                    if isinstance(message, InjectionError) and message.context == request:
                        raise RuntimeError(message.error)
                    return isinstance(message, InjectionComplete) and message.request_id == request

                seconds = await timed(client, lambda p=perform: client.publish(p.topic(), p.payload()),
                                      _Either(InjectionComplete, InjectionError), matches)
                rows.append((f"inject {size:,} names", seconds))
                rows.append((f"  plain retraining of the same profile ({size:,} more names)", await train_plainly()))
                reset = InjectionResetPerform(request_id=f"reset-{request}")
                await timed(client, lambda r=reset: client.publish(r.topic(), r.payload()),
                            _Either(InjectionResetComplete, InjectionError),
                            lambda m, r=reset: isinstance(m, InjectionResetComplete) and m.request_id == r.request_id)
    return rows


class _Either:
    """Parse a message as whichever of two classes its topic is (None for other topics)."""

    def __init__(self, *classes) -> None:  # type: ignore[no-untyped-def]
        self.classes = classes

    def from_mqtt(self, topic: str, payload: bytes):  # type: ignore[no-untyped-def]
        for cls in self.classes:
            if cls.parse_topic(topic) is not None:
                return cls.from_mqtt(topic, payload)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="numbers of names added per injection")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="injection-bench-") as tmp:
        profile = Path(tmp) / "profile"
        export_profile(profile)
        logs = Path(tmp) / "logs"
        logs.mkdir()
        processes = procs.Processes(logs)
        try:
            port = processes.start_broker()
            for name in ("nlu", "asr", "injection"):
                processes.start_service(name, profile)
            rows = asyncio.run(run(port, profile, sizes, args.repeats))
        finally:
            processes.stop()
    light_names = 1000
    print(f"\nInjection on the large home profile ({light_names:,} light names, 200 rooms), {os.cpu_count()} CPUs\n")
    print("| what | seconds | injection / plain training |")
    print("|---|---|---|")
    for n in range(0, len(rows), 2):
        (label, seconds), (plain_label, plain) = rows[n], rows[n + 1]
        print(f"| {label} | {seconds:.2f} | {seconds / plain:.2f} |")
        print(f"| {plain_label} | {plain:.2f} | |")


if __name__ == "__main__":
    main()
