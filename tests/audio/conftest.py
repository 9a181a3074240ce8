"""A private PulseAudio daemon with virtual devices, started by the test suite itself.

Devices (16 kHz mono null sinks):
  * sink ``spk`` is the default output; what services play there is recorded from ``spk.monitor``;
  * source ``micfeed.monitor`` is the default input ("microphone"); tests speak into it by playing to ``micfeed``.
sounddevice then sees PulseAudio through the ALSA ``pulse`` plugin (devices ``pulse`` and ``default``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.audio.devices import refresh_devices
from tests.pulse import PulseAudio, SpeakerRecorder  # noqa: F401 - re-exported for the audio tests


@pytest.fixture(scope="session")
def pulseaudio() -> Iterator[PulseAudio]:
    """The virtual sound card for the whole session; sounddevice in this process sees it."""
    for tool in ("pulseaudio", "pactl", "pacat", "parec"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
    base = Path(tempfile.mkdtemp(prefix="hermesh-pulse-"))
    pulse = PulseAudio(base)
    pulse.start()
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = pulse.server
    refresh_devices()  # PortAudio lists devices only when it starts
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
