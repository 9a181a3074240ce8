"""Raw-socket Wyoming clients that misbehave, for the fuzz test and bench/fuzz.py."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from wyoming.event import Event

from bridge.wyoming.framing import FrameError, read_frame


@dataclass
class Outcome:
    """What the server did with one client's bytes."""

    ending: str
    events: list[Event] = field(default_factory=list)
    closed_by_server: bool = False
    expected_frame_error: str | None = None  # the code read_frame gives the bytes we sent, if any

    @property
    def frame_errors(self) -> list[Event]:
        return [e for e in self.events if e.type == "error" and e.data.get("code") in FRAME_CODES]


FRAME_CODES = {"bad-frame", "frame-too-large", "incomplete-frame"}


async def first_frame_error(data: bytes) -> str | None:
    """The FrameError code read_frame gives this byte stream followed by an end of stream, if any."""
    reader = asyncio.StreamReader(limit=1 << 16)
    reader.feed_data(data)
    reader.feed_eof()
    try:
        while await read_frame(reader) is not None:
            pass
    except FrameError as err:
        return err.code
    return None


async def play(port: int, frames: list[bytes], ending: str, lingering: list[asyncio.StreamWriter],
               read_timeout: float = 20.0) -> Outcome:
    """Send ``frames`` and leave as ``ending`` says: close, abort (RST), half-close (then read every answer
    until the server closes), or linger (left open until the caller closes it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    outcome = Outcome(ending)
    data = b"".join(frames)
    try:
        writer.write(data)
        await writer.drain()
    except ConnectionError:
        outcome.closed_by_server = True
    if ending == "close":
        writer.close()
    elif ending == "abort":
        writer.transport.abort()
    elif ending == "linger":
        lingering.append(writer)
    elif ending == "half-close":
        outcome.expected_frame_error = await first_frame_error(data)
        with contextlib.suppress(OSError):
            writer.write_eof()
        try:
            async with asyncio.timeout(read_timeout):
                while (event := await read_frame(reader)) is not None:
                    outcome.events.append(event)
            outcome.closed_by_server = True
        except (ConnectionError, FrameError):
            outcome.closed_by_server = True
        writer.close()
    return outcome
