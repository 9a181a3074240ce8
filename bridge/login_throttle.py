"""Refuse an address for a while after repeated bad tokens (as Home Assistant's ``login_attempts_threshold``).

Pure bookkeeping with the clock passed in. The table is bounded: when it is full the address seen least
recently is forgotten, so a flood of fresh addresses costs a fixed amount of memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

MAX_TRACKED_ADDRESSES = 4096


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)  # times of recent failures, oldest first
    banned_until: float = 0.0


class LoginThrottle:
    """``threshold`` failures within ``window`` seconds ban the address for ``window`` seconds (0: never)."""

    def __init__(self, threshold: int, window: float, max_addresses: int = MAX_TRACKED_ADDRESSES) -> None:
        self.threshold = threshold
        self.window = window
        self.max_addresses = max_addresses
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def retry_after(self, address: str, now: float) -> float:
        """Seconds the address must still wait; 0 when it may try."""
        record = self._records.get(address)
        if record is None or record.banned_until <= now:
            return 0.0
        return record.banned_until - now

    def failed(self, address: str, now: float) -> None:
        if self.threshold <= 0:
            return
        record = self._records.pop(address, None) or _Record()
        self._records[address] = record  # most recently seen last
        recent = [t for t in record.failures if now - t < self.window]
        recent.append(now)
        record.failures = recent[-self.threshold:]
        if len(record.failures) >= self.threshold:
            record.banned_until = now + self.window
            record.failures.clear()
        while len(self._records) > self.max_addresses:
            self._records.popitem(last=False)
