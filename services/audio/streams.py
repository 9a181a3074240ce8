"""A playBytesStreaming sound being received: its chunks in order, handed to the player thread as they come.

The player pulls parts from ``parts()`` in a worker thread while the event loop adds chunks; a TTS that stops
sending (crashed mid-sentence) ends the sound after ``chunk_timeout`` instead of holding the speaker for ever.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

import numpy as np

from hermes.wav import WavFormatError, read_samples

MAX_PENDING_CHUNKS = 256  # a sentence a chunk: far more than any say; past it the sender is not a TTS


class StreamError(Exception):
    pass


class IncomingStream:
    def __init__(self, site_id: str, request_id: str, chunk_timeout: float) -> None:
        self.site_id = site_id
        self.request_id = request_id
        self.chunk_timeout = chunk_timeout
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(MAX_PENDING_CHUNKS)
        self._next_number = 0
        self.ended = False  # the last chunk came (or the stream was given up)
        self.problem: str | None = None  # why chunks were dropped, for the error report

    def add(self, chunk_number: int, is_last: bool, wav: bytes) -> None:
        """A chunk as it arrived; one out of order or unreadable is dropped and named in ``problem``.
        The broker keeps one publisher's order, so a gap means a lost or foreign chunk, not a late one."""
        if self.ended:
            return
        if chunk_number != self._next_number:
            self.problem = f"chunk {chunk_number} came where chunk {self._next_number} was expected"
        self._next_number = chunk_number + 1
        try:
            samples, rate = read_samples(wav)
        except WavFormatError as err:
            self.problem = f"chunk {chunk_number} is not a WAV: {err}"
        else:
            if len(samples):
                self._put((samples, rate))
        if is_last:
            self.end()

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._put(None)

    def _put(self, item: tuple[np.ndarray, int] | None) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.problem = f"more than {MAX_PENDING_CHUNKS} chunks waiting to be played"
            self.ended = True
            with self._queue.mutex:  # make room for the end mark: the player stops at once
                self._queue.queue.clear()
            self._queue.put_nowait(None)

    def close(self) -> None:
        """No more playing: drop what waits, and every chunk still to come."""
        self.ended = True
        with self._queue.mutex:
            self._queue.queue.clear()

    def parts(self) -> Iterator[tuple[np.ndarray, int]]:
        """(samples, rate) per chunk until the last one; blocking, for the player thread."""
        while True:
            try:
                item = self._queue.get(timeout=self.chunk_timeout)
            except queue.Empty:
                self.problem = f"no chunk for {self.chunk_timeout:g} s and no last chunk"
                self.ended = True
                return
            if item is None:
                return
            yield item
