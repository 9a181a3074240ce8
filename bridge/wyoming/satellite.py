"""Wyoming satellites as sites of the mesh: the mesh dials each one, as Home Assistant would.

Per satellite: connect (with backoff), describe, run-satellite, then both directions at once:
* satellite -> mesh: its audio becomes the site's audioFrames; run-pipeline{wake} lets the mesh's wake
  service listen, run-pipeline{asr} (after the satellite's own detection) starts a dialogue session at once
  (hotword/<id>/detected, or dialogueManager/startSession); audio-stop ends the listening; played
  becomes playFinished.
* mesh -> satellite: playBytes for the site become audio events (then playFinished once ``played`` comes,
  or after the sound's length if it never does), a playBytesStreaming sound one audio group sent on chunk
  by chunk (then streamFinished); wake, ASR, TTS and errors of the site become detection,
  transcribe, transcript, synthesize and error events (for the satellite's LEDs and sounds); timers on
  ``hermesh/timer/<site>/<started|updated|cancelled|finished>`` become timer events; audioServer toggles
  become pause-satellite / run-satellite.
Pings go out every ``satellite_ping_interval``; a satellite silent for ``satellite_ping_timeout`` is dropped
and dialled again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
from typing import Any
from urllib.parse import urlparse

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.snd import Played
from wyoming.timer import TimerCancelled, TimerFinished, TimerStarted, TimerUpdated
from wyoming.tts import Synthesize
from wyoming.wake import Detection

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import (
    AudioFrame,
    AudioPlayBytes,
    AudioPlayBytesStreaming,
    AudioPlayFinished,
    AudioStreamFinished,
    AudioToggleOff,
    AudioToggleOn,
)
from hermes.base import HermesMessage, HermesProtocolError
from hermes.common import HermesErrorMessage
from hermes.dialogue import DialogueAction, DialogueSessionEnded, DialogueSessionStarted, DialogueStartSession
from hermes.errors import (
    AsrError,
    AudioPlayError,
    AudioRecordError,
    DialogueError,
    HandleError,
    HotwordError,
    NluError,
    TrainError,
    TtsError,
)
from hermes.hotword import HotwordDetected
from hermes.site_ids import SITE_ID_MAX_CHARS
from hermes.timer import TimerChange, TimerEvent
from hermes.tts import TtsSay

from ..mesh_client import Watch
from .audio import AudioFormatError, InputStream, PcmFormat, chunk_events, wav_pcm, wav_seconds, wav_to_events
from .context import WyomingContext
from .settings import SatelliteConfig

LOG = logging.getLogger("hermesh.bridge.wyoming.satellite")
# What of the site's traffic a satellite shows or plays (every error on hermes/error/...: its LEDs show them).
SITE_TRAFFIC: tuple[type[HermesMessage], ...] = (
    AudioPlayBytes, AudioPlayBytesStreaming, AudioToggleOn, AudioToggleOff, AsrStartListening, AsrTextCaptured, HotwordDetected, TtsSay,
    DialogueSessionStarted, DialogueSessionEnded,
    AsrError, NluError, HotwordError, TtsError, DialogueError, AudioPlayError, AudioRecordError, HandleError,
    TrainError,
)
TIMER_EVENTS = {TimerChange.STARTED: TimerStarted, TimerChange.UPDATED: TimerUpdated,
                TimerChange.CANCELLED: TimerCancelled, TimerChange.FINISHED: TimerFinished}
PLAYED_MARGIN = 2.0  # seconds beyond the sound's length to wait for ``played``
STREAM_CHUNK_TIMEOUT = 30.0  # a streamed sound whose next chunk does not come within this ends there
Sound = AudioPlayBytes | AudioPlayBytesStreaming
HOLD_MAX_FRAMES = 240  # ~15 s of 64 ms frames held back while a session waits to start listening


class SatelliteGone(Exception):
    pass


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` s. Unlike 3.11's wait_for, never swallows a cancellation."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done)


def site_from_name(name: str) -> str:
    """A site id from a satellite's self-chosen name (or address): it must obey the site id rule however
    long or odd the name is (what a satellite says about itself is input like any other)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:SITE_ID_MAX_CHARS].strip("_") or "satellite"


class SatelliteClient:
    def __init__(self, context: WyomingContext, config: SatelliteConfig) -> None:
        self.context = context
        self.service = context.service
        self.settings = context.settings
        self.config = config
        parsed = urlparse(config.uri)
        self.host, self.port = parsed.hostname or "127.0.0.1", int(parsed.port or 10700)
        self.site_id: str = config.site_id or site_from_name(f"{self.host}-{self.port}")
        self._named = config.site_id is not None
        self.language = config.language or context.catalog.language
        self.connected = asyncio.Event()
        self.connections = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: AsyncTcpClient | None = None
        self._write_lock = asyncio.Lock()
        self._reset_state()

    def _reset_state(self) -> None:
        self.pipeline: RunPipeline | None = None
        self.streaming = False
        self.wake_name: str | None = None
        self.session_id: str | None = None
        self.audio = InputStream()
        self.last_event = time.monotonic()
        self._played: asyncio.Event = asyncio.Event()
        self._playback: asyncio.Queue[Sound] = asyncio.Queue()
        self._deferred: collections.deque[Sound] = collections.deque()  # sounds that came during a stream
        # Frames between a wake word and the ASR's startListening (the dialogue manager may play a beep
        # first) are held back and published once the ASR listens, so the start of a command is not lost.
        self.hold: list[bytes] | None = None
        self._frame_lock = asyncio.Lock()

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                await self._session()
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, SatelliteGone, ConnectionError) as err:
                LOG.warning("satellite %s (%s): %s; reconnecting in %.1f s", self.site_id, self.config.uri,
                            err or type(err).__name__, delay)
            except Exception:  # noqa: BLE001 - a satellite must never take the bridge down
                LOG.exception("satellite %s failed; reconnecting in %.1f s", self.site_id, delay)
            self.connected.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.settings.satellite_reconnect_max)

    async def _session(self) -> None:
        client = AsyncTcpClient(self.host, self.port, connect_timeout=5.0)
        await client.connect()
        self._client = client
        traffic: Watch | None = None
        remove_timer = None
        tasks: list[asyncio.Task[Any]] = []
        try:
            info = await self._describe(client)
            if not self._named and info.satellite is not None and info.satellite.name:
                self.site_id = site_from_name(info.satellite.name)
                self._named = True
            self._reset_state()
            site = self.site_id
            traffic = await self.context.mesh.watch(SITE_TRAFFIC, lambda m: m.get_site_id() == site)
            remove_timer = await self.service.add_raw_listener(TimerEvent.subscribe_filter(site_id=self.site_id),
                                                               self._on_timer)
            await self.write(RunSatellite().event())
            self.connections += 1
            self.connected.set()
            LOG.info("satellite %s connected (%s)", self.site_id, self.config.uri)
            self._playback = asyncio.Queue()
            tasks = [asyncio.create_task(self._read_loop(client)), asyncio.create_task(self._ping_loop()),
                     asyncio.create_task(self._mesh_loop(traffic)), asyncio.create_task(self._playback_loop())]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=5.0)
            if traffic is not None:
                traffic.close()
            if remove_timer is not None:
                remove_timer()
            self._client = None
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def _describe(self, client: AsyncTcpClient) -> Info:
        await client.write_event(Describe().event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.satellite_describe_timeout
        while True:
            event = await asyncio.wait_for(client.read_event(), max(0.01, deadline - loop.time()))
            if event is None:
                raise SatelliteGone("closed the connection before answering describe")
            if Info.is_type(event.type):
                return Info.from_event(event)

    async def write(self, event: Event) -> None:
        client = self._client
        if client is None:
            raise SatelliteGone("not connected")
        async with self._write_lock:
            await client.write_event(event)

    async def publish(self, message: HermesMessage) -> None:
        await self.service.publish(message)

    # ---- satellite -> mesh -------------------------------------------------------------------------------
    async def _read_loop(self, client: AsyncTcpClient) -> None:
        while True:
            event = await client.read_event()
            if event is None:
                raise SatelliteGone("the satellite closed the connection")
            self.last_event = time.monotonic()
            try:
                await self._on_satellite_event(event)
            except (KeyError, TypeError, ValueError, AudioFormatError) as err:
                LOG.warning("satellite %s sent a bad %s event: %s", self.site_id, event.type, err)

    async def _on_satellite_event(self, event: Event) -> None:
        kind = event.type
        if AudioChunk.is_type(kind):
            if self.streaming:
                await self._frames(self.audio.chunk(AudioChunk.from_event(event)))
        elif AudioStart.is_type(kind):
            self.audio.start(AudioStart.from_event(event))
        elif AudioStop.is_type(kind):
            await self._on_audio_stop()
        elif RunPipeline.is_type(kind):
            await self._on_run_pipeline(RunPipeline.from_event(event))
        elif Detection.is_type(kind):
            self.wake_name = Detection.from_event(event).name
        elif Played.is_type(kind):
            self._played.set()
        elif Ping.is_type(kind):
            await self.write(Pong(text=(event.data or {}).get("text")).event())
        else:
            LOG.debug("satellite %s: %s", self.site_id, kind)

    async def _frames(self, wavs: list[bytes]) -> None:
        async with self._frame_lock:
            if self.hold is not None:
                self.hold.extend(wavs)
                if len(self.hold) > HOLD_MAX_FRAMES:  # nobody started listening: back to live audio
                    LOG.warning("satellite %s: no ASR session started; dropping held audio", self.site_id)
                    self.hold = None
                return
            for wav in wavs:
                await self.publish(AudioFrame(site_id=self.site_id, wav_bytes=wav))

    async def _release_hold(self, publish: bool) -> None:
        async with self._frame_lock:
            held, self.hold = self.hold, None
            for wav in (held or []) if publish else []:
                await self.publish(AudioFrame(site_id=self.site_id, wav_bytes=wav))

    async def _on_run_pipeline(self, pipeline: RunPipeline) -> None:
        self.pipeline = pipeline
        self.streaming = True
        self.audio = InputStream()
        start = PipelineStage(pipeline.start_stage)
        if start == PipelineStage.WAKE:
            return  # the mesh's wake service listens to the audio frames
        if start == PipelineStage.ASR:
            self.hold = []
            name = pipeline.wake_word_name or self.wake_name
            if name:
                await self.publish(HotwordDetected(model_id=name, wakeword_id=site_from_name(name),
                                                   site_id=self.site_id))
            else:
                await self.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True),
                                                        site_id=self.site_id))
        elif start == PipelineStage.TTS and pipeline.announce_text:
            self.streaming = False
            await self.publish(TtsSay(text=pipeline.announce_text, site_id=self.site_id))
        else:
            self.streaming = False
            await self.write(Error(text=f"pipelines starting at {start.value} are not supported by Hermesh",
                                   code="unsupported-pipeline").event())
        self.wake_name = None

    async def _on_audio_stop(self) -> None:
        await self._frames(self.audio.finish())
        self.audio = InputStream()
        self.streaming = False
        if self.session_id is not None:
            await self.publish(AsrStopListening(site_id=self.site_id, session_id=self.session_id))

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.satellite_ping_interval)
            if time.monotonic() - self.last_event > self.settings.satellite_ping_timeout:
                raise SatelliteGone(f"no event for {self.settings.satellite_ping_timeout:g} s")
            await self.write(Ping().event())

    # ---- mesh -> satellite -------------------------------------------------------------------------------
    async def _mesh_loop(self, traffic: Watch) -> None:
        while True:
            await self._on_mesh_message(await traffic.next())

    async def _on_mesh_message(self, message: HermesMessage) -> None:
        if isinstance(message, AudioPlayBytes | AudioPlayBytesStreaming):
            self._playback.put_nowait(message)
        elif isinstance(message, HotwordDetected):
            if self.hold is None:
                self.hold = []
            await self.write(Detection(name=message.model_id or message.wakeword_id,
                                       timestamp=self.audio.milliseconds).event())
        elif isinstance(message, AsrStartListening):
            await self._release_hold(publish=True)
            await self.write(Transcribe(language=message.lang or self.language).event())
        elif isinstance(message, AsrTextCaptured):
            await self.write(Transcript(text=message.text, language=message.lang or self.language).event())
        elif isinstance(message, TtsSay):
            await self.write(Synthesize(text=message.text).event())
        elif isinstance(message, HermesErrorMessage):
            await self.write(Error(text=message.error, code=type(message).COMPONENT).event())
        elif isinstance(message, DialogueSessionStarted):
            self.session_id = message.session_id
        elif isinstance(message, DialogueSessionEnded):
            self.session_id = None
            await self._release_hold(publish=False)
            if self.pipeline is not None and not self.pipeline.restart_on_end:
                self.streaming = False  # the satellite starts the next pipeline itself
        elif isinstance(message, AudioToggleOff):
            await self.write(PauseSatellite().event())
        elif isinstance(message, AudioToggleOn):
            await self.write(RunSatellite().event())

    async def _playback_loop(self) -> None:
        while True:
            sound = self._deferred.popleft() if self._deferred else await self._playback.get()
            if isinstance(sound, AudioPlayBytesStreaming):
                await self._play_stream(sound)
            else:
                await self._play(sound)

    async def _play_stream(self, first: AudioPlayBytesStreaming) -> None:
        """A streamed sound (the TTS's sentences) as one audio group, each chunk sent on as it arrives, then
        ``played`` (bounded) and streamFinished. Other sounds that come meanwhile play after it."""
        fmt: PcmFormat | None = None
        timestamp, seconds, started = 0, 0.0, False
        chunk: Sound = first
        self._played.clear()
        try:
            while True:
                if isinstance(chunk, AudioPlayBytesStreaming) and chunk.request_id == first.request_id:
                    fmt, frames = wav_pcm(chunk.wav_bytes, fmt)
                    if frames and not started:
                        await self.write(AudioStart(fmt.rate, fmt.width, fmt.channels, timestamp=0).event())
                        started = True
                    events, timestamp = chunk_events(fmt, frames, timestamp)
                    for event in events:
                        await self.write(event.event())
                    seconds += len(frames) / (fmt.frame_bytes * fmt.rate)
                    if chunk.is_last_chunk:
                        break
                else:
                    self._deferred.append(chunk)
                chunk = await asyncio.wait_for(self._playback.get(), STREAM_CHUNK_TIMEOUT)
        except (AudioFormatError, ValueError) as err:
            LOG.warning("satellite %s: cannot play the stream %s: %s", self.site_id, first.request_id, err)
        except TimeoutError:
            LOG.warning("satellite %s: stream %s stopped without its last chunk", self.site_id, first.request_id)
        finally:
            try:
                if started:
                    await self.write(AudioStop(timestamp=timestamp).event())
                    await wait_event(self._played, seconds + PLAYED_MARGIN)
            finally:
                await self.publish(AudioStreamFinished(id=first.request_id, site_id=self.site_id))

    async def _play(self, message: AudioPlayBytes) -> None:
        """Send the WAV as audio events, wait for ``played`` (bounded), then tell the mesh it has played."""
        try:
            _, events = wav_to_events(message.wav_bytes)
            self._played.clear()
            for event in events:
                await self.write(event.event())
            await wait_event(self._played, wav_seconds(message.wav_bytes) + PLAYED_MARGIN)
        except (AudioFormatError, ValueError) as err:
            LOG.warning("satellite %s: cannot play the sound for %s: %s", self.site_id, message.request_id, err)
        finally:
            await self.publish(AudioPlayFinished(id=message.request_id, site_id=self.site_id))

    def _on_timer(self, topic: str, payload: bytes) -> None:
        try:
            timer = TimerEvent.from_mqtt(topic, payload)
            cls: Any = TIMER_EVENTS[timer.change]
            fields = timer.model_dump(exclude_none=True, include=set(cls.__dataclass_fields__))
            event = cls(**fields).event()
        except (HermesProtocolError, ValueError, TypeError) as err:
            LOG.warning("timer message on %s is not usable: %s", topic, err)
            return
        self.service.spawn(self._forward(event))

    async def _forward(self, event: Event) -> None:
        with contextlib.suppress(SatelliteGone, ConnectionError):
            await self.write(event)


class SatelliteManager:
    def __init__(self, context: WyomingContext) -> None:
        self.context = context
        self.clients: list[SatelliteClient] = []

    async def start(self) -> None:
        for config in self.context.settings.satellites:
            client = SatelliteClient(self.context, config)
            self.clients.append(client)
            client.start()

    async def stop(self) -> None:
        await asyncio.gather(*(client.stop() for client in self.clients), return_exceptions=True)
        self.clients.clear()
