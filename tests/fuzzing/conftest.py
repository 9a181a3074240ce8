"""A private virtual sound card for the mesh the OpenAPI fuzzer talks to (playing must work, or every
playing operation is a 502 from an audio output without a device)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pulse import PulseAudio, virtual_sound_card


@pytest.fixture(scope="module")
def sound_card() -> Iterator[PulseAudio]:
    """Module-scoped and restored afterwards, so a session-wide one of tests/audio is seen again after it."""
    with virtual_sound_card("hermesh-fuzz-pulse-") as pulse:
        yield pulse
