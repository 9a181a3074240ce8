"""A scripted Wyoming satellite: a real server built with the wyoming library that streams espeak-ng audio.

It behaves like wyoming-satellite in always-streaming mode: on run-satellite it sends run-pipeline (wake ->
tts) and streams its microphone (here a prepared PCM script, then a noise bed) in real time without
audio-start; it answers ping with pong, plays what it receives and sends ``played`` after audio-stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from wyoming.audio import AudioChunk, AudioStop
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.snd import Played

CHUNK_SAMPLES = 1024


class FakeSatellite:
    def __init__(self, script_pcm: bytes, name: str = "kitchen-sat", start_stage: str = "wake",
                 wake_word: str | None = None, restart_on_end: bool = False) -> None:
        self.script = script_pcm
        self.name = name
        self.start_stage = start_stage
        self.wake_word = wake_word
        self.restart_on_end = restart_on_end
        self.events: list[Event] = []  # everything the mesh sent
        self.changed = asyncio.Event()
        self.received_audio = bytearray()
        self.sounds: list[bytes] = []  # one entry per audio-start .. audio-stop received
        self.server: AsyncTcpServer | None = None
        self.port = 0
        self.handlers: list[_Handler] = []

    async def start(self, port: int = 0) -> None:
        self.server = AsyncTcpServer("127.0.0.1", port)
        await self.server.start(partial(_Handler, self))
        listener: Any = self.server._server  # noqa: SLF001
        self.port = listener.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            listener: Any = self.server._server  # noqa: SLF001
            await listener.wait_closed()
            self.server = None

    def record(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    async def wait_for(self, accept: Callable[[FakeSatellite], bool], timeout: float = 45.0) -> None:
        async def run() -> None:
            while not accept(self):
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(run(), timeout)
        except TimeoutError:
            raise AssertionError(f"satellite: condition not met within {timeout} s; got {self.types()}") from None


class _Handler(AsyncEventHandler):
    def __init__(self, sat: FakeSatellite, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.sat = sat
        self.streamer: asyncio.Task[None] | None = None
        sat.handlers.append(self)

    async def handle_event(self, event: Event) -> bool:
        self.sat.record(event)
        if Describe.is_type(event.type):
            attribution = Attribution(name="test", url="https://example.invalid")
            await self.write_event(Info(satellite=Satellite(name=self.sat.name, attribution=attribution,
                                                            installed=True, description="fake", version="1")).event())
        elif RunSatellite.is_type(event.type):
            if self.streamer is None:
                self.streamer = asyncio.create_task(self._stream())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=event.data.get("text")).event())
        elif AudioChunk.is_type(event.type):
            self.sat.received_audio.extend(AudioChunk.from_event(event).audio)
        elif AudioStop.is_type(event.type):
            self.sat.sounds.append(bytes(self.sat.received_audio))
            self.sat.received_audio.clear()
            await self.write_event(Played().event())
        return True

    async def _stream(self) -> None:
        if self.sat.wake_word is not None:
            from wyoming.wake import Detection

            await self.write_event(Detection(name=self.sat.wake_word).event())
        await self.write_event(RunPipeline(start_stage=PipelineStage(self.sat.start_stage),
                                           end_stage=PipelineStage.TTS,
                                           restart_on_end=self.sat.restart_on_end).event())
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        noise = np.random.default_rng(3).normal(0, 60, CHUNK_SAMPLES * 50).astype("<i2").tobytes()
        position = 0
        while True:  # the script, then a noise bed forever, in real time
            if position < len(self.sat.script):
                piece = self.sat.script[position : position + CHUNK_SAMPLES * 2]
            else:
                offset = (position - len(self.sat.script)) % len(noise)
                piece = (noise[offset:] + noise)[: CHUNK_SAMPLES * 2]
            position += len(piece)
            await self.write_event(AudioChunk(16000, 2, 1, piece).event())
            sent += len(piece) // 2
            delay = start + sent / 16000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    async def disconnect(self) -> None:
        if self.streamer is not None:
            self.streamer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.streamer
