"""A resampler whose output does not depend on how the input is cut: the same samples whole or in any chunks.

The ASR hears a recording three ways: a posted WAV file converted whole, real-time audioFrames converted one by
one as they arrive, Wyoming chunks. soxr's stream gives slightly different samples (±2 LSB) for different chunk
sizes, and on borderline words pocketsphinx's answer flips on that: on 60 real 8 kHz spoken digits, per-frame
soxr audio decoded differently from the whole-file soxr audio on 3 files. Here every output sample is computed
from the same input samples with the same arithmetic wherever the chunk borders fall, so the three entries give
the decoder exactly the same audio.

Kaiser-windowed sinc, polyphase: output ``n`` sits at input time ``t = n * from / to``; it is the dot product of
the ``2 * HALF`` input samples around ``t`` with the filter taps for the fraction of ``t``. The cutoff is 95 % of
the lower Nyquist frequency; 16 zero crossings per side and beta 8 give about 80 dB of stopband, more than the
16-bit input has. Output sample 0 is aligned with input sample 0 (no delay); the input is taken as zero before
its start and, when the stream is flushed (``last=True``), after its end, so a whole file gives
``ceil(len * to / from)`` samples, as soxr does.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ZERO_CROSSINGS = 16
KAISER_BETA = 8.0
ROLLOFF = 0.95
MAX_TABLE_PHASES = 4096  # rate pairs with more phases (odd rates) compute their taps per output instead
BLOCK = 1024  # outputs computed together
MIN_TILE_PHASES = 16  # rate pairs with fewer phases (24, 48, 8 kHz) gather their taps per block


class Resampler:
    """One stream of 16-bit mono samples from ``from_rate`` to ``to_rate``; keeps what the next outputs need."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"sample rates must be positive (got {from_rate} -> {to_rate})")
        self.from_rate, self.to_rate = from_rate, to_rate
        g = math.gcd(from_rate, to_rate)
        self._up, self._down = to_rate // g, from_rate // g  # output n sits at input n * down / up
        self._filter = _filter(self._up, self._down)
        self._half = self._filter.half
        self._offsets = self._filter.offsets
        # Every phase's taps, made once per rate pair: computing them (np.i0 on up x 2*HALF points) cost 2.8 ms
        # for 22,050 Hz and 6.5 ms for 16 -> 22.05 kHz, on every request and session, more than resampling a
        # 2.5 s command (about 1.3 ms).
        self._table = _phase_table(self._up, self._down) if self._up <= MAX_TABLE_PHASES else None
        # the input still needed, as float32, and the absolute index of its first sample (zeros before 0)
        self._buffer = np.zeros(self._half - 1, dtype=np.float32)
        self._start = -(self._half - 1)
        self._seen = 0
        self._next = 0

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next samples; ``last``: the stream ends here, so the remaining outputs are flushed."""
        if self.from_rate == self.to_rate:
            return np.asarray(samples, dtype=np.int16)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float32)])
        self._seen += len(samples)
        end = self._start + len(self._buffer)  # one past the last input sample held
        if last:
            count = -(-self._seen * self._up // self._down)  # ceil: every output within the input
            self._buffer = np.concatenate([self._buffer, np.zeros(self._half, dtype=np.float32)])
        else:
            count = ((end - self._half) * self._up - 1) // self._down + 1  # outputs whose window is all here
        first, stop = self._next, max(count, self._next)
        out = np.empty(stop - first, dtype=np.int16)
        if stop > first:
            # Row i of the view is the window starting at held sample i: gathering rows copies only a block's
            # windows at a time. Blocks keep the temporaries in the cache (whole 1.5 s files: 7.3 -> 3.1 ms at
            # 22.05 kHz, 7.7 -> 2.6 ms at 24 kHz) and change no sample: each row is computed on its own.
            view = sliding_window_view(self._buffer, len(self._offsets))
            # (with a few phases, gathering from the small table is cheaper than streaming a block of taps)
            tile = _period_tile(self._up, self._down) if self._table is not None and self._up >= MIN_TILE_PHASES else None
            n = first
            while n < stop:
                if tile is not None and n % self._up == 0 and stop - n >= len(tile.rows):
                    # whole periods: the rows and taps repeat every `up` outputs, so they are precomputed
                    # (2.3 -> 1.5 ms for a 2.5 s command at 22.05 kHz), the same numbers as below
                    size = len(tile.rows)
                    rows = tile.rows + (n // self._up * self._down - self._start + self._offsets[0])
                    taps = tile.taps
                else:  # up to the next period border, so that the following blocks are whole periods
                    border = (n // self._up + 1) * self._up if tile is not None else n + BLOCK
                    ns = np.arange(n, min(stop, n + BLOCK, border))
                    size = len(ns)
                    rows = ns * self._down // self._up - self._start + self._offsets[0]
                    phases = ns * self._down % self._up
                    taps = self._table[phases] if self._table is not None else self._filter.taps(phases)
                # one row at a time in the same order whatever the chunk: a per-row einsum, not a BLAS product
                # (whose blocking depends on the number of rows). float32: 16-bit samples times taps summing to 1
                # stay within its 24-bit mantissa; half the memory traffic of float64 made it 2-4x faster.
                values = np.einsum("ij,ij->i", view[rows], taps)
                out[n - first : n - first + size] = np.clip(np.round(values), -32768, 32767)
                n += size
            self._next = stop
        keep_from = self._next * self._down // self._up - self._half + 1  # the next output's first input
        if keep_from > self._start:
            self._buffer = self._buffer[keep_from - self._start :]
            self._start = keep_from
        return out


class _Filter:
    """The Kaiser-windowed sinc of one rate pair (``up`` / ``down`` in lowest terms)."""

    def __init__(self, up: int, down: int) -> None:
        self.up = up
        self.cutoff = ROLLOFF * min(1.0, up / down)  # of the input's Nyquist frequency
        self.half = math.ceil(ZERO_CROSSINGS / self.cutoff)
        self.offsets = np.arange(-self.half + 1, self.half + 1)

    def taps(self, phases: np.ndarray) -> np.ndarray:
        """Rows of filter taps for output phases (the fraction of t is phase / up), each summing to 1."""
        tau = phases[:, None] / self.up - self.offsets[None, :]  # distance from t to each input sample
        window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (tau / self.half) ** 2, 0.0, 1.0))) / np.i0(KAISER_BETA)
        taps = self.cutoff * np.sinc(self.cutoff * tau) * window
        return np.asarray(taps / taps.sum(axis=1, keepdims=True), dtype=np.float32)


@functools.lru_cache(maxsize=32)
def _filter(up: int, down: int) -> _Filter:
    return _Filter(up, down)


@functools.lru_cache(maxsize=16)  # at most 4096 x 2 * HALF float32 each (~1 MB for 44.1 kHz)
def _phase_table(up: int, down: int) -> np.ndarray:
    table = _filter(up, down).taps(np.arange(up))
    table.flags.writeable = False  # shared by every stream of this rate pair
    return table


class _Tile:
    """Whole periods of outputs (``up`` each): their windows' first rows relative to the period's, and taps."""

    def __init__(self, up: int, down: int) -> None:
        periods = max(1, BLOCK // up)
        n = np.arange(periods * up)
        self.rows = n * down // up
        self.taps = _phase_table(up, down)[n * down % up]
        self.taps.flags.writeable = False


@functools.lru_cache(maxsize=16)
def _period_tile(up: int, down: int) -> _Tile:
    return _Tile(up, down)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """A whole recording of 16-bit mono samples at another rate (exactly what any chunked stream gives)."""
    return Resampler(from_rate, to_rate).process(samples, last=True)
