"""A blocking Wyoming client: what the ``wyoming`` engines of asr, tts and wake speak to an external server.

The services call engines from worker threads, so these are blocking clients: one TCP connection per
ASR utterance, per synthesis and per wake site, framed with the wyoming library's read_event/write_event.
(The bridge's Wyoming *server* is bridge/wyoming/.)
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from wyoming.error import Error
from wyoming.event import Event, read_event, write_event
from wyoming.info import Describe, Info

RATE, WIDTH, CHANNELS = 16000, 2, 1


class WyomingClientError(RuntimeError):
    """The Wyoming server could not be reached or answered with an error; the message names its address."""


def address_of(uri: str) -> tuple[str, int]:
    parsed = urlparse(str(uri or ""))
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        raise ValueError(f"Wyoming engine: 'uri' must look like tcp://127.0.0.1:10300, not {uri!r}")
    return parsed.hostname, parsed.port


def server_uri(options: Mapping[str, Any], section: str, error: Callable[[str], Exception]) -> str:
    """The ``uri`` engine option, checked; ``error`` (the family's config error) names the setting."""
    uri = str(options.get("uri", "") or "")
    try:
        address_of(uri)
    except ValueError as err:
        raise error(f"{section} engine_options: {err}") from err
    return uri


class EventStream:
    """One blocking connection: events are written at once and read by a thread into a queue."""

    def __init__(self, uri: str, connect_timeout: float = 5.0) -> None:
        self.uri = uri
        host, port = address_of(uri)
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as err:
            raise WyomingClientError(f"cannot connect to the Wyoming server at {uri}: {err}") from err
        self._sock.settimeout(None)
        self._writer = self._sock.makefile("wb")
        self._reader = self._sock.makefile("rb")
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._read, name=f"wyoming-reader {uri}", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                event = read_event(self._reader)
                self._events.put(event)
                if event is None:
                    return
        except (OSError, ValueError):
            self._events.put(None)

    def send(self, event: Event) -> None:
        try:
            with self._lock:
                write_event(event, self._writer)
        except (OSError, ValueError) as err:
            raise WyomingClientError(f"the Wyoming server at {self.uri} went away ({err})") from err

    def receive(self, timeout: float) -> Event:
        try:
            event = self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise WyomingClientError(f"no answer from the Wyoming server at {self.uri} within {timeout:g} s") from None
        if event is None:
            self._events.put(None)  # keep reporting the end
            raise WyomingClientError(f"the Wyoming server at {self.uri} closed the connection")
        if Error.is_type(event.type):
            error = Error.from_event(event)
            raise WyomingClientError(f"the Wyoming server at {self.uri} reported: {error.text} ({error.code})")
        return event

    def pending(self) -> list[Event]:
        """Events that have arrived, without waiting (raises when the connection has ended)."""
        events: list[Event] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return events
            if event is None or Error.is_type(event.type):
                self._events.put(event)
                if events:
                    return events
                self.receive(0)
            else:
                events.append(event)

    def until(self, event_type: str, timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            event = self.receive(deadline - time.monotonic())
            if event.type == event_type:
                return event

    def close(self) -> None:
        self.closed = True
        for closer in (self._writer.close, lambda: self._sock.shutdown(socket.SHUT_RDWR), self._sock.close):
            with contextlib.suppress(OSError, ValueError):
                closer()


def describe(uri: str, timeout: float = 5.0) -> Info:
    stream = EventStream(uri, timeout)
    try:
        stream.send(Describe().event())
        return Info.from_event(stream.until("info", timeout))
    finally:
        stream.close()
