"""One Wyoming client connection (Home Assistant opens one per request): events in, flows, events out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.intent import Intent, Recognize
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop
from wyoming.wake import Detect

from hermes.base import HermesMessage
from hermes.status import SiteReleased

from ..mesh_error import MeshError
from .audio import AudioFormatError
from .context import WyomingContext
from .errors import FlowError, mesh_error_event
from .framing import FrameError, read_frame
from .settings import CONNECTION_SUFFIX_CHARS
from .speech_flows import DetectFlow, TranscribeFlow
from .text_flows import Speaker, SynthesizeStream, handle_intent, handle_transcript, recognize

LOG = logging.getLogger("hermesh.bridge.wyoming")
IGNORED = {"select-program", "pong", "run-satellite", "pause-satellite", "played"}


class WyomingConnection(AsyncEventHandler):
    def __init__(self, context: WyomingContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_closed: Callable[[WyomingConnection], None] = lambda _: None) -> None:
        super().__init__(reader, writer)
        self.context = context
        self.settings = context.settings
        self._on_closed = on_closed
        self.site_id = f"{self.settings.site_prefix}-{uuid.uuid4().hex[:CONNECTION_SUFFIX_CHARS]}"
        self.mesh = context.mesh  # every request of this connection goes through it
        self.peer = writer.get_extra_info("peername")
        self.audio_flow: TranscribeFlow | DetectFlow | None = None
        self.tts_stream: SynthesizeStream | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._write_lock = asyncio.Lock()
        self.closed = False
        LOG.debug("wyoming connection from %s as site %s", self.peer, self.site_id)

    # ---- helpers used by the flows (context.FlowConnection) ----------------------------------------------
    @property
    def language(self) -> str:
        return self.context.catalog.language

    async def write(self, event: Event) -> None:
        if self.closed:
            return
        async with self._write_lock:
            await self.write_event(event)

    async def publish(self, message: HermesMessage) -> None:
        await self.mesh.publish(message)

    async def send_error(self, text: str, code: str) -> None:
        LOG.warning("wyoming %s (%s): %s", self.peer, code, text)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.write(Error(text=text, code=code).event())

    async def send_mesh_error(self, err: MeshError) -> None:
        event = mesh_error_event(err)
        LOG.warning("wyoming %s (%s): %s", self.peer, event.type, err)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.write(event)

    def run_task(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Work that waits on the mesh, so this connection keeps reading (describe, ping) meanwhile."""

        async def guarded() -> None:
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except FlowError as err:
                await self.send_error(str(err), err.code)
            except MeshError as err:
                await self.send_mesh_error(err)
            except (ConnectionError, RuntimeError) as err:
                LOG.debug("wyoming %s went away: %s", self.peer, err)
            except Exception as err:  # noqa: BLE001 - one error event, never a dead connection
                LOG.exception("wyoming request failed")
                await self.send_error(f"{type(err).__name__}: {err}", "internal-error")

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- events ------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """The library's loop, with frames read by ``read_frame``: a broken frame or a failure inside is one
        error event and the end of the connection, never an exception escaping the connection's task (the
        library's server task is never awaited, so asyncio would log "Task exception was never retrieved")."""
        self._is_running = True
        try:
            while self._is_running:
                try:
                    event = await read_frame(self.reader)
                except FrameError as err:
                    await self.send_error(str(err), err.code)
                    break
                if event is None or not await self.handle_event(event):
                    break
        except ConnectionError as err:  # reset by the peer: nobody left to tell
            LOG.debug("wyoming %s went away: %r", self.peer, err)
        except Exception as err:  # noqa: BLE001 - the last line of defence of one connection
            LOG.exception("wyoming connection from %s failed", self.peer)
            await self.send_error(f"{type(err).__name__}: {err}", "internal-error")
        finally:
            try:
                await self.disconnect()
            except Exception:  # noqa: BLE001
                LOG.exception("wyoming connection from %s: cleaning up failed", self.peer)
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        try:
            await self._dispatch(event)
        except FlowError as err:
            await self.send_error(str(err), err.code)
        except MeshError as err:
            await self.send_mesh_error(err)
        except AudioFormatError as err:
            await self.send_error(str(err), "audio-format")
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            await self.send_error(f"bad {event.type} event: {type(err).__name__} {err}", "bad-event")
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _dispatch(self, event: Event) -> None:
        kind = event.type
        if Describe.is_type(kind):
            await self.write((await self.context.catalog.info()).event())
        elif Ping.is_type(kind):
            await self.write(Pong(text=(event.data or {}).get("text")).event())
        elif AudioChunk.is_type(kind):
            chunk = AudioChunk.from_event(event)
            if self.audio_flow is None or self.audio_flow.finished:
                raise FlowError("audio-chunk without transcribe or detect before it", "no-request")
            await self.audio_flow.on_audio_chunk(chunk)
        elif AudioStart.is_type(kind):
            start = AudioStart.from_event(event)
            if self.audio_flow is None or self.audio_flow.finished:
                raise FlowError("audio-start without transcribe or detect before it", "no-request")
            await self.audio_flow.on_audio_start(start)
        elif AudioStop.is_type(kind):
            if self.audio_flow is not None and not self.audio_flow.finished:
                await self.audio_flow.on_audio_stop()
        elif Transcribe.is_type(kind):
            await self._new_audio_flow(TranscribeFlow(self, Transcribe.from_event(event)))
        elif Detect.is_type(kind):
            await self._new_audio_flow(DetectFlow(self, Detect.from_event(event)))
        elif Synthesize.is_type(kind):
            request = Synthesize.from_event(event)
            if self.tts_stream is None:  # while streaming, this is the compatibility copy: never speak twice
                self.run_task(Speaker(self, request.voice).say(request.text))
        elif SynthesizeStart.is_type(kind):
            start_tts = SynthesizeStart.from_event(event)
            if self.tts_stream is not None:
                self.tts_stream.abort()
            self.tts_stream = SynthesizeStream(self, start_tts.voice)
        elif SynthesizeChunk.is_type(kind):
            text = SynthesizeChunk.from_event(event).text
            if self.tts_stream is None:
                raise FlowError("synthesize-chunk without synthesize-start", "no-request")
            self.tts_stream.add_text(text)
        elif SynthesizeStop.is_type(kind):
            if self.tts_stream is None:
                raise FlowError("synthesize-stop without synthesize-start", "no-request")
            self.tts_stream.stop()
            self.tts_stream = None
        elif Recognize.is_type(kind):
            query = Recognize.from_event(event)
            self.run_task(recognize(self, query.text, query.context))
        elif Transcript.is_type(kind):
            transcript = Transcript.from_event(event)
            self.run_task(handle_transcript(self, transcript.text, transcript.context))
        elif Intent.is_type(kind):
            self.run_task(handle_intent(self, Intent.from_event(event)))
        elif kind in IGNORED:
            pass
        else:
            LOG.debug("wyoming %s: ignored unknown event %r", self.peer, kind)

    async def _new_audio_flow(self, flow: TranscribeFlow | DetectFlow) -> None:
        if self.audio_flow is not None and not self.audio_flow.finished:
            await self.audio_flow.abort()
        self.audio_flow = flow
        await flow.begin()

    async def disconnect(self) -> None:
        """The client went away (possibly mid-stream): end what is open on the broker, drop waiting work."""
        self.closed = True
        if self.tts_stream is not None:
            self.tts_stream.abort()
        if self.audio_flow is not None:
            with contextlib.suppress(Exception):
                await self.audio_flow.abort()
        # A sound being spoken is answered by the cancelled speak itself, a later one by the router.
        for task in list(self._tasks):
            task.cancel()
        # This connection's site id is never used again: every service may free what it keeps for it (a wake
        # detector, a queue, a status line). Sent after the connection's last frames, so it is handled after them;
        # in the background, so a broker being reconnected does not hold the closing connection.
        self.context.service.spawn(self.publish(SiteReleased(site_id=self.site_id, reason="Wyoming connection closed")))
        self._on_closed(self)
