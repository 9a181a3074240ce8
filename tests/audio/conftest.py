"""A private PulseAudio daemon with virtual devices, started by the test suite itself.

Devices (16 kHz mono null sinks):
  * sink ``spk`` is the default output; what services play there is recorded from ``spk.monitor``;
  * source ``micfeed.monitor`` is the default input ("microphone"); tests speak into it by playing to ``micfeed``.
sounddevice then sees PulseAudio through the ALSA ``pulse`` plugin (devices ``pulse`` and ``default``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pulse import PulseAudio, SpeakerRecorder, virtual_sound_card  # noqa: F401 - SpeakerRecorder re-exported


@pytest.fixture(scope="session")
def pulseaudio() -> Iterator[PulseAudio]:
    """The virtual sound card for the whole session; sounddevice in this process sees it."""
    with virtual_sound_card("hermesh-pulse-") as pulse:
        yield pulse
