"""Reading Wyoming frames from a client that may send anything: every way a frame can be broken is a
``FrameError`` with a code and a message (sent back as one ``error`` event before the connection closes).

The wyoming library's ``async_read_event`` lets several of them escape as exceptions out of the connection
task (a JSON line that is not an object, a string data_length, deep nesting, a reset mid-frame), which asyncio
then logs as "Task exception was never retrieved"; others (a line over the limit, bad JSON) end the
connection without a word; and a declared payload_length of 2**40 makes it buffer until memory runs out.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

MAX_DATA_BYTES = 1 << 20  # an event's JSON data (Info, intents) is a few kB
MAX_PAYLOAD_BYTES = 4 << 20  # an audio chunk is a few kB; 4 MiB is over a minute of 16 kHz audio in one chunk


class FrameError(Exception):
    """A frame that cannot be read; after it the byte stream cannot be trusted, so the connection ends."""

    def __init__(self, message: str, code: str = "bad-frame") -> None:
        super().__init__(message)
        self.code = code


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError(f"{key} must be a non-negative integer, not {value!r}")
    if value > limit:
        raise FrameError(f"{key} {value} is over the limit of {limit} bytes", "frame-too-large")
    return value


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as err:
        raise FrameError(f"{what} is not JSON: {err}") from err
    except RecursionError as err:
        raise FrameError(f"{what} nests too deeply") from err


async def read_frame(reader: asyncio.StreamReader) -> Event | None:
    """The next event, None at a clean end of stream (EOF between frames); FrameError for anything broken.

    A connection reset or an end of stream in the middle of a frame is a FrameError too (code
    ``incomplete-frame``): a half-closed client can still read the error event."""
    try:
        line = await reader.readline()
    except ValueError as err:  # asyncio: the line is longer than the reader's limit (64 KiB)
        limit = getattr(reader, "_limit", 1 << 16)
        raise FrameError(f"the header line is longer than the limit of {limit} bytes", "frame-too-large") from err
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise FrameError("the connection ended in the middle of a header line", "incomplete-frame")
    header = _json(line, "the header line")
    if not isinstance(header, dict):
        raise FrameError(f"the header line must be a JSON object, not {type(header).__name__}")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise FrameError("the header has no event type ('type')")
    data = header.get("data") if header.get("data") is not None else {}
    if not isinstance(data, dict):
        raise FrameError(f"the event's data must be a JSON object, not {type(data).__name__}")
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    try:
        if data_length:
            more = _json(await reader.readexactly(data_length), "the event's data")
            if not isinstance(more, dict):
                raise FrameError(f"the event's data must be a JSON object, not {type(more).__name__}")
            data = {**data, **more}
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError as err:
        raise FrameError(f"the connection ended {len(err.partial)} bytes into a block of {err.expected} bytes "
                         f"announced by the {kind} header", "incomplete-frame") from err
    return Event(type=kind, data=data, payload=payload)
