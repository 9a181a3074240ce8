"""The toggle-reason algebra of hermes/hotword/toggleOn|Off (hermes-protocol.md §3.5), per site."""

from __future__ import annotations


class ToggleReasons:
    """Off adds a reason; on removes it (a reasonless on clears all); enabled while no reason is left."""

    def __init__(self) -> None:
        self._reasons: set[str] = set()

    def off(self, reason: str) -> None:
        self._reasons.add(reason)

    def on(self, reason: str) -> None:
        if reason == "":
            self._reasons.clear()
        else:
            self._reasons.discard(reason)

    @property
    def enabled(self) -> bool:
        return not self._reasons

    @property
    def reasons(self) -> frozenset[str]:
        return frozenset(self._reasons)
