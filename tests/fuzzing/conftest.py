"""A private virtual sound card for the mesh the OpenAPI fuzzer talks to (playing must work, or every
playing operation is a 502 from an audio output without a device)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.audio.devices import refresh_devices
from tests.pulse import PulseAudio


@pytest.fixture(scope="module")
def sound_card() -> Iterator[PulseAudio]:
    """Module-scoped and restored afterwards, so a session-wide one of tests/audio is seen again after it."""
    for tool in ("pulseaudio", "pactl", "pacat", "parec"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
    base = Path(tempfile.mkdtemp(prefix="hermesh-fuzz-pulse-"))
    pulse = PulseAudio(base)
    pulse.start()
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = pulse.server
    refresh_devices()
    try:
        yield pulse
    finally:
        pulse.stop()
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        refresh_devices()
        shutil.rmtree(base, ignore_errors=True)
