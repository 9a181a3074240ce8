"""Per-site state that exists while a site is in use: created on first use, freed when the site goes away.

Site ids are not a fixed set: every Wyoming connection mints one, and any MQTT client may name any site. So
what a service keeps per site (a wake detector of ~7 MB, a dialogue queue, a status line) must not live for
ever. A ``SiteRegistry`` frees an entry when

- the site is released (``release``: the bridge's ``hermesh/site/released`` for a closed Wyoming
  connection, or a service whose state for the site is back to its defaults),
- it has not been used for ``idle_seconds`` (None: never by age), or
- more than ``max_sites`` sites are tracked: the least recently used goes (the backstop against a flood).

Entries that ``busy`` says are in use (a session in progress, a detector working in a thread) are never
freed by age or by the cap, only by ``release``; when every entry is busy the cap is exceeded until they
are not. ``close`` is called for every entry freed, so an engine can give back what it holds.

Pure: no asyncio, no broker; the time comes from ``clock``. Its limits are ``CommonSettings.site_state``. Not thread-safe: one event loop uses it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    value: T
    used_at: float


class SiteRegistry(Generic[T]):
    """A bounded map site id -> state, ordered by last use (see the module docstring)."""

    def __init__(
        self,
        create: Callable[[], T],
        *,
        idle_seconds: float | None,
        max_sites: int,
        close: Callable[[str, T], None] | None = None,
        busy: Callable[[str, T], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._create = create
        self.idle_seconds = idle_seconds
        self.max_sites = max_sites
        self._close = close
        self._busy = busy
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self.freed = 0  # entries freed so far, for logs and tests

    def use(self, site_id: str) -> T:
        """The site's state, created if needed, and marked as used now; frees what has gone stale."""
        now = self._clock()
        entry = self._entries.get(site_id)
        if entry is None:
            entry = self._entries[site_id] = _Entry(self._create(), now)
        else:
            entry.used_at = now
            self._entries.move_to_end(site_id)
        self._prune(now, keep=site_id)
        return entry.value

    def get(self, site_id: str) -> T | None:
        """The site's state if it is tracked, without creating it or counting as a use."""
        entry = self._entries.get(site_id)
        return entry.value if entry is not None else None

    def release(self, site_id: str) -> bool:
        """Free the site's state now (busy or not); False when it was not tracked."""
        entry = self._entries.pop(site_id, None)
        if entry is None:
            return False
        self._free(site_id, entry.value)
        return True

    def expire(self) -> int:
        """Free what is idle or over the cap now (``use`` does this too); returns how many were freed."""
        before = self.freed
        self._prune(self._clock(), keep=None)
        return self.freed - before

    def clear(self) -> None:
        """Free everything (at shutdown)."""
        while self._entries:
            site_id, entry = self._entries.popitem(last=False)
            self._free(site_id, entry.value)

    def __getitem__(self, site_id: str) -> T:
        return self._entries[site_id].value

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, site_id: object) -> bool:
        return site_id in self._entries

    def items(self) -> Iterator[tuple[str, T]]:
        return ((site_id, entry.value) for site_id, entry in list(self._entries.items()))

    def values(self) -> Iterator[T]:
        return (entry.value for entry in list(self._entries.values()))

    def _prune(self, now: float, keep: str | None) -> None:
        # The oldest entry is at the front: look only while it is stale or the cap is exceeded, so a call costs
        # O(1) on average. A busy entry counts as used now and moves to the back.
        for _ in range(len(self._entries)):
            site_id, entry = next(iter(self._entries.items()))
            over_cap = len(self._entries) > self.max_sites
            idle = self.idle_seconds is not None and now - entry.used_at >= self.idle_seconds
            if not over_cap and not idle:
                return
            if site_id == keep or (self._busy is not None and self._busy(site_id, entry.value)):
                entry.used_at = now
                self._entries.move_to_end(site_id)
                continue
            del self._entries[site_id]
            self._free(site_id, entry.value)

    def _free(self, site_id: str, value: T) -> None:
        self.freed += 1
        if self._close is not None:
            self._close(site_id, value)
