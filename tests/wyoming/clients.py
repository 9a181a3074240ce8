"""Wyoming client helpers for the tests: the wyoming library's own AsyncTcpClient, events read with timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

READ_TIMEOUT = 30.0


@asynccontextmanager
async def connect(port: int) -> AsyncIterator[AsyncTcpClient]:
    client = AsyncTcpClient("127.0.0.1", port, connect_timeout=5.0, read_timeout=READ_TIMEOUT)
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


async def read_until(client: AsyncTcpClient, last: Callable[[Event], bool] | str,
                     timeout: float = READ_TIMEOUT) -> list[Event]:
    """Events up to and including the first one for which ``last`` is true (or whose type is ``last``)."""
    stop = (lambda e: e.type == last) if isinstance(last, str) else last
    events: list[Event] = []

    async def run() -> None:
        while True:
            event = await client.read_event()
            if event is None:
                raise AssertionError(f"connection closed after {[e.type for e in events]}")
            events.append(event)
            if stop(event):
                return

    try:
        await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        raise AssertionError(f"no {last} within {timeout} s; got {[e.type for e in events]}") from None
    return events


def audio_events(pcm16k: bytes, rate: int = 16000, width: int = 2, channels: int = 1,
                 chunk_ms: int = 10) -> list[Event]:
    """16 kHz mono PCM as audio-start/chunk*/stop in another format (what a client with another mic sends)."""
    samples = np.frombuffer(pcm16k, dtype="<i2").astype(np.float64)
    if rate != 16000:
        import soxr

        samples = soxr.resample(samples, 16000, rate)
    if width == 4:
        data = (np.clip(samples, -32768, 32767) * 65536).astype("<i4")
    elif width == 1:
        data = (np.clip(samples / 256 + 128, 0, 255)).astype(np.uint8)
    else:
        data = np.clip(samples, -32768, 32767).astype("<i2")
    if channels > 1:
        data = np.repeat(data[:, None], channels, axis=1).reshape(-1)
    raw = data.tobytes()
    step = max(1, rate * chunk_ms // 1000) * width * channels
    events = [AudioStart(rate, width, channels).event()]
    events += [AudioChunk(rate, width, channels, raw[i : i + step]).event() for i in range(0, len(raw), step)]
    events.append(AudioStop().event())
    return events


async def send_all(client: AsyncTcpClient, events: list[Event], realtime: bool = False) -> None:
    """Write events; ``realtime`` paces audio chunks at their own duration (what a live microphone does)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    played = 0.0
    for event in events:
        await client.write_event(event)
        if realtime and AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            played += chunk.seconds
            delay = start + played - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
