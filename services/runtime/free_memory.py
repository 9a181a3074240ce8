"""Keep a service's RSS close to what it really uses: glibc settings for engines that allocate in C.

- A freed pocketsphinx decoder (~7 MB in thousands of small blocks) goes back to glibc's heap, not to the OS,
  and later allocations of other sizes do not always reuse it: a service that builds and frees decoders for
  many short-lived sites then grows its RSS although nothing leaks. ``malloc_trim(0)`` returns the free pages;
  the runtime calls it now and then (a few ms on a heap of a few hundred MB).
- glibc gives each thread that allocates its own heap ("arena", up to 8 per core), and trimming does little for
  them: the ASR, decoding in worker threads, grew from 200 to 550 MB over a few thousand sessions of
  bench/memory_soak.py with Python's own memory flat (tracemalloc), and stayed flat with one arena. Our threads
  are few (a handful of engine workers per process) and mostly compute, so sharing one arena trades a little
  lock contention for a heap that does not grow.

Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


M_ARENA_MAX = -8  # glibc's mallopt parameter number


def use_one_malloc_arena() -> bool:
    """All threads allocate from the main heap (call before starting threads); False where impossible."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_ARENA_MAX, 1))


def release_free_memory() -> bool:
    """Return free heap pages to the OS; False where the C library cannot."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
