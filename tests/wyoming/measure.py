"""Latency of the Wyoming server on this machine (not a test): ``.venv/bin/python -m tests.wyoming.measure``.

Starts a broker and the test mesh, then measures with the wyoming library's client, each on a new connection
as Home Assistant does: describe -> info, audio-stop -> transcript, synthesize -> first audio-chunk,
recognize -> intent. Prints median and maximum in milliseconds.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from wyoming.asr import Transcribe
from wyoming.info import Describe
from wyoming.intent import Recognize
from wyoming.tts import Synthesize

from services.profile import ensure_profile
from tests.asr.speech import utterance
from tests.conftest import MosquittoBroker

from .clients import audio_events, connect, read_until, send_all
from .mesh import common_for, wyoming_mesh


async def main(rounds: int = 20) -> None:
    directory = Path(tempfile.mkdtemp(prefix="wyoming-measure-"))
    (directory / "broker").mkdir()
    broker = MosquittoBroker(directory / "broker")
    broker.start()
    ensure_profile(directory / "profile")
    results: dict[str, list[float]] = {"describe": [], "transcript": [], "tts first chunk": [], "intent": []}
    audio = audio_events(utterance("turn on the kitchen light"))
    try:
        async with wyoming_mesh(common_for(broker, directory / "profile")) as (server, _):
            for _ in range(rounds):
                async with connect(server.port) as client:
                    began = time.perf_counter()
                    await client.write_event(Describe().event())
                    await read_until(client, "info")
                    results["describe"].append(time.perf_counter() - began)
                async with connect(server.port) as client:
                    await client.write_event(Transcribe().event())
                    await send_all(client, audio)
                    began = time.perf_counter()
                    await read_until(client, "transcript")
                    results["transcript"].append(time.perf_counter() - began)
                async with connect(server.port) as client:
                    began = time.perf_counter()
                    await client.write_event(Synthesize(text="The kitchen light is on").event())
                    await read_until(client, "audio-chunk")
                    results["tts first chunk"].append(time.perf_counter() - began)
                    await read_until(client, "audio-stop")
                async with connect(server.port) as client:
                    began = time.perf_counter()
                    await client.write_event(Recognize(text="turn on the kitchen light").event())
                    await read_until(client, "intent")
                    results["intent"].append(time.perf_counter() - began)
    finally:
        broker.stop()
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        print(f"{name:16s} median {statistics.median(ms):7.1f} ms   max {max(ms):7.1f} ms   (n={len(ms)})")


if __name__ == "__main__":
    asyncio.run(main())
